import Storage

// Recursive descent over the lexer's tokens into `Expr`, with Prometheus' precedence and error
// positions; each node is type-checked (TypeCheck.swift) as soon as it is built.

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
            try checkAggregate(op, args, start: t.pos, argPos: argPos)
            return .aggregate(AggregateExpr(op: op, expr: args[args.count - 1], param: op.hasParam ? args[0] : nil,
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
}
