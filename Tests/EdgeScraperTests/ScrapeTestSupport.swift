import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
@testable import EdgeScraper

// Loopback helpers for the scrape-side tests: a tiny blocking HTTP/1.0 server that serves
// recorded responses, and a matching client. Everything binds to 127.0.0.1 only.

enum Loopback {
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 { close(fd); return nil }
        return fd
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// GET over HTTP/1.0: (status, headers, body).
    static func get(port: Int, path: String, headers: [(String, String)] = []) -> (Int, [(name: String, value: String)], [UInt8])? {
        guard let fd = connect(port: port) else { return nil }
        defer { close(fd) }
        var req = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n"
        for (k, v) in headers { req += "\(k): \(v)\r\n" }
        req += "\r\n"
        writeAll(fd, Array(req.utf8))
        let resp = readAll(fd)
        guard let split = resp.indices.first(where: { i in i + 3 < resp.count && resp[i] == 13 && resp[i + 1] == 10 && resp[i + 2] == 13 && resp[i + 3] == 10 }) else { return nil }
        let head = String(decoding: resp[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let hs = head.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let c = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, hs, Array(resp[(split + 4)...]))
    }
}

/// An HTTPTransport over `Loopback.get`, for tests only (http://127.0.0.1 URLs).
struct LoopbackClient: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let url = URL(string: request.url), let port = url.port else { throw TargetError(message: "bad url \(request.url)") }
        var path = url.path.isEmpty ? "/" : url.path
        if let q = url.query { path += "?" + q }
        let headers = request.headers.map { ($0.name, $0.value) }
        guard let (status, hs, body) = Loopback.get(port: port, path: path, headers: headers) else {
            throw TargetError(message: "connection to \(request.url) failed")
        }
        return HTTPResponse(status: status, headers: hs, body: body)
    }
}

/// Serves fixed responses by path on 127.0.0.1 and records request paths and headers.
final class RecordedServer: @unchecked Sendable {
    // The listening socket is shared with the accept thread; closing it ends the thread.
    let port: UInt16
    private let fd: Int32
    private let routes: [String: (contentType: String, body: [UInt8])]
    let log: RequestLog
    var seen: [(path: String, authorization: String?)] { log.entries.withLock { $0 } }
    private let thread: Thread

    init(routes: [String: (contentType: String, body: [UInt8])]) throws {
        self.routes = routes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let b = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard b == 0, listen(fd, 128) == 0 else { throw TargetError(message: "cannot listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        self.port = port
        let listenFD = fd
        let seen = RequestLog()
        self.log = seen
        thread = Thread {
            while true {
                let c = accept(listenFD, nil, nil)
                if c < 0 { return }
                var req: [UInt8] = []
                var buf = [UInt8](repeating: 0, count: 8192)
                while !(req.count >= 4 && Array(req.suffix(4)) == [13, 10, 13, 10]) {
                    let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    req.append(contentsOf: buf[0..<n])
                }
                let lines = String(decoding: req, as: UTF8.self).components(separatedBy: "\r\n")
                let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                let auth = lines.first { $0.lowercased().hasPrefix("authorization:") }.map { String($0.dropFirst(14)).trimmingCharacters(in: .whitespaces) }
                seen.entries.withLock { $0.append((path, auth)) }
                let route = routes[path]
                let body = route?.body ?? Array("not found".utf8)
                let head = "HTTP/1.0 \(route == nil ? "404 Not Found" : "200 OK")\r\nContent-Type: \(route?.contentType ?? "text/plain")\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                Loopback.writeAll(c, Array(head.utf8) + body)
                close(c)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

final class RequestLog: Sendable {
    let entries = Mutex<[(path: String, authorization: String?)]>([])
}

func fixturePath(_ rel: String, file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(rel).path
}

/// The Debian peer at `path`, or nil with an issue saying what to install (the test then stops).
func installedPeer(_ path: String, package: String) -> String? {
    guard FileManager.default.isExecutableFile(atPath: path) else {
        Issue.record("\(path) is not installed (apt-get install \(package))")
        return nil
    }
    return path
}

/// Debian's prometheus-node-exporter on a free loopback port, once it listens; nil when it is
/// not installed.
func startNodeExporter(_ args: [String] = []) async throws -> (ChildProcess, port: Int)? {
    guard let binary = installedPeer("/usr/bin/prometheus-node-exporter", package: "prometheus-node-exporter") else { return nil }
    let port = freePort()
    let proc = try ChildProcess("node_exporter", binary, ["--web.listen-address=127.0.0.1:\(port)"] + args)
    do {
        try await waitUntil("node_exporter to listen", seconds: 5) { isListening(port: port) }
    } catch {
        proc.stop()
        throw error
    }
    return (proc, port)
}

/// Prometheus (`binary`) on a free loopback port with `config` as `dir`/prometheus.yml and its
/// storage (the agent's WAL in agent mode) under `dir`/data.
func startPrometheus(_ binary: String, dir: String, config: String, agent: Bool = false) throws -> (ChildProcess, port: Int) {
    let cfgPath = dir + "/prometheus.yml"
    try config.write(toFile: cfgPath, atomically: true, encoding: .utf8)
    let port = freePort()
    let storage = agent ? ["--enable-feature=agent", "--storage.agent.path=\(dir)/data"] : ["--storage.tsdb.path=\(dir)/data"]
    let proc = try ChildProcess("prometheus", binary, ["--config.file=\(cfgPath)", "--web.listen-address=127.0.0.1:\(port)"] + storage)
    return (proc, port)
}
