/// LDAPv3 messages (RFC 4511 §4) as far as a login needs them: simple bind, search,
/// the StartTLS extended operation, unbind; and the responses to them.
enum LDAPRequest: Sendable, Equatable {
    case simpleBind(dn: String, password: String)
    case search(LDAPSearch)
    case startTLS
    case unbind

    static let startTLSOID = "1.3.6.1.4.1.1466.20037"

    /// The whole `LDAPMessage` with `messageID`.
    func encode(messageID: Int32) -> [UInt8] {
        var w = BERWriter()
        w.constructed(.sequence) { m in
            m.integer(Int64(messageID))
            switch self {
            case .simpleBind(let dn, let password):
                m.constructed(.application(0, constructed: true)) { b in
                    b.integer(3)
                    b.octetString(dn)
                    b.octetString(password, tag: .context(0, constructed: false))
                }
            case .search(let s):
                m.constructed(.application(3, constructed: true)) { b in
                    b.octetString(s.base)
                    b.enumerated(s.scope.rawValue)
                    b.enumerated(0) // neverDerefAliases
                    b.integer(Int64(s.sizeLimit))
                    b.integer(Int64(s.timeLimitSeconds))
                    b.boolean(false)
                    s.filter.encode(&b)
                    b.constructed(.sequence) { a in for name in s.attributes { a.octetString(name) } }
                }
            case .startTLS:
                m.constructed(.application(23, constructed: true)) { b in
                    b.octetString(Self.startTLSOID, tag: .context(0, constructed: false))
                }
            case .unbind:
                m.write(.application(2, constructed: false), [])
            }
        }
        return w.bytes
    }
}

struct LDAPSearch: Sendable, Equatable {
    enum Scope: Int64, Sendable { case base = 0, one = 1, sub = 2 }
    var base: String
    var scope: Scope
    var filter: LDAPFilter
    var attributes: [String]
    var sizeLimit = 0
    var timeLimitSeconds = 0
}

/// `LDAPResult` (RFC 4511 §4.1.9).
struct LDAPResult: Sendable, Equatable {
    var code: Int64
    var matchedDN: String
    var diagnostic: String

    static let success: Int64 = 0
    static let invalidCredentials: Int64 = 49
    var isSuccess: Bool { code == Self.success }
}

/// One response message from the server.
struct LDAPResponse: Sendable, Equatable {
    enum Operation: Sendable, Equatable {
        case bind(LDAPResult)
        case searchEntry(LDAPEntry)
        case searchReference
        case searchDone(LDAPResult)
        case extended(LDAPResult, name: String?)
        /// Anything else; ignored by the client.
        case other(tag: UInt8)

        /// The last message of an operation: its result.
        var isFinal: Bool {
            switch self {
            case .bind, .searchDone, .extended: true
            case .searchEntry, .searchReference, .other: false
            }
        }
    }

    var messageID: Int32
    var operation: Operation

    /// Decodes one complete `LDAPMessage`. Throws on anything malformed; never traps.
    static func decode(_ bytes: [UInt8]) throws(BER.DecodeError) -> LDAPResponse {
        var outer = BERReader(bytes)
        var m = try outer.readSequence()
        guard outer.isAtEnd else { throw BER.DecodeError(message: "bytes after the message") }
        let id = try m.readInteger()
        guard id >= 0, id <= Int64(Int32.max) else { throw BER.DecodeError(message: "message id \(id) out of range") }
        let (tag, content) = try m.read()
        var body = BERReader(content)
        let op: Operation
        switch tag {
        case .application(1, constructed: true): op = .bind(try readResult(&body))
        case .application(4, constructed: true):
            let dn = try body.readString()
            var attrs: [String: [[UInt8]]] = [:]
            var list = try body.readSequence()
            while !list.isAtEnd {
                var attr = try list.readSequence()
                let type = try attr.readString()
                var vals = try attr.readSequence(.set)
                var values: [[UInt8]] = []
                while !vals.isAtEnd { values.append(try vals.readOctetString()) }
                attrs[type.lowercased(), default: []] += values
            }
            op = .searchEntry(LDAPEntry(dn: dn, attributes: attrs))
        case .application(19, constructed: true): op = .searchReference
        case .application(5, constructed: true): op = .searchDone(try readResult(&body))
        case .application(24, constructed: true):
            let result = try readResult(&body)
            var name: String?
            while let t = body.peekTag() {
                if t == .context(10, constructed: false) { name = try body.readString(t) } else { _ = try body.read() }
            }
            op = .extended(result, name: name)
        default: op = .other(tag: tag.byte)
        }
        return LDAPResponse(messageID: Int32(id), operation: op)
    }

    private static func readResult(_ r: inout BERReader) throws(BER.DecodeError) -> LDAPResult {
        let code = try r.readEnumerated()
        let matched = try r.readString()
        let diagnostic = try r.readString()
        // Referral [3] and operation-specific fields follow; callers read what they need.
        return LDAPResult(code: code, matchedDN: matched, diagnostic: diagnostic)
    }
}

struct LDAPEntry: Sendable, Equatable {
    var dn: String
    /// By lower-cased attribute type (attribute names are case-insensitive).
    var attributes: [String: [[UInt8]]]

    func strings(_ name: String) -> [String] {
        (attributes[name.lowercased()] ?? []).map { String(decoding: $0, as: UTF8.self) }
    }
}
