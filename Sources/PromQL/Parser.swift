import Storage

public enum ErrorType: String, Sendable {
    case badData = "bad_data", execution, timeout, canceled, `internal`
}

public struct PromQLError: Error, Sendable, CustomStringConvertible {
    public let type: ErrorType
    public let message: String
    public init(_ type: ErrorType, _ message: String) {
        self.type = type
        self.message = message
    }
    public init(type: ErrorType, message: String) {
        self.type = type
        self.message = message
    }
    public var description: String { message }
}

// MARK: - Lexer

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

/// Go's `strconv.ParseInt(s, 0, 64)` falling back to `ParseFloat`, as the PromQL parser does.
func parseGoNumber(_ s: String) -> Double? {
    let lower = s.lowercased()
    if lower.hasPrefix("0x") {
        guard let v = UInt64(lower.dropFirst(2), radix: 16) else { return nil }
        return Double(v)
    }
    if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy({ $0 >= "0" && $0 <= "7" }) {
        return Int64(lower.dropFirst(), radix: 8).map(Double.init)
    }
    guard let f = lower.first, f.isNumber || f == "." else { return nil }
    for ch in lower where !(ch.isNumber || ch == "." || ch == "e" || ch == "+" || ch == "-") { return nil }
    return Double(lower)
}

func parseError(_ input: String, _ pos: Int, _ msg: String) -> PromQLError {
    let bytes = Array(input.utf8)
    var line = 1
    var lastBreak = -1
    let p = Swift.min(pos, bytes.count)
    for k in 0..<p where bytes[k] == 10 { line += 1; lastBreak = k }
    return PromQLError(.badData, "\(line):\(p - lastBreak): parse error: \(msg)")
}

// MARK: - Parser

public func parseExpr(_ input: String) throws(PromQLError) -> Expr {
    var p = try Parser(input)
    // Prometheus' wording for an empty (or all-comment) query.
    if p.tok.kind == .eof { throw p.err(0, "no expression found in input") }
    let e = try p.parseExpr(0)
    if p.tok.kind != .eof { throw p.unexpected() }
    return e
}

struct Parser {
    var lx: Lexer
    var tok: Token
    // Evaluation and printing recurse over the tree; bound it so no query can exhaust the stack.
    static let maxNesting = 200
    static let maxOperators = 1000
    var nesting = 0
    var operators = 0

    init(_ input: String) throws(PromQLError) {
        lx = Lexer(input)
        tok = Token(kind: .eof, text: "", pos: 0)
        tok = try lx.next()
    }

    mutating func advance() throws(PromQLError) { tok = try lx.next() }

    func err(_ pos: Int, _ msg: String) -> PromQLError { parseError(lx.input, pos, msg) }

    func unexpected(_ context: String = "", _ expected: String = "") -> PromQLError {
        var m = "unexpected \(tok.desc)"
        if !context.isEmpty { m += " in \(context)" }
        if !expected.isEmpty { m += ", expected \(expected)" }
        return err(tok.pos, m)
    }

    mutating func expect(_ k: TokKind, _ context: String, _ expected: String) throws(PromQLError) {
        if tok.kind != k { throw unexpected(context, expected) }
        try advance()
    }

    mutating func parseExpr(_ minPrec: Int) throws(PromQLError) -> Expr {
        let start = tok.pos
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Parser.maxNesting {
            throw err(start, "expression nested more than \(Parser.maxNesting) levels deep; simplify the query")
        }
        var lhs = try parseUnary()
        while case .op(let op) = tok.kind, op.precedence >= minPrec {
            let opPos = tok.pos
            operators += 1
            if operators > Parser.maxOperators {
                throw err(opPos, "expression has more than \(Parser.maxOperators) binary operators; split the query")
            }
            try advance()
            var returnBool = false
            if case .keyword("bool") = tok.kind {
                returnBool = true
                try advance()
            }
            var matching = VectorMatching()
            var sawMatching = false
            if case .keyword(let k) = tok.kind, k == "on" || k == "ignoring" {
                let kwPos = tok.pos
                try advance()
                matching.on = k == "on"
                matching.labels = try parseLabelList("grouping opts")
                sawMatching = true
                _ = kwPos
                if case .keyword(let g) = tok.kind, g == "group_left" || g == "group_right" {
                    try advance()
                    matching.card = g == "group_left" ? .manyToOne : .oneToMany
                    if tok.kind == .lparen { matching.include = try parseLabelList("grouping opts") }
                }
            } else if case .keyword(let g) = tok.kind, g == "group_left" || g == "group_right" {
                throw unexpected("binary expression")
            }
            let rhsStart = tok.pos
            let rhs = try parseExpr(op == .pow ? op.precedence : op.precedence + 1)
            var be = BinaryExpr(op: op, lhs: lhs, rhs: rhs, returnBool: returnBool, matching: nil)
            if lhs.type == .vector && rhs.type == .vector || sawMatching {
                if op.isSetOperator && matching.card == .oneToOne { matching.card = .manyToMany }
                be.matching = matching
            }
            lhs = .binary(be)
            try checkBinary(be, start: start, opPos: opPos, rhsStart: rhsStart)
        }
        return lhs
    }

