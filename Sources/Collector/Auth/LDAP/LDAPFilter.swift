/// A search filter (RFC 4511 §4.5.1), parsed from its string form (RFC 4515) as it appears
/// in the config: `(&(objectClass=groupOfNames)(member=%s))`. Values put into a template are
/// escaped first (`LDAPEscape.filterValue`), so they can never change the filter's structure.
indirect enum LDAPFilter: Sendable, Equatable {
    case and([LDAPFilter])
    case or([LDAPFilter])
    case not(LDAPFilter)
    case equal(String, [UInt8])
    case substrings(String, initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?)
    case greaterOrEqual(String, [UInt8])
    case lessOrEqual(String, [UInt8])
    case present(String)
    case approx(String, [UInt8])

    struct ParseError: Error, Equatable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    func encode(_ w: inout BERWriter) {
        func ava(_ n: UInt8, _ attr: String, _ value: [UInt8]) {
            w.constructed(.context(n, constructed: true)) { s in
                s.octetString(attr)
                s.octetString(value)
            }
        }
        switch self {
        case .and(let fs): w.constructed(.context(0, constructed: true)) { s in for f in fs { f.encode(&s) } }
        case .or(let fs): w.constructed(.context(1, constructed: true)) { s in for f in fs { f.encode(&s) } }
        case .not(let f): w.constructed(.context(2, constructed: true)) { s in f.encode(&s) }
        case .equal(let a, let v): ava(3, a, v)
        case .substrings(let a, let initial, let any, let final):
            w.constructed(.context(4, constructed: true)) { s in
                s.octetString(a)
                s.constructed(.sequence) { p in
                    if let initial { p.octetString(initial, tag: .context(0, constructed: false)) }
                    for x in any { p.octetString(x, tag: .context(1, constructed: false)) }
                    if let final { p.octetString(final, tag: .context(2, constructed: false)) }
                }
            }
        case .greaterOrEqual(let a, let v): ava(5, a, v)
        case .lessOrEqual(let a, let v): ava(6, a, v)
        case .present(let a): w.octetString(a, tag: .context(7, constructed: false))
        case .approx(let a, let v): ava(8, a, v)
        }
    }

    /// Parses a whole filter string; extensible matches (`:=`) are not supported.
    static func parse(_ text: String) throws(ParseError) -> LDAPFilter {
        var p = Parser(bytes: Array(text.utf8))
        let f = try p.filter(depth: 0)
        guard p.i == p.bytes.count else { throw ParseError(message: "unexpected text after the filter at offset \(p.i) in \(text)") }
        return f
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        static let maxDepth = 32

        func fail(_ why: String) -> ParseError {
            ParseError(message: "invalid LDAP filter \(String(decoding: bytes, as: UTF8.self)): \(why) at offset \(i)")
        }

        mutating func expect(_ c: UInt8) throws(ParseError) {
            guard i < bytes.count, bytes[i] == c else { throw fail("expected \"\(Character(UnicodeScalar(c)))\"") }
            i += 1
        }

        mutating func filter(depth: Int) throws(ParseError) -> LDAPFilter {
            guard depth < Self.maxDepth else { throw fail("nested too deeply") }
            try expect(UInt8(ascii: "("))
            guard i < bytes.count else { throw fail("unexpected end") }
            let f: LDAPFilter
            switch bytes[i] {
            case UInt8(ascii: "&"): i += 1; f = .and(try list(depth: depth))
            case UInt8(ascii: "|"): i += 1; f = .or(try list(depth: depth))
            case UInt8(ascii: "!"): i += 1; f = .not(try filter(depth: depth + 1))
            default: f = try item()
            }
            try expect(UInt8(ascii: ")"))
            return f
        }

        mutating func list(depth: Int) throws(ParseError) -> [LDAPFilter] {
            var out: [LDAPFilter] = []
            while i < bytes.count, bytes[i] == UInt8(ascii: "(") { out.append(try filter(depth: depth + 1)) }
            guard !out.isEmpty else { throw fail("empty & or | list") }
            return out
        }

        mutating func item() throws(ParseError) -> LDAPFilter {
            let start = i
            while i < bytes.count, Self.isAttributeByte(bytes[i]) { i += 1 }
            guard i > start else { throw fail("expected an attribute description") }
            let attr = String(decoding: bytes[start..<i], as: UTF8.self)
            guard i < bytes.count else { throw fail("unexpected end") }
            var op = bytes[i]
            if op == UInt8(ascii: "~") || op == UInt8(ascii: ">") || op == UInt8(ascii: "<") {
                i += 1
            } else if op == UInt8(ascii: ":") {
                throw fail("extensible match filters are not supported")
            } else {
                op = UInt8(ascii: "=")
            }
            try expect(UInt8(ascii: "="))
            // The value: escaped bytes, split at unescaped '*'.
            var parts: [[UInt8]] = [[]]
            while i < bytes.count, bytes[i] != UInt8(ascii: ")") {
                let c = bytes[i]
                switch c {
                case UInt8(ascii: "*"): parts.append([]); i += 1
                case UInt8(ascii: "("): throw fail("unescaped \"(\" in a value")
                case UInt8(ascii: "\\"):
                    guard i + 2 < bytes.count, let h = LDAPFilter.hexDigit(bytes[i + 1]), let l = LDAPFilter.hexDigit(bytes[i + 2]) else {
                        throw fail("a backslash must be followed by two hex digits")
                    }
                    parts[parts.count - 1].append(h << 4 | l)
                    i += 3
                default: parts[parts.count - 1].append(c); i += 1
                }
            }
            switch op {
            case UInt8(ascii: "="):
                if parts.count == 1 { return .equal(attr, parts[0]) }
                if parts.count == 2 && parts[0].isEmpty && parts[1].isEmpty { return .present(attr) }
                let middle = parts.dropFirst().dropLast()
                guard !middle.contains(where: \.isEmpty) else { throw fail("\"**\" in a substring filter") }
                return .substrings(attr, initial: parts[0].isEmpty ? nil : parts[0], any: Array(middle),
                                   final: parts.last!.isEmpty ? nil : parts.last!)
            default:
                guard parts.count == 1 else { throw fail("\"*\" is only allowed after \"=\"") }
                switch op {
                case UInt8(ascii: "~"): return .approx(attr, parts[0])
                case UInt8(ascii: ">"): return .greaterOrEqual(attr, parts[0])
                default: return .lessOrEqual(attr, parts[0])
                }
            }
        }

        static func isAttributeByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: ";")
        }

    }

    /// The value of one hex digit (RFC 4515 and RFC 4514 escapes), or nil.
    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}

