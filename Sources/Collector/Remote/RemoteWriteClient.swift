import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import RemoteWrite

/// What the forward sender needs of an HTTP client (tests script the answers).
protocol RemoteWriteSending: Sendable {
    var url: String { get }
    /// One POST of a remote-write body; throws on transport errors.
    func send(_ body: [UInt8]) async throws -> RemoteWriteAnswer
}

struct RemoteWriteAnswer: Sendable {
    var status: Int
    var retryAfter: String?
    /// The first bytes of the body, for the log.
    var message: String
}

/// POSTs remote-write 1.0 bodies to `storage.remote.write_url`.
///
/// AsyncHTTPClient rather than the notifier's one-connection-per-post NIO code
/// (Rules/AlertPoster.swift): the forward sender posts continuously, so it wants pooled
/// keep-alive connections, and AsyncHTTPClient brings them with HTTPS (the BoringSSL already
/// linked for the listener), connect/read timeouts and proxies, maintained by swift-server.
/// The edge scraper stays on its own small NIO client for its memory budget.
final class RemoteWriteClient: RemoteWriteSending {
    let url: String
    private let headers: HTTPHeaders
    private let client: HTTPClient
    private let timeout: TimeAmount

    init(url: String, extraHeaders: [RemoteStorageOptions.Header], timeout: TimeAmount = .seconds(30)) {
        self.url = url
        self.timeout = timeout
        var h = HTTPHeaders()
        h.add(name: "Content-Encoding", value: RemoteWriteProtocol.contentEncoding)
        h.add(name: "Content-Type", value: RemoteWriteProtocol.contentType)
        h.add(name: RemoteWriteProtocol.versionHeader, value: RemoteWriteProtocol.version)
        h.add(name: "User-Agent", value: "fleetscope-collector/\(CollectorVersion.version)")
        // Configured headers last, so a tenant header (X-Scope-OrgID) or Authorization is sent as
        // written; one that repeats a protocol header replaces it.
        for x in extraHeaders {
            h.replaceOrAdd(name: x.name, value: x.value)
        }
        headers = h
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(5), read: timeout)
        config.redirectConfiguration = .disallow
        // The sender retries with its own backoff and must see a refused connection at once
        // (reachability, retries metric); the pool's own retries would hide it until the deadline.
        config.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// One POST; throws on transport errors (connection refused, timeout).
    func send(_ body: [UInt8]) async throws -> RemoteWriteAnswer {
        var req = HTTPClientRequest(url: url)
        req.method = .POST
        req.headers = headers
        req.body = .bytes(ByteBuffer(bytes: body))
        let resp = try await client.execute(req, timeout: timeout)
        let text = (try? await resp.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
        return RemoteWriteAnswer(status: Int(resp.status.code), retryAfter: resp.headers.first(name: "Retry-After"), message: Self.trimmed(text))
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    private static func trimmed(_ s: String) -> String {
        var t = Substring(s.prefix(512))
        while let l = t.last, l.isWhitespace { t.removeLast() }
        return t.isEmpty ? "(empty body)" : String(t)
    }
}
