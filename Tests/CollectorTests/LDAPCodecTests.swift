import Foundation
import Testing
import TestSupport

@testable import Collector

/// BER and LDAPv3 encoding against bytes worked out from RFC 4511 and X.690, and the
/// decoders against random, truncated and mutated input: they must throw, never trap.
@Suite struct LDAPCodecTests {
    @Test func simpleBindHasTheRFCLayout() {
        let bytes = LDAPRequest.simpleBind(dn: "cn=x", password: "p").encode(messageID: 1)
        #expect(bytes == [0x30, 0x11, 0x02, 0x01, 0x01, 0x60, 0x0C, 0x02, 0x01, 0x03,
                          0x04, 0x04, 0x63, 0x6E, 0x3D, 0x78, 0x80, 0x01, 0x70])
    }

    @Test func startTLSAndUnbindLayout() {
        let oid = Array(LDAPRequest.startTLSOID.utf8)
        #expect(LDAPRequest.startTLS.encode(messageID: 2)
            == [0x30, UInt8(5 + 2 + oid.count), 0x02, 0x01, 0x02, 0x77, UInt8(2 + oid.count), 0x80, UInt8(oid.count)] + oid)
        #expect(LDAPRequest.unbind.encode(messageID: 3) == [0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00])
    }

    @Test func integersRoundTrip() throws {
        for v: Int64 in [0, 1, -1, 127, 128, -128, -129, 255, 256, 65535, Int64(Int32.max), Int64.min, Int64.max] {
            var w = BERWriter()
            w.integer(v)
            var r = BERReader(w.bytes)
            #expect(try r.readInteger() == v)
            #expect(r.isAtEnd)
        }
        #expect(BERWriter.integerContent(128) == [0x00, 0x80])
        #expect(BERWriter.integerContent(-128) == [0x80])
    }

    @Test func longLengthsUseTheLongForm() throws {
        var w = BERWriter()
        w.octetString([UInt8](repeating: 7, count: 300))
        #expect(Array(w.bytes.prefix(4)) == [0x04, 0x82, 0x01, 0x2C])
        var r = BERReader(w.bytes)
        #expect(try r.readOctetString().count == 300)
    }

    @Test func responsesDecode() throws {
        // BindResponse, success.
        let bind = try LDAPResponse.decode([0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00])
        #expect(bind == LDAPResponse(messageID: 1, operation: .bind(LDAPResult(code: 0, matchedDN: "", diagnostic: ""))))
        // A search entry built the way a server sends it.
        let entry = Self.entryMessage(id: 7, dn: "uid=ana,ou=people,dc=example,dc=org", ["memberOf": ["cn=eu-ops,dc=x", "cn=us-ops,dc=x"]])
        let decoded = try LDAPResponse.decode(entry)
        guard case .searchEntry(let e) = decoded.operation else { Issue.record("\(decoded)"); return }
        #expect(decoded.messageID == 7)
        #expect(e.dn == "uid=ana,ou=people,dc=example,dc=org")
        #expect(e.strings("MEMBEROF") == ["cn=eu-ops,dc=x", "cn=us-ops,dc=x"])
        // ExtendedResponse with a responseName, and a result carrying a referral.
        var w = BERWriter()
        w.constructed(.sequence) { m in
            m.integer(3)
            m.constructed(.application(24, constructed: true)) { b in
                b.enumerated(0); b.octetString(""); b.octetString("ok")
                b.octetString(LDAPRequest.startTLSOID, tag: .context(10, constructed: false))
            }
        }
        #expect(try LDAPResponse.decode(w.bytes).operation == .extended(LDAPResult(code: 0, matchedDN: "", diagnostic: "ok"), name: LDAPRequest.startTLSOID))
    }

    @Test func hostileHeadersAreRefused() {
        // Indefinite length, a 5-byte length, a length past the limit, multi-byte tags.
        for bytes: [UInt8] in [[0x30, 0x80, 0x00, 0x00], [0x30, 0x85, 1, 2, 3, 4, 5], [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], [0x3F, 0x01, 0x00]] {
            guard case .invalid? = BERReader.header(bytes[...]) else { Issue.record("accepted \(bytes)"); continue }
            #expect(throws: BER.DecodeError.self) { try LDAPResponse.decode(bytes) }
        }
        // A length that runs past the end.
        #expect(throws: BER.DecodeError.self) { try LDAPResponse.decode([0x30, 0x7F, 0x02, 0x01, 0x01]) }
        // An integer of 9 bytes.
        #expect(throws: BER.DecodeError.self) { try LDAPResponse.decode([0x30, 0x0B, 0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9]) }
    }

    @Test func everyTruncationThrows() throws {
        for message in Self.samples() {
            _ = try LDAPResponse.decode(message)
            for n in 0..<message.count {
                #expect(throws: BER.DecodeError.self) { try LDAPResponse.decode(Array(message.prefix(n))) }
            }
        }
    }

    @Test func randomAndMutatedBytesNeverTrap() {
        var rng = SplitMix(seed: 14)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 64)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? LDAPResponse.decode(bytes)
            _ = BERReader.header(bytes[...])
        }
        let samples = Self.samples()
        for i in 0..<20_000 {
            var m = samples[i % samples.count]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                m[Int(rng.next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            // Structure-aware: a start byte of 0x30 and a sane length more often reach the deep parts.
            _ = try? LDAPResponse.decode(m)
        }
    }

    @Test func filtersParseAndEncode() throws {
        #expect(try LDAPFilter.parse("(uid=ana)") == .equal("uid", Array("ana".utf8)))
        #expect(try LDAPFilter.parse("(objectClass=*)") == .present("objectClass"))
        #expect(try LDAPFilter.parse("(&(objectClass=groupOfNames)(member=uid=a\\2cb))")
            == .and([.equal("objectClass", Array("groupOfNames".utf8)), .equal("member", Array("uid=a,b".utf8))]))
        #expect(try LDAPFilter.parse("(|(!(cn=a*b*c))(n>=3)(n<=4)(cn~=x))") == .or([
            .not(.substrings("cn", initial: Array("a".utf8), any: [Array("b".utf8)], final: Array("c".utf8))),
            .greaterOrEqual("n", [0x33]), .lessOrEqual("n", [0x34]), .approx("cn", [0x78]),
        ]))
        var w = BERWriter()
        LDAPFilter.present("cn").encode(&w)
        #expect(w.bytes == [0x87, 0x02, 0x63, 0x6E])
        w = BERWriter()
        LDAPFilter.equal("cn", [0x61]).encode(&w)
        #expect(w.bytes == [0xA3, 0x07, 0x04, 0x02, 0x63, 0x6E, 0x04, 0x01, 0x61])
        for bad in ["", "uid=a", "(uid=a", "(uid=a))", "(&)", "(=a)", "(uid=a(b)", "(uid=\\zz)", "(cn:=x)", "(n>=a*)",
                    String(repeating: "(!", count: 40) + "(a=b)" + String(repeating: ")", count: 40)] {
            #expect(throws: LDAPFilter.ParseError.self, "\(bad)") { try LDAPFilter.parse(bad) }
        }
    }

    @Test func randomFilterTextNeverTraps() {
        var rng = SplitMix(seed: 4515)
        let alphabet = Array("()&|!=*~<>\\:abc019 ".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 40)
            let text = String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self)
            if let f = try? LDAPFilter.parse(text) {
                var w = BERWriter()
                f.encode(&w)
                #expect(!w.bytes.isEmpty)
            }
        }
    }

    /// A login name can never change a filter's structure or a DN's position in the tree.
    @Test func injectionIsEscaped() throws {
        let evil = "*)(uid=*))(|(uid=*"
        let escaped = LDAPEscape.filterValue(evil)
        #expect(!escaped.contains("*") && !escaped.contains("(") && !escaped.contains(")"))
        #expect(try LDAPFilter.parse("(uid=\(escaped))") == .equal("uid", Array(evil.utf8)))
        #expect(try LDAPFilter.parse("(&(objectClass=person)(uid=\(LDAPEscape.filterValue("a\\2a\u{0}é"))))")
            == .and([.equal("objectClass", Array("person".utf8)), .equal("uid", Array("a\\2a\u{0}é".utf8))]))
        var rng = SplitMix(seed: 4514)
        for _ in 0..<5_000 {
            let s = String(decoding: (0..<Int(rng.next() % 12)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 128) }, as: UTF8.self)
            #expect(try LDAPFilter.parse("(uid=\(LDAPEscape.filterValue(s)))") == .equal("uid", Array(s.utf8)))
            #expect(Self.unescapeDN(LDAPEscape.dnValue(s)) == Array(s.utf8))
        }
        #expect(LDAPEscape.dnValue("ana,ou=admins") == "ana\\,ou\\=admins")
        #expect(LDAPEscape.dnValue(" #x ") == "\\ #x\\ ")
        #expect(LDAPEscape.dnValue("#x+y<z>;\"\\") == "\\#x\\+y\\<z\\>\\;\\\"\\\\")
        var o = LDAPOptions()
        o.bindDN = "uid={user},ou=people,dc=example,dc=org"
        #expect(o.userDN("x,ou=admins") == "uid=x\\,ou\\=admins,ou=people,dc=example,dc=org")
    }

    /// RFC 4514 unescaping, and a check that no special character is left unescaped.
    static func unescapeDN(_ s: String) -> [UInt8]? {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                if let h = LDAPFilter.hexDigit(b[i + 1]), i + 2 < b.count, let l = LDAPFilter.hexDigit(b[i + 2]) {
                    out.append(h << 4 | l); i += 3
                } else { out.append(b[i + 1]); i += 2 }
            } else {
                if Array(",+\"<>;=\u{0}".utf8).contains(b[i]) { return nil }
                out.append(b[i]); i += 1
            }
        }
        return out
    }

    static func entryMessage(id: Int64, dn: String, _ attrs: [String: [String]]) -> [UInt8] {
        var w = BERWriter()
        w.constructed(.sequence) { m in
            m.integer(id)
            m.constructed(.application(4, constructed: true)) { e in
                e.octetString(dn)
                e.constructed(.sequence) { list in
                    for (k, vs) in attrs.sorted(by: { $0.key < $1.key }) {
                        list.constructed(.sequence) { a in
                            a.octetString(k)
                            a.constructed(.set) { set in for v in vs { set.octetString(v) } }
                        }
                    }
                }
            }
        }
        return w.bytes
    }

    static func samples() -> [[UInt8]] {
        var done = BERWriter()
        done.constructed(.sequence) { m in
            m.integer(9)
            m.constructed(.application(5, constructed: true)) { b in b.enumerated(49); b.octetString("dc=x"); b.octetString("invalid credentials") }
        }
        return [
            [0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00],
            entryMessage(id: 7, dn: "uid=ana,dc=x", ["memberOf": ["cn=a", "cn=b"], "cn": ["Ana"]]),
            done.bytes,
        ]
    }
}
