import Foundation
import Synchronization

@testable import Collector

/// A login clock the test moves forward instead of sleeping.
/// Time stands still unless a test advances it: on a loaded machine a bcrypt check can take
/// longer than a back-off, and a real clock would let the wait run out between two requests.
final class TestLoginClock: Sendable {
    private let base = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)
    func advance(_ d: Duration) { offset.withLock { $0 += d } }
    var clock: LoginClock { LoginClock { [self] in base + offset.withLock { $0 } } }
}

func basicAuth(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

/// A GET with status and lower-cased header names (429 tests need `Retry-After`), on its own
/// thread so the in-process server keeps its cooperative threads.
func rawRequest(port: Int, path: String, authorization: String?) async throws -> (status: Int, headers: [String: String], body: String) {
    try await withCheckedThrowingContinuation { c in
        Thread {
            c.resume(with: Result {
                let (code, head, body) = try rawRequest(port: port, method: "GET", path: path,
                                                        headers: authorization.map { ["Authorization: \($0)"] } ?? [], body: [])
                return (code, responseHeaders(head), String(decoding: body, as: UTF8.self))
            })
        }.start()
    }
}