    mutating func parseUnary() throws(PromQLError) -> Expr {
        if case .op(let op) = tok.kind, op == .add || op == .sub {
            let start = tok.pos
            try advance()
            let e = try parseExpr(BinaryOp.pow.precedence)
            if case .number(let v) = e { return .number(op == .sub ? -v : v) }
            if e.type != .scalar && e.type != .vector {
                throw err(start, "unary expression only allowed on expressions of type scalar or instant vector, got \(goQuote(e.type.rawValue))")
            }
            return .unary(op, e)
        }
        return try parsePostfix()
    }

    mutating func parsePostfix() throws(PromQLError) -> Expr {
        let start = tok.pos
        var e = try parsePrimary()
        while true {
            switch tok.kind {
            case .lbracket:
                let bpos = tok.pos
                try advance()
                guard tok.kind == .duration else {
                    if tok.kind == .op(.sub) { throw err(tok.pos, "missing unit character in duration") }
                    throw unexpected("range selector", "duration")
                }
                let range = tok.dur
                if range <= 0 { throw err(tok.pos, "duration must be greater than 0") }
                try advance()
                if tok.kind == .rbracket {
                    try advance()
                    guard case .vectorSelector(let vs) = e else {
                        throw err(bpos, "ranges only allowed for vector selectors")
                    }
                    if vs.offset != 0 || vs.at != nil { throw err(bpos, "no offset modifiers allowed before range") }
                    e = .matrixSelector(vs, range: range)
                } else if tok.kind == .colon {
                    try advance()
                    var step: Int64 = 0
                    if tok.kind == .duration {
                        step = tok.dur
                        if step <= 0 { throw err(tok.pos, "duration must be greater than 0") }
                        try advance()
                    }
                    if tok.kind == .colon { throw err(tok.pos, "unexpected colon ':'") }
                    try expect(.rbracket, "subquery selector", "\"]\"")
                    if e.type != .vector {
                        let t = e.type == .matrix ? "matrix" : e.type == .vector ? "vector" : e.type.rawValue
                        throw err(start, "subquery is only allowed on instant vector, got \(t) instead")
                    }
                    e = .subquery(SubqueryExpr(expr: e, range: range, step: step))
                } else {
                    throw unexpected("range selector", "\"]\" or \":\"")
                }
            case .keyword("offset"):
                let opos = tok.pos
                try advance()
                var neg = false
                if case .op(let o) = tok.kind, o == .sub || o == .add { neg = o == .sub; try advance() }
                guard tok.kind == .duration else { throw unexpected("offset", "duration") }
                if tok.dur == 0 { throw err(tok.pos, "duration must be greater than 0") }
                let d = neg ? -tok.dur : tok.dur
                try advance()
                switch e {
                case .vectorSelector(var vs):
                    if vs.offset != 0 { throw err(start, "offset may not be set multiple times") }
                    vs.offset = d; e = .vectorSelector(vs)
                case .matrixSelector(var vs, let r):
                    if vs.offset != 0 { throw err(start, "offset may not be set multiple times") }
                    vs.offset = d; e = .matrixSelector(vs, range: r)
                case .subquery(var s):
                    if s.offset != 0 { throw err(start, "offset may not be set multiple times") }
                    s.offset = d; e = .subquery(s)
                default:
                    throw err(opos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery")
                }
            case .at:
                let apos = tok.pos
                try advance()
                var at: AtModifier
                var sign = 1.0
                if case .op(let o) = tok.kind, o == .sub || o == .add { sign = o == .sub ? -1 : 1; try advance() }
                if tok.kind == .number {
                    let v = tok.num * sign
                    guard let ms = TimeMath.timestamp(seconds: v) else {
                        throw err(start, "timestamp out of bounds for @ modifier: \(goFixed6(v))")
                    }
                    at = .timestamp(ms)
                    try advance()
                } else if tok.kind == .ident, tok.text == "start" || tok.text == "end" {
                    at = tok.text == "start" ? .start : .end
                    try advance()
                    try expect(.lparen, "@", "timestamp")
                    try expect(.rparen, "@", "timestamp")
                } else {
                    throw unexpected("@", "timestamp")
                }
                switch e {
                case .vectorSelector(var vs):
                    if vs.at != nil { throw err(start, "@ <timestamp> may not be set multiple times") }
                    vs.at = at; e = .vectorSelector(vs)
                case .matrixSelector(var vs, let r):
                    if vs.at != nil { throw err(start, "@ <timestamp> may not be set multiple times") }
                    vs.at = at; e = .matrixSelector(vs, range: r)
                case .subquery(var s):
                    if s.at != nil { throw err(start, "@ <timestamp> may not be set multiple times") }
                    s.at = at; e = .subquery(s)
                default:
                    throw err(apos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery")
                }
            default:
                return e
            }
        }
    }

    mutating func parsePrimary() throws(PromQLError) -> Expr {
        let t = tok
        switch t.kind {
        case .number:
            try advance()
            return .number(t.num)
        case .string:
            try advance()
            return .string(t.text)
        case .lparen:
            try advance()
            let e = try parseExpr(0)
            try expect(.rparen, "paren expression", "\")\"")
            return .paren(e)
        case .lbrace:
            let ms = try parseMatchers()
            return .vectorSelector(try makeSelector(name: nil, ms, pos: t.pos))
        case .ident:
            try advance()
            if tok.kind == .lparen {
                guard let fn = functions[t.text] else { throw err(t.pos, "unknown function with name \(goQuote(t.text))") }
                try advance()
                var args: [Expr] = []
                var argPos: [Int] = []
                if tok.kind != .rparen {
                    while true {
                        argPos.append(tok.pos)
                        args.append(try parseExpr(0))
                        if tok.kind == .comma { try advance(); if tok.kind == .rparen { break }; continue }
                        break
                    }
                }
                try expect(.rparen, "function call", "\")\"")
                let call = Call(function: t.text, args: args)
                try checkCall(call, fn, start: t.pos, argPos: argPos)
                return .call(call)
            }
            return try selectorAfterName(t)
        case .op(let o) where o == .land || o == .lor || o == .lunless:
            // Prometheus' grammar lets these keywords name a metric where an expression starts.
            try advance()
            return try selectorAfterName(t)
        case .keyword(let k) where k == "by" || k == "without" || k == "offset":
            try advance()
            return try selectorAfterName(t)
        case .aggregator(let op):
            try advance()
            if tok.kind != .lparen, tok.kind != .keyword("by"), tok.kind != .keyword("without") {
                return try selectorAfterName(t)
            }
            var grouping: [String] = []
            var without = false
            var sawGrouping = false
            if case .keyword(let k) = tok.kind, k == "by" || k == "without" {
                try advance()
                without = k == "without"
                grouping = try parseLabelList("grouping opts")
                sawGrouping = true
            }
            guard tok.kind == .lparen else { throw unexpected("aggregation", "\"(\"") }
            try advance()
            var args: [Expr] = []
            var argPos: [Int] = []
            if tok.kind != .rparen {
                while true {
                    argPos.append(tok.pos)
                    args.append(try parseExpr(0))
                    if tok.kind == .comma { try advance(); if tok.kind == .rparen { break }; continue }
                    break
                }
            }
            try expect(.rparen, "aggregation", "\")\"")
            if !sawGrouping, case .keyword(let k) = tok.kind, k == "by" || k == "without" {
                try advance()
                without = k == "without"
                grouping = try parseLabelList("grouping opts")
            }
            let want = op.hasParam ? 2 : 1
            if args.isEmpty { throw err(t.pos, "no arguments for aggregate expression provided") }
            if args.count != want {
                throw err(t.pos, "wrong number of arguments for aggregate expression provided, expected \(want), got \(args.count)")
            }
            let expr = args[want - 1]
            if expr.type != .vector {
                throw err(argPos[want - 1], "expected type instant vector in aggregation expression, got \(expr.type.rawValue)")
            }
            if op.hasParam {
                let want: ValueType = op == .countValues ? .string : .scalar
                if args[0].type != want {
                    throw err(argPos[0], "expected type \(want.rawValue) in aggregation parameter, got \(args[0].type.rawValue)")
                }
            }
            return .aggregate(AggregateExpr(op: op, expr: expr, param: op.hasParam ? args[0] : nil,
                                            grouping: grouping, without: without))
        case .eof:
            throw unexpected()
        default:
            throw unexpected()
        }
    }

    mutating func selectorAfterName(_ t: Token) throws(PromQLError) -> Expr {
        var ms: [(String, MatchType, String, Int)] = []
        if tok.kind == .lbrace { ms = try parseMatchers() }
        return .vectorSelector(try makeSelector(name: t.text, ms, pos: t.pos))
    }

    func labelNameToken() -> String? {
        switch tok.kind {
        case .ident, .keyword, .aggregator: return tok.text
        case .op(let o) where o == .land || o == .lor || o == .lunless || o == .atan2: return tok.text
        case .number where tok.text.lowercased() == "inf" || tok.text.lowercased() == "nan": return tok.text
        default: return nil
        }
    }

    mutating func parseLabelList(_ context: String) throws(PromQLError) -> [String] {
        try expect(.lparen, context, "\"(\"")
        var out: [String] = []
        while tok.kind != .rparen {
            guard let n = labelNameToken(), isValidLabelName(n) else { throw unexpected(context, "label") }
            out.append(n)
            try advance()
            if tok.kind == .comma { try advance(); continue }
            if tok.kind != .rparen { throw unexpected(context, "\",\" or \")\"") }
        }
        try advance()
        return out
    }

    mutating func parseMatchers() throws(PromQLError) -> [(String, MatchType, String, Int)] {
        try expect(.lbrace, "label matching", "\"{\"")
        var out: [(String, MatchType, String, Int)] = []
        while tok.kind != .rbrace {
            guard let n = labelNameToken() else { throw unexpected("label matching", "label matching") }
            let pos = tok.pos
            try advance()
            let mt: MatchType
            switch tok.kind {
            case .assign: mt = .equal
            case .op(.neq): mt = .notEqual
            case .eqlRegex: mt = .regexMatch
            case .neqRegex: mt = .regexNoMatch
            default: throw unexpected("label matching", "label matching operator")
            }
            try advance()
            guard tok.kind == .string else { throw unexpected("label matching", "string") }
            out.append((n, mt, tok.text, pos))
            try advance()
            if tok.kind == .comma { try advance(); continue }
            if tok.kind != .rbrace { throw unexpected("label matching", "\",\" or \"}\"") }
        }
        try advance()
        return out
    }

    func makeSelector(name: String?, _ raw: [(String, MatchType, String, Int)], pos: Int) throws(PromQLError) -> VectorSelector {
        var ms: [LabelMatcher] = []
        for (n, t, v, p) in raw {
            if let name, n == Labels.metricName {
                throw err(pos, "metric name must not be set twice: \(goQuote(name)) or \(goQuote(v))")
            }
            do {
                ms.append(try LabelMatcher(t, n, v))
            } catch {
                throw err(p, "\(error)")
            }
        }
        if let name { ms.append(.equal(Labels.metricName, name)) }
        if !ms.contains(where: { !$0.matchesEmpty }) {
            throw err(pos, "vector selector must contain at least one non-empty matcher")
        }
        return VectorSelector(name: name, matchers: ms)
    }

    // MARK: type checks, as Prometheus' checkAST, at the positions it reports

    func checkBinary(_ b: BinaryExpr, start: Int, opPos: Int, rhsStart: Int) throws(PromQLError) {
        let lt = b.lhs.type, rt = b.rhs.type
        if b.returnBool && !b.op.isComparison {
            throw err(opPos, "bool modifier can only be used on comparison operators")
        }
        if b.op.isComparison && !b.returnBool && lt == .scalar && rt == .scalar {
            throw err(opPos, "comparisons between scalars must use BOOL modifier")
        }
        if b.op.isSetOperator && (lt == .scalar || rt == .scalar) {
            throw err(start, "set operator \"\(b.op.rawValue)\" not allowed in binary scalar expression")
        }
        for (t, p) in [(lt, start), (rt, rhsStart)] where t != .scalar && t != .vector {
            throw err(p, "binary expression must contain only scalar and instant vector types")
        }
        if let m = b.matching {
            if !(lt == .vector && rt == .vector) {
                throw err(start, "vector matching only allowed between instant vectors")
            }
            if b.op.isSetOperator && (m.card == .oneToMany || m.card == .manyToOne) {
                throw err(start, "no grouping allowed for \"\(b.op.rawValue)\" operation")
            }
            if m.on {
                for l in m.include where m.labels.contains(l) {
                    throw err(opPos, "label \(goQuote(l)) must not occur in ON and GROUP clause at once")
                }
            }
        }
    }

    func checkCall(_ c: Call, _ fn: FunctionDef, start: Int, argPos: [Int]) throws(PromQLError) {
        let n = c.args.count
        if fn.variadic == 0 {
            if n != fn.args.count {
                throw err(start, "expected \(fn.args.count) argument(s) in call to \(goQuote(c.function)), got \(n)")
            }
        } else {
            let minArgs = fn.args.count - 1
            if n < minArgs {
                throw err(start, "expected at least \(minArgs) argument(s) in call to \(goQuote(c.function)), got \(n)")
            }
            if fn.variadic > 0 && n > minArgs + fn.variadic {
                throw err(start, "expected at most \(minArgs + fn.variadic) argument(s) in call to \(goQuote(c.function)), got \(n)")
            }
        }
        for (i, a) in c.args.enumerated() {
            let want = i < fn.args.count ? fn.args[i] : fn.args[fn.args.count - 1]
            if a.type != want {
                throw err(argPos[i], "expected type \(want.rawValue) in call to function \(goQuote(c.function)), got \(a.type.rawValue)")
            }
        }
    }
}