/// Escaping of values that come from users (their login name) before they go into a filter
/// or a DN template: without it `*)(uid=*` would widen a search, and `x,ou=admins` would
/// move a bind to another branch of the directory.
enum LDAPEscape {
    /// RFC 4515 §3: `*`, `(`, `)`, `\`, NUL and every non-ASCII byte become `\XX`.
    static func filterValue(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0, 0x80...0xFF:
                out += "\\" + hex2(b)
            default: out.unicodeScalars.append(UnicodeScalar(b))
            }
        }
        return out
    }

    /// RFC 4514 §2.4: an attribute value inside a DN. `,+"\<>;=` and NUL are escaped
    /// everywhere, a leading space or `#` and a trailing space too.
    static func dnValue(_ s: String) -> String {
        let bytes = Array(s.utf8)
        var out = ""
        for (i, b) in bytes.enumerated() {
            switch b {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "<"),
                 UInt8(ascii: ">"), UInt8(ascii: ";"), UInt8(ascii: "="):
                out += "\\" + String(UnicodeScalar(b))
            case 0: out += "\\00"
            case UInt8(ascii: " ") where i == 0 || i == bytes.count - 1: out += "\\ "
            case UInt8(ascii: "#") where i == 0: out += "\\#"
            default:
                if b < 0x80 { out.unicodeScalars.append(UnicodeScalar(b)) } else { out += "\\" + hex2(b) }
            }
        }
        return out
    }

    private static func hex2(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef".utf8)
        return String(decoding: [d[Int(b >> 4)], d[Int(b & 0xF)]], as: UTF8.self)
    }
}
