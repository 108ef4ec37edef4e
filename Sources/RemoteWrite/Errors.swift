/// Why a remote-write body could not be read. Messages name the problem so that the
/// sender's log says what to fix.
public enum RemoteWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    case snappy(String)
    case tooLarge(decoded: Int, limit: Int)
    case protobuf(String)

    public var description: String {
        switch self {
        case .snappy(let m): return "snappy: \(m)"
        case .tooLarge(let n, let limit):
            return "decompressed body of \(n) bytes exceeds the limit of \(limit) bytes; send smaller batches (max_samples_per_send)"
        case .protobuf(let m): return "protobuf: \(m)"
        }
    }
}
