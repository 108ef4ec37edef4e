/// Why the durable queue refused an operation: a full budget (`DiskQueue.WhenFull.refuse`) or
/// a problem with its directory or records.
public struct DurableQueueError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// Set when the append was refused because the queue holds `maxBytes` already.
    public var isFull = false
    public var description: String { message }

    public init(_ message: String) { self.message = message }

    static func full(dir: String, maxBytes: Int64) -> DurableQueueError {
        var e = DurableQueueError("queue \(dir) is full (\(maxBytes) bytes)")
        e.isFull = true
        return e
    }
}

// Little-endian fields of the queue's records and cursor.
extension Array where Element == UInt8 {
    mutating func appendLE32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func appendLE64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }

    func le32(at i: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian }
    }

    func le64(at i: Int) -> UInt64 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian }
    }
}
