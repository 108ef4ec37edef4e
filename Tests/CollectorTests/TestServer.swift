import Foundation
import Logging
import RemoteWrite
import Storage
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Collector

/// A collector running in this process on a free loopback port, with its own temp data dir.
final class TestServer: @unchecked Sendable {
    // Set once before use, then read-only.
    let server: CollectorServer
    let dataDir: String
    private(set) var port = 0
    private var task: Task<Void, Error>?

    init(noAuth: Bool = true, dataDir: String? = nil, logger: Logger? = nil,
         configure: (inout CollectorOptions) -> Void = { _ in }) async throws {
        self.dataDir = dataDir ?? NSTemporaryDirectory() + "fleetscope-test-\(UUID().uuidString)"
        var opts = CollectorOptions()
        opts.host = "127.0.0.1"
        opts.port = 0
        opts.dataDir = self.dataDir
        opts.noAuth = noAuth
        // Most tests write at small, readable timestamps (t=1000 ms): with retention measured
        // from the real clock they must not count as too old.
        opts.tsdb.retention = 100 * 365 * 86_400_000
        configure(&opts)
        let logger = logger ?? {
            var l = Logger(label: "test-collector")
            l.logLevel = .warning
            return l
        }()
        server = try await CollectorServer(options: opts, logger: logger)
        let (stream, cont) = AsyncStream<Int>.makeStream()
        task = Task { [server] in
            defer { cont.finish() }
            try await server.run { port in cont.yield(port) }
        }
        for await p in stream { port = p; break }
        if port == 0 {
            // run() ended before listening (bad TLS files, say): report why instead of waiting forever.
            if case .failure(let e) = await task!.result { throw e }
            throw TestError("collector stopped before listening")
        }
    }

    func stop() async {
        task?.cancel()
        _ = await task?.result
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func write(_ req: WriteRequest, token: String? = nil, encoding: String? = "snappy", body: [UInt8]? = nil) async throws -> (Int, String) {
        var headers = HTTP.remoteWriteHeaders
        headers["Content-Encoding"] = encoding
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await HTTP.post(base + "/api/v1/write", body: Data(body ?? WireEncoder.encodeCompressed(req)), headers: headers)
    }

    func get(_ path: String, user: String? = nil, password: String? = nil) async throws -> (Int, [String: Any]) {
        var headers: [String] = []
        if let user, let password {
            headers.append("Authorization: Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        // A plain socket client: URLSession on Linux stalls on 401 + WWW-Authenticate challenges.
        // The socket blocks, so it runs on its own thread: a blocked cooperative thread could
        // starve the in-process server that has to answer it.
        let port = self.port
        let requestHeaders = headers
        let (code, data) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int, Data), Error>) in
            Thread { c.resume(with: Result { try rawGet(port: port, path: path, headers: requestHeaders) }) }.start()
        }
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? ["raw": String(decoding: data, as: UTF8.self)]
        return (code, json)
    }
}

extension TestServer {
    /// Any method, any path exactly as given (no client-side normalisation), any headers.
    /// Answers status, lower-cased response headers and body.
    func raw(_ method: String, _ path: String, headers: [String] = [], body: [UInt8] = []) async throws -> (Int, [String: String], String) {
        let port = self.port
        let (code, head, data) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int, String, Data), Error>) in
            Thread { c.resume(with: Result { try rawRequest(port: port, method: method, path: path, headers: headers, body: body) }) }.start()
        }
        return (code, responseHeaders(head), String(decoding: data, as: UTF8.self))
    }
}

/// A response head's header lines by lower-cased name.
func responseHeaders(_ head: String) -> [String: String] {
    var h: [String: String] = [:]
    for line in head.split(separator: "\r\n").dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        h[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return h
}

/// A whole header line for `raw(...)`.
func basicAuthHeader(_ user: String, _ password: String) -> String {
    "Authorization: " + basicAuth(user, password)
}

/// `rawGet` that also returns the response head (status line and headers) as text.
func rawGetWithHead(port: Int, path: String, headers: [String]) throws -> (Int, String, Data) {
    try rawRequest(port: port, method: "GET", path: path, headers: headers, body: [])
}

func rawGet(port: Int, path: String, headers: [String]) throws -> (Int, Data) {
    let (code, _, body) = try rawRequest(port: port, method: "GET", path: path, headers: headers, body: [])
    return (code, body)
}

/// One request over a blocking loopback socket; returns status, header block and body. Reads
/// until Content-Length is satisfied (or the server closes), with a receive timeout so a
/// server bug fails the test instead of hanging it.
func rawRequest(port: Int, method: String, path: String, headers: [String], body: [UInt8]) throws -> (Int, String, Data) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw TestError("connect to 127.0.0.1:\(port) failed") }
    let length = body.isEmpty && method == "GET" ? "" : "Content-Length: \(body.count)\r\n"
    let req = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + length + headers.map { $0 + "\r\n" }.joined() + "\r\n"
    let bytes = Array(req.utf8) + body
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw TestError("send to 127.0.0.1:\(port) failed") }
        sent += n
    }
    var resp = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    var bodyStart: Int?
    var contentLength: Int?
    while true {
        if let bodyStart, let contentLength, resp.count - bodyStart >= contentLength { break }
        let n = recv(fd, &buf, buf.count, 0)
        if n < 0 { throw TestError("no complete answer from 127.0.0.1:\(port)\(path) within 30 s") }
        if n == 0 { break }
        resp.append(contentsOf: buf[0..<n])
        if bodyStart == nil, let sep = resp.range(of: Data("\r\n\r\n".utf8)) {
            bodyStart = sep.upperBound - resp.startIndex
            let head = String(decoding: resp[..<sep.lowerBound], as: UTF8.self).lowercased()
            contentLength = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        }
    }
    guard let sep = resp.range(of: Data("\r\n\r\n".utf8)) else { throw TestError("malformed HTTP response") }
    let head = String(decoding: resp[..<sep.lowerBound], as: UTF8.self)
    let code = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (code, head, Data(resp[sep.upperBound...]))
}

func series(_ name: String, _ labels: [String: String] = [:], _ samples: [(Int64, Double)]) -> TimeSeries {
    var l = [Label("__name__", name)]
    for (k, v) in labels.sorted(by: { $0.key < $1.key }) { l.append(Label(k, v)) }
    return TimeSeries(labels: l, samples: samples.map { Sample(t: $0.0, v: $0.1) })
}

/// `/api/v1/series` answers as a set of label dictionaries.
func seriesSet(_ json: [String: Any]) -> Set<[String: String]> {
    Set((json["data"] as? [[String: String]]) ?? [])
}
