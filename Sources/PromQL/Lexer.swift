// Tokens of PromQL, as Prometheus' lexer (promql/parser/lex.go) cuts them.

enum TokKind: Equatable {
    case eof, ident, number, string, duration
    case lparen, rparen, lbrace, rbrace, lbracket, rbracket, comma, colon
    case assign          // `=` inside braces
    case eqlRegex, neqRegex
    case op(BinaryOp)
    case keyword(String) // by, without, on, ignoring, group_left, group_right, bool, offset
    case aggregator(AggregateOp)
    case at
}

struct Token {
    var kind: TokKind
    var text: String
    var pos: Int        // byte offset
    var num: Double = 0
    var dur: Int64 = 0
    /// Source text of string literals, quotes included, for error messages.
    var raw = ""

    var desc: String {
        switch kind {
        case .eof: return "end of input"
        case .ident: return "identifier \(goQuote(text))"
        case .number: return "number \(goQuote(text))"
        case .string: return "string \(goQuote(raw))"
        case .duration: return "duration \(goQuote(text))"
        case .op(let o): return "<op:\(o.rawValue)>"
        case .assign: return "<op:=>"
        case .eqlRegex: return "<op:=~>"
        case .neqRegex: return "<op:!~>"
        case .keyword(let k): return "<\(k)>"
        case .aggregator(let a): return "<aggr:\(a.rawValue)>"
        case .at: return "<@>"
        default: return goQuote(text)
        }
    }
}

private let keywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"]

struct Lexer {
    let b: [UInt8]
    let input: String
    var i = 0
    var braceDepth = 0
    var parenDepth = 0
    var bracketOpen = false

    init(_ s: String) { input = s; b = Array(s.utf8) }

