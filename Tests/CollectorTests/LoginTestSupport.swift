import Foundation
import Synchronization

@testable import Collector

/// A login clock the test moves forward instead of sleeping.
final class TestLoginClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    func advance(_ d: Duration) { offset.withLock { $0 += d } }
    var clock: LoginClock { LoginClock { [self] in ContinuousClock.now + offset.withLock { $0 } } }
}

func basicAuth(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

/// One request over a blocking loopback socket, answered with status and lower-cased header
/// names (the shared `rawGet` returns no headers; 429 tests need `Retry-After`). Runs on its
/// own thread so the in-process server keeps its cooperative threads.
func rawRequest(port: Int, path: String, authorization: String?) async throws -> (status: Int, headers: [String: String], body: String) {
    try await withCheckedThrowingContinuation { c in
        Thread {
            c.resume(with: Result {
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
                var req = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                if let authorization { req += "Authorization: \(authorization)\r\n" }
                req += "\r\n"
                _ = req.withCString { send(fd, $0, strlen($0), 0) }
                var resp = [UInt8]()
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = recv(fd, &buf, buf.count, 0)
                    if n < 0 { throw TestError("no complete answer from 127.0.0.1:\(port)\(path) within 30 s") }
                    if n == 0 { break }
                    resp.append(contentsOf: buf[0..<n])
                }
                let text = String(decoding: resp, as: UTF8.self)
                guard let sep = text.range(of: "\r\n\r\n") else { throw TestError("malformed HTTP response: \(text.prefix(200))") }
                let lines = text[..<sep.lowerBound].split(separator: "\r\n")
                let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
                var headers: [String: String] = [:]
                for l in lines.dropFirst() {
                    guard let colon = l.firstIndex(of: ":") else { continue }
                    headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return (status, headers, String(text[sep.upperBound...]))
            })
        }.start()
    }
}
