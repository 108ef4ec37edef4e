import Foundation
import NIOHTTP1

/// The few HTTP requests the relying party makes to the provider (discovery, JWKS, token,
/// userinfo): one connection each, bounded in time and size, on SwiftNIO like the notifier's
/// AlertPoster, so no URLSession/libcurl. The answer body is kept whole (JWKS, tokens), up to 1 MiB.
enum OIDCHTTP {
    typealias Response = OneShotHTTP.Response

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

    /// The provider's answers are small JSON documents; the URL is named in every failure.
    private static func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8],
                             timeoutSeconds: Int) async throws -> Response {
        do {
            return try await OneShotHTTP.request(method, url, headers: [("Accept", "application/json")] + headers, body: body,
                                                 timeout: .seconds(timeoutSeconds), maxBytes: maxBody)
        } catch let f as OneShotHTTP.Failure {
            throw Failure(description: "\(url): \(f)")
        }
    }
}

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
