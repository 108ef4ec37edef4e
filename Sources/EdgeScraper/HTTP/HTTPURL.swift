/// The parts of an `http://host:port/path?query` URL that a client needs. Written by hand
/// because the edge binary cannot afford Foundation's `URL`.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    /// Without brackets for IPv6 literals (`::1`), as the resolver wants it.
    public var host: String
    public var port: Int
    /// Path plus `?query`, never empty (`/` at least); what goes on the request line.
    public var target: String
    public var user: String?
    public var password: String?

    public init(scheme: String, host: String, port: Int, target: String, user: String? = nil, password: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.user = user
        self.password = password
    }

    public var isIPv6Literal: Bool { host.contains(":") }

    /// The `Host` header: brackets around IPv6 literals, the port only when it is not the default.
    public var hostHeader: String {
        let h = isIPv6Literal ? "[\(host)]" : host
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? h : "\(h):\(port)"
    }

    /// host:port with brackets for IPv6, the key connections are pooled by.
    public var authority: String { "\(isIPv6Literal ? "[\(host)]" : host):\(port)" }

    public var description: String { "\(scheme)://\(authority)\(target)" }

    public init(parsing s: String) throws(HTTPTransportError) {
        let utf8 = Array(s.utf8)
        var sepAt = -1
        if utf8.count >= 3 {
            for i in 0...(utf8.count - 3) where utf8[i] == 0x3A && utf8[i + 1] == 0x2F && utf8[i + 2] == 0x2F {
                sepAt = i
                break
            }
        }
        guard sepAt > 0 else {
            throw .invalidURL(s, "missing scheme; write it as http://host:port/path")
        }
        let schemeEnd = s.utf8.index(s.utf8.startIndex, offsetBy: sepAt)
        let scheme = s[..<schemeEnd].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw .invalidURL(s, "scheme \"\(scheme)\" is not supported; use http or https")
        }
        var rest = s[s.utf8.index(schemeEnd, offsetBy: 3)...]
        // The authority ends at the first '/', '?' or '#'.
        let end = rest.firstIndex { (c: Character) -> Bool in c == "/" || c == "?" || c == "#" } ?? rest.endIndex
        var authority = rest[..<end]
        rest = rest[end...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var target = String(rest)
        if target.isEmpty || target.first == "?" { target = "/" + target }

        var user: String?, password: String?
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = String(info[..<colon])
                password = String(info[info.index(after: colon)...])
            } else {
                user = String(info)
            }
        }

        var host: Substring
        var portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw .invalidURL(s, "IPv6 literal is missing its closing ']'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw .invalidURL(s, "unexpected text after IPv6 literal") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .invalidURL(s, "missing host") }
        var port = scheme == "https" ? 443 : 80
        if let p = portText {
            guard let n = Int(p), n > 0, n < 65536 else {
                throw .invalidURL(s, "port \"\(p)\" is not a number between 1 and 65535")
            }
            port = n
        }
        self.init(scheme: scheme, host: String(host), port: port, target: target, user: user, password: password)
    }
}

public enum HTTPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidURL(String, String)
    case timeout(url: String, milliseconds: Int64)
    case connectionClosed(url: String)
    case connect(url: String, String)
    case io(url: String, String)
    case responseTooLarge(url: String, limit: Int)
    case tls(url: String, String)

    public var description: String {
        switch self {
        case .invalidURL(let u, let why): return "invalid URL \"\(u)\": \(why)"
        case .timeout(let u, let ms): return "\(u): no complete response within \(ms) ms (raise the timeout or check the peer)"
        case .connectionClosed(let u): return "\(u): connection closed before a complete response"
        case .connect(let u, let why): return "\(u): cannot connect: \(why)"
        case .io(let u, let why): return "\(u): \(why)"
        case .responseTooLarge(let u, let limit): return "\(u): response body exceeds \(limit) bytes"
        case .tls(let u, let why): return "\(u): TLS: \(why)"
        }
    }
}
