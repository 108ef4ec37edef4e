import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The few HTTP requests the relying party makes to the provider (discovery, JWKS, token,
/// userinfo): one connection each, bounded in time and size, on SwiftNIO like the notifier's
/// AlertPoster, so no URLSession/libcurl. The answer body is kept whole (JWKS, tokens), up to 1 MiB.
enum OIDCHTTP {
    struct Response: Sendable {
        let status: Int
        let body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let maxBody = 1 << 20

    static func get(_ url: String, headers: [(String, String)] = [], timeoutSeconds: Int = 10) async throws -> Response {
        try await send(.GET, url, headers: headers, body: [], timeoutSeconds: timeoutSeconds)
    }

    static func postForm(_ url: String, form: [(String, String)], headers: [(String, String)] = [], timeoutSeconds: Int = 10) async throws -> Response {
        let body = Array(FormEncoding.encode(form).utf8)
        return try await send(.POST, url, headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: body,
                              timeoutSeconds: timeoutSeconds)
    }

    private static func send(_ method: HTTPMethod, _ url: String, headers extra: [(String, String)], body: [UInt8],
                             timeoutSeconds: Int) async throws -> Response {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty else { throw Failure(description: "invalid URL \(url)") }
        let https = scheme == "https"
        let port = u.port ?? (https ? 443 : 80)
        var target = u.path.isEmpty ? "/" : u.path
        if let q = u.query { target += "?" + q }
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let tls = https ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let started = ContinuousClock.now
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(Int64(timeoutSeconds)))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let timer = channel.channel.eventLoop.scheduleTask(in: .seconds(Int64(timeoutSeconds))) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: u.port.map { "\(host):\($0)" } ?? host)
            headers.add(name: "Accept", value: "application/json")
            headers.add(name: "User-Agent", value: "Fleetscope")
            headers.add(name: "Connection", value: "close")
            if method == .POST { headers.add(name: "Content-Length", value: String(body.count)) }
            for (k, v) in extra { headers.add(name: k, value: v) }
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var status: Int?
            var data: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let h): status = Int(h.status.code)
                case .body(let b):
                    data += b.readableBytesView
                    guard data.count <= maxBody else { throw Failure(description: "\(url) answered more than \(maxBody) bytes") }
                case .end:
                    guard let status else { throw Failure(description: "\(url): no response head") }
                    return Response(status: status, body: data)
                }
            }
            throw Failure(description: ContinuousClock.now >= started + .seconds(timeoutSeconds)
                          ? "\(url): no answer within \(timeoutSeconds) s" : "\(url): connection closed early")
        }
    }
}

/// application/x-www-form-urlencoded, for the token request and for query strings we build.
enum FormEncoding {
    /// RFC 3986 unreserved characters stay; everything else is percent-encoded (space too).
    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Pairs of a query string or form body; `+` is a space.
    static func decode(_ s: some StringProtocol) -> [String: String] {
        var out: [String: String] = [:]
        for part in String(s).split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func d(_ x: Substring) -> String { x.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let k = d(kv[0])
            if out[k] == nil { out[k] = kv.count > 1 ? d(kv[1]) : "" }
        }
        return out
    }
}
