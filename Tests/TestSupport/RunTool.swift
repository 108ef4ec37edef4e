import Foundation
import Synchronization

/// What a tool run to completion printed, and how it exited.
public typealias ToolOutput = (status: Int32, out: String, err: String)

/// Runs a short-lived tool (promtool, curl, openssl, our CLIs) to completion and returns its exit
/// status, stdout and stderr. Killed by PID after `timeout` seconds, so a hung tool fails the
/// test instead of hanging it.
public func runTool(_ path: String, _ args: [String], in dir: String? = nil, timeout: Double = 120) throws -> ToolOutput {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let watchdog = Watchdog(pid: p.processIdentifier, after: timeout)
    // stderr is drained on another thread: a tool that fills one pipe while we read the other
    // would otherwise stall.
    let errText = DrainedPipe(err)
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = errText.wait()
    p.waitUntilExit()
    if watchdog.finish() {
        throw TestError("\(path) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
    }
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own.
private final class DrainedPipe: @unchecked Sendable {
    // Written by the reader thread before it signals, read only after `wait()`.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        Thread { [self] in
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// `runTool` on a thread of its own: waiting for the tool on the cooperative pool could starve
/// an in-process server that has to answer it.
public func runTool(_ path: String, _ args: [String], in dir: String? = nil, timeout: Double = 120) async throws -> ToolOutput {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try runTool(path, args, in: dir, timeout: timeout) as ToolOutput }) }.start()
    }
}

/// Kills `pid` after a delay unless `finish()` came first; the lock keeps it from signalling a
/// PID that was already reaped (and maybe reused).
private final class Watchdog: Sendable {
    private let state = Mutex<(done: Bool, fired: Bool)>((false, false))

    init(pid: Int32, after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            state.withLock {
                guard !$0.done else { return }
                $0.fired = true
                kill(pid, SIGKILL)
            }
        }
    }

    /// Disarms the watchdog; true when it had already killed the process.
    func finish() -> Bool { state.withLock { $0.done = true; return $0.fired } }
}
