/// The subset of ASN.1 BER (X.690) that LDAPv3 (RFC 4511 §5.1) uses: definite lengths only,
/// single-byte tags (LDAP never needs tag numbers above 30), primitive and constructed values.
enum BER {
    /// Longest value we accept. LDAP answers for a login are a few kilobytes; a directory (or
    /// an attacker in its place) announcing more is refused before anything is allocated.
    static let maxLength = 16 << 20

    struct Tag: Equatable, Hashable, Sendable {
        var byte: UInt8
        static let boolean = Tag(byte: 0x01)
        static let integer = Tag(byte: 0x02)
        static let octetString = Tag(byte: 0x04)
        static let enumerated = Tag(byte: 0x0A)
        static let sequence = Tag(byte: 0x30)
        static let set = Tag(byte: 0x31)
        /// `[APPLICATION n]`, constructed or primitive.
        static func application(_ n: UInt8, constructed: Bool) -> Tag { Tag(byte: 0x40 | (constructed ? 0x20 : 0) | n) }
        /// `[n]` context-specific, constructed or primitive.
        static func context(_ n: UInt8, constructed: Bool) -> Tag { Tag(byte: 0x80 | (constructed ? 0x20 : 0) | n) }
        var isConstructed: Bool { byte & 0x20 != 0 }
    }

    struct DecodeError: Error, Equatable, CustomStringConvertible {
        let message: String
        var description: String { "malformed LDAP message: \(message)" }
    }
}

/// Builds BER values into a byte array. Lengths use the shortest definite form.
struct BERWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write(_ tag: BER.Tag, _ content: [UInt8]) {
        bytes.append(tag.byte)
        Self.appendLength(content.count, to: &bytes)
        bytes.append(contentsOf: content)
    }

    mutating func constructed(_ tag: BER.Tag, _ body: (inout BERWriter) -> Void) {
        var inner = BERWriter()
        body(&inner)
        write(tag, inner.bytes)
    }

    mutating func integer(_ v: Int64, tag: BER.Tag = .integer) { write(tag, Self.integerContent(v)) }
    mutating func enumerated(_ v: Int64) { integer(v, tag: .enumerated) }
    mutating func octetString(_ s: String, tag: BER.Tag = .octetString) { write(tag, Array(s.utf8)) }
    mutating func octetString(_ b: [UInt8], tag: BER.Tag = .octetString) { write(tag, b) }
    mutating func boolean(_ v: Bool) { write(.boolean, [v ? 0xFF : 0x00]) }

    static func appendLength(_ n: Int, to out: inout [UInt8]) {
        precondition(n >= 0)
        if n < 0x80 { out.append(UInt8(n)); return }
        var be: [UInt8] = []
        var v = n
        while v > 0 { be.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
        out.append(0x80 | UInt8(be.count))
        out.append(contentsOf: be)
    }

    /// Two's complement, big-endian, minimal.
    static func integerContent(_ v: Int64) -> [UInt8] {
        var out: [UInt8] = []
        var x = v
        repeat {
            out.insert(UInt8(truncatingIfNeeded: x), at: 0)
            x >>= 8
        } while !(x == 0 && out[0] & 0x80 == 0) && !(x == -1 && out[0] & 0x80 != 0)
        return out
    }
}

/// Reads BER values from a byte slice. Every length is checked against what is left before
/// it is used, so random, truncated or hostile bytes give a `DecodeError`, never a trap.
struct BERReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }
    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var isAtEnd: Bool { position >= bytes.endIndex }
    var remaining: Int { bytes.endIndex - position }

    /// The tag of the next value, without consuming it.
    func peekTag() -> BER.Tag? { isAtEnd ? nil : BER.Tag(byte: bytes[position]) }

    /// The next value: its tag and content.
    mutating func read() throws(BER.DecodeError) -> (tag: BER.Tag, content: ArraySlice<UInt8>) {
        guard let header = Self.header(bytes[position...]) else { throw BER.DecodeError(message: "truncated value header") }
        switch header {
        case .invalid(let why): throw BER.DecodeError(message: why)
        case .complete(let tag, let headerLength, let length):
            guard length <= remaining - headerLength else { throw BER.DecodeError(message: "value length \(length) exceeds the \(remaining - headerLength) bytes left") }
            let start = position + headerLength
            position = start + length
            return (tag, bytes[start..<(start + length)])
        }
    }

    /// The next value, which must have tag `tag`.
    mutating func read(_ tag: BER.Tag) throws(BER.DecodeError) -> ArraySlice<UInt8> {
        let (t, content) = try read()
        guard t == tag else { throw BER.DecodeError(message: "expected tag 0x\(Self.hex(tag.byte)), found 0x\(Self.hex(t.byte))") }
        return content
    }

    mutating func readSequence(_ tag: BER.Tag = .sequence) throws(BER.DecodeError) -> BERReader {
        BERReader(try read(tag))
    }

    mutating func readInteger(_ tag: BER.Tag = .integer) throws(BER.DecodeError) -> Int64 {
        let c = try read(tag)
        guard !c.isEmpty else { throw BER.DecodeError(message: "empty integer") }
        guard c.count <= 8 else { throw BER.DecodeError(message: "integer longer than 8 bytes") }
        var v: Int64 = c.first! & 0x80 != 0 ? -1 : 0
        for b in c { v = (v << 8) | Int64(b) }
        return v
    }

    mutating func readEnumerated() throws(BER.DecodeError) -> Int64 { try readInteger(.enumerated) }

    mutating func readOctetString(_ tag: BER.Tag = .octetString) throws(BER.DecodeError) -> [UInt8] { Array(try read(tag)) }

    /// LDAPString and LDAPDN are UTF-8 (RFC 4511 §4.1.2); invalid sequences are replaced, not trusted.
    mutating func readString(_ tag: BER.Tag = .octetString) throws(BER.DecodeError) -> String {
        String(decoding: try read(tag), as: UTF8.self)
    }

    enum Header: Equatable {
        case complete(tag: BER.Tag, headerLength: Int, length: Int)
        case invalid(String)
    }

    /// Parses the tag and length at the start of `b`; nil when more bytes are needed.
    /// Used both here and by the stream framer, which must know a message's size before it
    /// has all of it.
    static func header(_ b: ArraySlice<UInt8>) -> Header? {
        guard b.count >= 2 else { return nil }
        let tagByte = b[b.startIndex]
        guard tagByte & 0x1F != 0x1F else { return .invalid("multi-byte tags are not used by LDAP") }
        let first = b[b.startIndex + 1]
        if first < 0x80 { return .complete(tag: BER.Tag(byte: tagByte), headerLength: 2, length: Int(first)) }
        let n = Int(first & 0x7F)
        guard n != 0 else { return .invalid("indefinite length is not allowed in LDAP") }
        guard n <= 4 else { return .invalid("length of \(n) bytes is too large") }
        guard b.count >= 2 + n else { return nil }
        var length = 0
        for i in 0..<n { length = (length << 8) | Int(b[b.startIndex + 2 + i]) }
        guard length <= BER.maxLength else { return .invalid("value of \(length) bytes exceeds the limit of \(BER.maxLength)") }
        return .complete(tag: BER.Tag(byte: tagByte), headerLength: 2 + n, length: length)
    }

    private static func hex(_ b: UInt8) -> String { String(b, radix: 16, uppercase: true) }
}
