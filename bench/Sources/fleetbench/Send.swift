import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 keep-alive connection: the least client code between the pre-built
/// bodies and the server, so the client's own cost stays small and equal for every system.
final class Conn {
    let port: UInt16
    var fd: Int32 = -1
    var buf = [UInt8](repeating: 0, count: 65536)
    /// Source address to connect from (any 127.0.0.0/8 address works on Linux); nil = the kernel's choice.
    var source: String?

    init(port: UInt16) { self.port = port }

    func connectIfNeeded() throws {
        if fd >= 0 { return }
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw BenchError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let b = withUnsafePointer(to: &local) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard b == 0 else { close(s); throw BenchError("bind \(source): errno \(errno)") }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { close(s); throw BenchError("connect 127.0.0.1:\(port): errno \(errno)") }
        fd = s
    }

    func reset() { if fd >= 0 { close(fd); fd = -1 } }

    private func writeAll(_ p: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < p.count {
            let n = Glibc.send(fd, p.baseAddress! + off, p.count - off, Int32(MSG_NOSIGNAL))
            if n < 0 { if errno == EINTR { continue }; throw BenchError("send: errno \(errno)") }
            off += n
        }
    }

    /// POSTs one body; returns the status code and (for errors) the response body.
    func post(path: String, extraHeaders: String, body: UnsafeRawBufferPointer) throws -> (Int, String) {
        try request("POST", path: path, extraHeaders: extraHeaders, body: body)
    }

    func get(path: String, extraHeaders: String) throws -> (Int, String) {
        try request("GET", path: path, extraHeaders: extraHeaders, body: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func request(_ method: String, path: String, extraHeaders: String, body: UnsafeRawBufferPointer) throws -> (Int, String) {
        try connectIfNeeded()
        let length = method == "GET" ? "" : "Content-Length: \(body.count)\r\n"
        let head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extraHeaders)\(length)\r\n"
        var h = Array(head.utf8)
        try h.withUnsafeMutableBytes { try writeAll(UnsafeRawBufferPointer($0)) }
        try writeAll(body)
        // Read the header.
        var acc: [UInt8] = []
        var headerEnd = -1
        while headerEnd < 0 {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw BenchError("connection closed while reading the response") }
            acc.append(contentsOf: buf[0..<n])
            if acc.count >= 4 {
                for i in max(0, acc.count - n - 3)...(acc.count - 4) where acc[i] == 13 && acc[i + 1] == 10 && acc[i + 2] == 13 && acc[i + 3] == 10 {
                    headerEnd = i + 4; break
                }
            }
        }
        let headerText = String(decoding: acc[0..<headerEnd], as: UTF8.self)
        let lines = headerText.split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var contentLength = 0, chunked = false, closeAfter = false
        for l in lines.dropFirst() {
            let parts = l.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces).lowercased()
            if name == "content-length" { contentLength = Int(value) ?? 0 }
            if name == "transfer-encoding" && value.contains("chunked") { chunked = true }
            if name == "connection" && value == "close" { closeAfter = true }
        }
        var bodyBytes = Array(acc[headerEnd...])
        func more() throws {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { throw BenchError("connection closed while reading the response body") }
            bodyBytes.append(contentsOf: buf[0..<n])
        }
        if chunked {
            // Enough for small error bodies: read until the terminating zero-length chunk.
            while !(bodyBytes.count >= 5 && Array(bodyBytes.suffix(5)) == Array("0\r\n\r\n".utf8)) { try more() }
        } else {
            while bodyBytes.count < contentLength { try more() }
        }
        if closeAfter { reset() }
        return (status, status >= 300 ? String(decoding: bodyBytes.prefix(300), as: UTF8.self) : "")
    }
}

struct SendResult {
    var requests = 0, samples = 0, errors = 0, retries = 0
    var firstError = ""
    /// Milliseconds from sending a request to its (final) answer, retries included.
    var latenciesMs: [Double] = []
}

