#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call on a named file: what was tried, on which path, and the errno, so
/// disk-full and permission problems are obvious to whoever reads the log line or the 5xx.
/// Users wrap it (TSDBError.io) or show it as is (the edge queue).
public struct DurableIOError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    /// 0 when the failure is not a system call's (a lock already held, say).
    public let code: Int32
    public let message: String

    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
        message = "\(operation) \(path): \(FS.errnoText(code))"
    }

    /// A failure that is not an errno: `message` is shown as is.
    public init(message: String, path: String) {
        operation = ""
        self.path = path
        code = 0
        self.message = message
    }

    public var description: String { message }
}
