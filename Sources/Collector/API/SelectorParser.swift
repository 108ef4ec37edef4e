import Storage

/// Parses series selectors as the `match[]` parameter takes them: `up`, `up{job="x"}`,
/// `{__name__=~"node_.*", cluster!="a"}`. Used for `match[]` and for role scopes.
enum SelectorParser {
    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func parse(_ text: String, requireNonEmpty: Bool = true) throws(Failure) -> [LabelMatcher] {
        let b = Array(text.utf8)
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A { i += 1 } }
        func isNameByte(_ c: UInt8, colon: Bool) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || (colon && c == 0x3A)
        }
        func fail(_ m: String) -> Failure { Failure(message: "1:\(i + 1): parse error: \(m)") }
        var matchers: [LabelMatcher] = []
        skipSpace()
        let nameStart = i
        while i < b.count, isNameByte(b[i], colon: true) { i += 1 }
        if i > nameStart {
            matchers.append(.equal(Labels.metricName, String(decoding: b[nameStart..<i], as: UTF8.self)))
        }
        skipSpace()
        if i < b.count, b[i] == 0x7B {
            i += 1
            while true {
                skipSpace()
                if i < b.count, b[i] == 0x7D { i += 1; break }
                let ls = i
                while i < b.count, isNameByte(b[i], colon: false) { i += 1 }
                guard i > ls else { throw fail("unexpected character inside braces, expected a label name") }
                let name = String(decoding: b[ls..<i], as: UTF8.self)
                skipSpace()
                let op: MatchType
                if i + 1 < b.count, b[i] == 0x3D, b[i + 1] == 0x7E { op = .regexMatch; i += 2 }
                else if i + 1 < b.count, b[i] == 0x21, b[i + 1] == 0x7E { op = .regexNoMatch; i += 2 }
                else if i + 1 < b.count, b[i] == 0x21, b[i + 1] == 0x3D { op = .notEqual; i += 2 }
                else if i < b.count, b[i] == 0x3D { op = .equal; i += 1 }
                else { throw fail("expected a label matching operator after \"\(name)\"") }
                skipSpace()
                guard i < b.count, b[i] == 0x22 || b[i] == 0x27 || b[i] == 0x60 else { throw fail("expected a quoted label value after \(name)\(op.rawValue)") }
                let quote = b[i]
                i += 1
                var value: [UInt8] = []
                while true {
                    guard i < b.count else { throw fail("unterminated quoted string") }
                    let c = b[i]
                    if c == quote { i += 1; break }
                    if c == 0x5C && quote != 0x60 {
                        i += 1
                        guard i < b.count else { throw fail("unterminated escape") }
                        switch b[i] {
                        case 0x6E: value.append(0x0A)
                        case 0x74: value.append(0x09)
                        case 0x72: value.append(0x0D)
                        default: value.append(b[i])
                        }
                        i += 1
                        continue
                    }
                    value.append(c)
                    i += 1
                }
                do {
                    matchers.append(try LabelMatcher(op, name, String(decoding: value, as: UTF8.self)))
                } catch {
                    throw Failure(message: "\(error)")
                }
                skipSpace()
                if i < b.count, b[i] == 0x2C { i += 1; continue }
                if i < b.count, b[i] == 0x7D { i += 1; break }
                throw fail("expected \",\" or \"}\" in label matchers")
            }
        }
        skipSpace()
        guard i == b.count else { throw fail("unexpected input after the selector") }
        guard !matchers.isEmpty else { throw fail("no series selector found") }
        if requireNonEmpty && matchers.allSatisfy(\.matchesEmpty) {
            throw Failure(message: "match[] must contain at least one non-empty matcher")
        }
        return matchers
    }
}