/// The q-quantile (nearest rank) of sorted values; 0 when there are none.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    if sorted.isEmpty { return 0 }
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Sends every body of a generated workload round by round with `concurrency` connections,
/// starting at round `firstRound` (so two runs can send different scrapes of one workload).
func send(dir: String, url: String, concurrency: Int, rounds maxRounds: Int, firstRound: Int = 0) throws {
    guard let u = URL(string: url), let port = u.port else { throw BenchError("bad --url \(url): need http://127.0.0.1:PORT/path") }
    let path = u.path.isEmpty ? "/" : u.path
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/bodies.bin"), options: .alwaysMapped)
    let index = try String(contentsOfFile: dir + "/index.tsv", encoding: .utf8)
    var byRound: [[(Int, Int, Int)]] = []
    for line in index.split(separator: "\n") {
        let f = line.split(separator: "\t").map { Int($0)! }
        while byRound.count <= f[0] { byRound.append([]) }
        byRound[f[0]].append((f[1], f[2], f[3]))
    }
    byRound = Array(byRound.dropFirst(firstRound))
    if maxRounds > 0 && byRound.count > maxRounds { byRound = Array(byRound.prefix(maxRounds)) }
    let headers = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: fleetbench\r\n"
    let conns = (0..<concurrency).map { _ in Conn(port: UInt16(port)) }
    let lock = NSLock()
    var total = SendResult()
    let start = Date()
    try data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
        let base = UnsafeRawBufferPointer(all)
        for reqs in byRound {
            var next = 0
            let group = DispatchGroup()
            for w in 0..<concurrency {
                group.enter()
                let t = Thread {
                    defer { group.leave() }
                    var mine = SendResult()
                    while true {
                        lock.lock(); let i = next; next += 1; lock.unlock()
                        if i >= reqs.count { break }
                        let (off, len, samples) = reqs[i]
                        let body = UnsafeRawBufferPointer(rebasing: base[off..<(off + len)])
                        var attempt = 0
                        let sent = DispatchTime.now().uptimeNanoseconds
                        defer { mine.latenciesMs.append(Double(DispatchTime.now().uptimeNanoseconds - sent) / 1e6) }
                        while true {
                            do {
                                let (status, msg) = try conns[w].post(path: path, extraHeaders: headers, body: body)
                                if status >= 200 && status < 300 { mine.requests += 1; mine.samples += samples; break }
                                if (status == 429 || status >= 500) && attempt < 50 {
                                    attempt += 1; mine.retries += 1; usleep(100_000); continue
                                }
                                mine.errors += 1
                                if mine.firstError.isEmpty { mine.firstError = "HTTP \(status): \(msg)" }
                                break
                            } catch {
                                conns[w].reset()
                                if attempt < 5 { attempt += 1; mine.retries += 1; usleep(100_000); continue }
                                mine.errors += 1
                                if mine.firstError.isEmpty { mine.firstError = "\(error)" }
                                break
                            }
                        }
                    }
                    lock.lock()
                    total.requests += mine.requests; total.samples += mine.samples
                    total.errors += mine.errors; total.retries += mine.retries
                    total.latenciesMs += mine.latenciesMs
                    if total.firstError.isEmpty { total.firstError = mine.firstError }
                    lock.unlock()
                }
                t.stackSize = 1 << 20
                t.start()
            }
            group.wait()
        }
    }
    let secs = Date().timeIntervalSince(start)
    for c in conns { c.reset() }
    let lat = total.latenciesMs.sorted()
    print(String(format: "sent requests=%d samples=%d seconds=%.3f samples_per_sec=%.0f errors=%d retries=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f",
                 total.requests, total.samples, secs, Double(total.samples) / secs, total.errors, total.retries,
                 quantile(lat, 0.5), quantile(lat, 0.99), lat.last ?? 0))
    if !total.firstError.isEmpty { print("first_error=\(total.firstError.replacingOccurrences(of: "\n", with: " "))") }
}
