import Foundation
import YAMLTree

/// `storage.remote`: run on a distributed engine that speaks remote-write 1.0 in and the
/// Prometheus HTTP API out (VictoriaMetrics cluster, Mimir, Thanos, Cortex) instead of the
/// embedded TSDB.
/// ```yaml
/// storage:
///   remote:
///     write_url: http://vminsert:8480/insert/0/prometheus/api/v1/write
///     query_url: http://vmselect:8481/select/0/prometheus
///     headers: { X-Scope-OrgID: fleet }
///     queue: { max_bytes: 2GiB }
/// ```
public struct RemoteStorageOptions: Sendable, Equatable {
    public var writeURL: String
    /// The Prometheus HTTP API base: `<query_url>/api/v1/query` is the instant-query endpoint.
    public var queryURL: String
    /// Sent with every write and query (tenant headers); in file order.
    public var headers: [Header] = []
    /// The local forward queue under the data dir holds at most this much; past it, ingest
    /// answers 429/503 so the edge scrapers keep their own backlog.
    public var queueMaxBytes: Int64 = 2 << 30

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public init(writeURL: String, queryURL: String) {
        self.writeURL = writeURL
        self.queryURL = queryURL
    }

    static let keys: Set<String> = ["write_url", "query_url", "headers", "queue"]

    init(node: YAMLNode, file: String) throws {
        func fail(_ n: YAMLNode, _ why: String) -> OptionsError { OptionsError("\(file):\(n.line): storage.remote\(why)") }
        guard let m = node.mapping else { throw fail(node, " must be a mapping with write_url and query_url") }
        var write: String?, query: String?
        var headers: [Header] = []
        var maxBytes: Int64?
        for pair in m {
            let key = pair.key.scalar ?? ""
            let v = pair.value
            func url() throws -> String {
                guard let s = v.scalar, let u = URL(string: s), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                    throw fail(pair.key, ".\(key): \"\(v.scalar ?? v.kindName)\" is not an http(s) URL")
                }
                return s.hasSuffix("/") ? String(s.dropLast()) : s
            }
            switch key {
            case "write_url": write = try url()
            case "query_url": query = try url()
            case "headers":
                guard let hm = v.mapping else { throw fail(v, ".headers must be a mapping of header names to values") }
                for h in hm {
                    guard let name = h.key.scalar, HTTPToken.isValid(name) else {
                        throw fail(h.key, ".headers: \"\(h.key.scalar ?? "?")\" is not a valid header name")
                    }
                    guard let value = h.value.scalar, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                        throw fail(h.value, ".headers.\(name): the value must be text without control characters")
                    }
                    headers.append(Header(name: name, value: value))
                }
            case "queue":
                guard let qm = v.mapping else { throw fail(v, ".queue must be a mapping, e.g. { max_bytes: 2GiB }") }
                for q in qm {
                    guard q.key.scalar == "max_bytes" else { throw fail(q.key, ".queue: unknown key \"\(q.key.scalar ?? "?")\" (known: max_bytes)") }
                    guard let s = q.value.scalar, let b = parseBytes(s), b > 0 else {
                        throw fail(q.value, ".queue.max_bytes: invalid size \"\(q.value.scalar ?? "")\"")
                    }
                    maxBytes = b
                }
            default:
                throw fail(pair.key, ": unknown key \"\(key)\" (known: \(Self.keys.sorted().joined(separator: ", ")))")
            }
        }
        guard let write, let query else { throw fail(node, " needs both write_url and query_url") }
        self.init(writeURL: write, queryURL: query)
        self.headers = headers
        if let maxBytes { queueMaxBytes = maxBytes }
    }
}

/// RFC 9110 `token`: the characters a header name may have.
enum HTTPToken {
    static func isValid(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}