    func err(_ pos: Int, _ msg: String) -> PromQLError { parseError(input, pos, msg) }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    mutating func next() throws(PromQLError) -> Token {
        // Skip whitespace and comments.
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
            if c == UInt8(ascii: "#") {
                while i < b.count, b[i] != 10 { i += 1 }
                continue
            }
            break
        }
        let start = i
        guard i < b.count else {
            if braceDepth > 0 { throw err(i, "unexpected end of input inside braces") }
            if bracketOpen { throw err(i, "unclosed left bracket") }
            if parenDepth > 0 { throw err(i, "unclosed left parenthesis") }
            return Token(kind: .eof, text: "", pos: i)
        }
        let c = b[i]
        func tok(_ k: TokKind, _ n: Int) -> Token {
            let t = Token(kind: k, text: String(decoding: b[start..<start + n], as: UTF8.self), pos: start)
            i = start + n
            return t
        }
        let n1: UInt8 = i + 1 < b.count ? b[i + 1] : 0
        switch c {
        case UInt8(ascii: "("): parenDepth += 1; return tok(.lparen, 1)
        case UInt8(ascii: ")"):
            if parenDepth == 0 { throw err(start + 1, "unexpected right parenthesis ')'") }
            parenDepth -= 1
            return tok(.rparen, 1)
        case UInt8(ascii: "{"): braceDepth += 1; return tok(.lbrace, 1)
        case UInt8(ascii: "}"): braceDepth -= 1; return tok(.rbrace, 1)
        case UInt8(ascii: "["): bracketOpen = true; return tok(.lbracket, 1)
        case UInt8(ascii: "]"):
            if !bracketOpen { throw err(start + 1, "unexpected right bracket ']'") }
            bracketOpen = false
            return tok(.rbracket, 1)
        case UInt8(ascii: ","): return tok(.comma, 1)
        case UInt8(ascii: ":") where braceDepth == 0 && !(Lexer.isAlpha(n1) || n1 == UInt8(ascii: ":")):
            return tok(.colon, 1)
        case UInt8(ascii: "@"): return tok(.at, 1)
        case UInt8(ascii: "+"): return tok(.op(.add), 1)
        case UInt8(ascii: "-"): return tok(.op(.sub), 1)
        case UInt8(ascii: "*"): return tok(.op(.mul), 1)
        case UInt8(ascii: "/"): return tok(.op(.div), 1)
        case UInt8(ascii: "%"): return tok(.op(.mod), 1)
        case UInt8(ascii: "^"): return tok(.op(.pow), 1)
        case UInt8(ascii: "="):
            if n1 == UInt8(ascii: "=") { return tok(.op(.eql), 2) }
            if n1 == UInt8(ascii: "~") { return tok(.eqlRegex, 2) }
            return tok(.assign, 1)
        case UInt8(ascii: "!"):
            if n1 == UInt8(ascii: "=") { return tok(.op(.neq), 2) }
            if n1 == UInt8(ascii: "~") { return tok(.neqRegex, 2) }
            let after = n1 == 0 ? "" : String(UnicodeScalar(n1))
            throw err(start, "unexpected character after '!'\(braceDepth > 0 ? " inside braces" : ""): '\(after)'")
        case UInt8(ascii: "<"):
            if n1 == UInt8(ascii: "=") { return tok(.op(.lte), 2) }
            return tok(.op(.lss), 1)
        case UInt8(ascii: ">"):
            if n1 == UInt8(ascii: "=") { return tok(.op(.gte), 2) }
            return tok(.op(.gtr), 1)
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            return try lexString()
        default: break
        }
        if Lexer.isDigit(c) || (c == UInt8(ascii: ".") && Lexer.isDigit(n1)) {
            return try lexNumberOrDuration()
        }
        if Lexer.isAlpha(c) || c == UInt8(ascii: ":") {
            while i < b.count, Lexer.isAlpha(b[i]) || Lexer.isDigit(b[i]) || b[i] == UInt8(ascii: ":") { i += 1 }
            let word = String(decoding: b[start..<i], as: UTF8.self)
            let lower = word.lowercased()
            if braceDepth == 0 {
                if keywords.contains(lower) { return Token(kind: .keyword(lower), text: word, pos: start) }
                if let a = AggregateOp(rawValue: lower) { return Token(kind: .aggregator(a), text: word, pos: start) }
                switch lower {
                case "and": return Token(kind: .op(.land), text: word, pos: start)
                case "or": return Token(kind: .op(.lor), text: word, pos: start)
                case "unless": return Token(kind: .op(.lunless), text: word, pos: start)
                case "atan2": return Token(kind: .op(.atan2), text: word, pos: start)
                case "inf": return Token(kind: .number, text: word, pos: start, num: .infinity)
                case "nan": return Token(kind: .number, text: word, pos: start, num: .nan)
                default: break
                }
            }
            return Token(kind: .ident, text: word, pos: start)
        }
        let scalar = String(decoding: b[start..<Swift.min(b.count, start + 1)], as: UTF8.self)
        throw err(start, "unexpected character: \(goQuote(scalar))")
    }

    mutating func lexNumberOrDuration() throws(PromQLError) -> Token {
        let start = i
        while i < b.count {
            let c = b[i]
            if Lexer.isAlpha(c) || Lexer.isDigit(c) || c == UInt8(ascii: ".") {
                i += 1
            } else if (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")), i > start,
                      b[i - 1] == UInt8(ascii: "e") || b[i - 1] == UInt8(ascii: "E"),
                      !(b[start] == UInt8(ascii: "0") && i > start + 1 && (b[start + 1] | 0x20) == UInt8(ascii: "x")) {
                i += 1
            } else {
                break
            }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        if let v = parseGoNumber(text) {
            // Go's ParseFloat refuses what rounds to ±Inf; only `Inf` itself spells infinity.
            if v.isInfinite { throw err(start, "error parsing number: strconv.ParseFloat: parsing \(goQuote(text)): value out of range") }
            return Token(kind: .number, text: text, pos: start, num: v)
        }
        switch parsePromDuration(text) {
        case .success(let d): return Token(kind: .duration, text: text, pos: start, dur: d)
        case .failure(.outOfRange): throw err(start, "duration out of range")
        case .failure(.syntax): break
        }
        if text.utf8.allSatisfy({ Lexer.isDigit($0) || "smhdwy".utf8.contains($0) }) {
            throw err(start, "not a valid duration string: \(goQuote(text))")
        }
        throw err(start, "bad number or duration syntax: \(goQuote(text))")
    }

    mutating func lexString() throws(PromQLError) -> Token {
        let start = i
        let q = b[i]
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw err(start, "unterminated quoted string") }
            let c = b[i]
            if c == q { i += 1; break }
            if q == UInt8(ascii: "`") { out.append(c); i += 1; continue }
            if c == 10 { throw err(start, "unterminated quoted string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw err(start, "unterminated quoted string") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "\\"): out.append(92)
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if e != q { throw err(i - 2, "unknown escape sequence") }
                out.append(e)
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let n = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
                guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<i + n], as: UTF8.self), radix: 16)
                else { throw err(i - 2, "invalid escape sequence") }
                i += n
                if e == UInt8(ascii: "x") {
                    out.append(UInt8(v))
                } else {
                    guard let u = UnicodeScalar(v) else { throw err(i - n - 2, "invalid Unicode code point in escape sequence") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                }
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= b.count, let v = UInt32(String(decoding: b[i - 1..<i + 2], as: UTF8.self), radix: 8), v < 256
                else { throw err(i - 2, "invalid escape sequence") }
                i += 2
                out.append(UInt8(v))
            default:
                let hex = String(e, radix: 16, uppercase: true)
                throw err(start, "unknown escape sequence U+\(String(repeating: "0", count: 4 - hex.count))\(hex) '\(String(UnicodeScalar(e)))'")
            }
        }
        let text = String(decoding: out, as: UTF8.self)
        return Token(kind: .string, text: text, pos: start, raw: String(decoding: b[start..<i], as: UTF8.self))
    }
}
