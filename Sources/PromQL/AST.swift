import Storage

/// The four PromQL value types, named as Prometheus names them in error messages.
public enum ValueType: String, Sendable {
    case scalar = "scalar"
    case vector = "instant vector"
    case matrix = "range vector"
    case string = "string"
}

/// `@` modifier: a fixed timestamp (ms) or the query's start/end.
public enum AtModifier: Sendable, Equatable {
    case timestamp(Int64)
    case start
    case end
}

public struct VectorSelector: Sendable, Equatable {
    public var name: String?
    /// All matchers, including the `__name__` equality implied by `name`.
    public var matchers: [LabelMatcher]
    public var offset: Int64 = 0
    public var at: AtModifier?
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^", atan2 = "atan2"
    case eql = "==", neq = "!=", gtr = ">", lss = "<", gte = ">=", lte = "<="
    case land = "and", lor = "or", lunless = "unless"

    var precedence: Int {
        switch self {
        case .lor: return 1
        case .land, .lunless: return 2
        case .eql, .neq, .gtr, .lss, .gte, .lte: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod, .atan2: return 5
        case .pow: return 6
        }
    }
    var isComparison: Bool {
        switch self {
        case .eql, .neq, .gtr, .lss, .gte, .lte: return true
        default: return false
        }
    }
    var isSetOperator: Bool { self == .land || self == .lor || self == .lunless }
}

public enum Cardinality: Sendable, Equatable { case oneToOne, manyToOne, oneToMany, manyToMany }

public struct VectorMatching: Sendable, Equatable {
    public var card: Cardinality = .oneToOne
    public var on = false
    public var labels: [String] = []
    /// Labels copied from the "one" side by group_left/group_right.
    public var include: [String] = []
}

public struct BinaryExpr: Sendable, Equatable {
    public var op: BinaryOp
    public var lhs: Expr
    public var rhs: Expr
    public var returnBool = false
    /// nil when at least one side is a scalar.
    public var matching: VectorMatching?
}

public enum AggregateOp: String, Sendable, CaseIterable {
    case sum, min, max, avg, group, stddev, stdvar, count
    case countValues = "count_values", bottomk, topk, quantile

    var hasParam: Bool { self == .countValues || self == .bottomk || self == .topk || self == .quantile }
}

public struct AggregateExpr: Sendable, Equatable {
    public var op: AggregateOp
    public var expr: Expr
    public var param: Expr?
    public var grouping: [String] = []
    public var without = false
}

public struct SubqueryExpr: Sendable, Equatable {
    public var expr: Expr
    public var range: Int64
    /// 0 means "the default evaluation interval".
    public var step: Int64
    public var offset: Int64 = 0
    public var at: AtModifier?
}

public struct Call: Sendable, Equatable {
    public var function: String
    public var args: [Expr]
}

public indirect enum Expr: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case vectorSelector(VectorSelector)
    case matrixSelector(VectorSelector, range: Int64)
    case subquery(SubqueryExpr)
    case paren(Expr)
    case unary(BinaryOp, Expr)  // .add or .sub
    case binary(BinaryExpr)
    case aggregate(AggregateExpr)
    case call(Call)

    public var type: ValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector: return .vector
        case .matrixSelector, .subquery: return .matrix
        case .paren(let e), .unary(_, let e): return e.type
        case .binary(let b): return (b.lhs.type == .scalar && b.rhs.type == .scalar) ? .scalar : .vector
        case .aggregate: return .vector
        case .call(let c): return functions[c.function]?.returns ?? .vector
        }
    }

    public static func == (a: Expr, b: Expr) -> Bool {
        switch (a, b) {
        // Bit equality so that NaN literals compare equal in round-trip tests.
        case (.number(let x), .number(let y)): return x.bitPattern == y.bitPattern || x == y
        case (.string(let x), .string(let y)): return x == y
        case (.vectorSelector(let x), .vectorSelector(let y)): return x == y
        case (.matrixSelector(let x, let r1), .matrixSelector(let y, let r2)): return x == y && r1 == r2
        case (.subquery(let x), .subquery(let y)): return x == y
        case (.paren(let x), .paren(let y)): return x == y
        case (.unary(let o1, let x), .unary(let o2, let y)): return o1 == o2 && x == y
        case (.binary(let x), .binary(let y)): return x == y
        case (.aggregate(let x), .aggregate(let y)): return x == y
        case (.call(let x), .call(let y)): return x == y
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .number(let v): return formatGoFloat(v)
        case .string(let s): return goQuote(s)
        case .vectorSelector(let vs): return vs.selectorString + atOffsetString(vs.at, vs.offset)
        case .matrixSelector(let vs, let r):
            return vs.selectorString + "[\(formatDuration(r))]" + atOffsetString(vs.at, vs.offset)
        case .subquery(let s):
            let step = s.step == 0 ? "" : formatDuration(s.step)
            return "\(s.expr)[\(formatDuration(s.range)):\(step)]" + atOffsetString(s.at, s.offset)
        case .paren(let e): return "(\(e))"
        case .unary(let op, let e): return "\(op.rawValue)\(e)"
        case .binary(let b):
            var s = "\(b.lhs) \(b.op.rawValue)"
            if b.returnBool { s += " bool" }
            if let m = b.matching {
                if m.on {
                    s += " on(\(m.labels.joined(separator: ", ")))"
                } else if !m.labels.isEmpty {
                    s += " ignoring(\(m.labels.joined(separator: ", ")))"
                }
                if m.card == .manyToOne || m.card == .oneToMany {
                    s += m.card == .manyToOne ? " group_left" : " group_right"
                    s += "(\(m.include.joined(separator: ", ")))"
                }
            }
            return s + " \(b.rhs)"
        case .aggregate(let a):
            var s = a.op.rawValue
            if a.without {
                s += " without(\(a.grouping.joined(separator: ", "))) "
            } else if !a.grouping.isEmpty {
                s += " by(\(a.grouping.joined(separator: ", "))) "
            }
            s += "("
            if let p = a.param { s += "\(p), " }
            return s + "\(a.expr))"
        case .call(let c):
            return "\(c.function)(\(c.args.map(\.description).joined(separator: ", ")))"
        }
    }
}

extension VectorSelector {
    var selectorString: String {
        var parts: [String] = []
        for m in matchers {
            if let n = name, m.name == Labels.metricName, m.type == .equal, m.value == n { continue }
            parts.append("\(m.name)\(m.type.rawValue)\(goQuote(m.value))")
        }
        if parts.isEmpty { return name ?? "{}" }
        return (name ?? "") + "{" + parts.joined(separator: ",") + "}"
    }
}

func atOffsetString(_ at: AtModifier?, _ offset: Int64) -> String {
    var s = ""
    switch at {
    case .timestamp(let t)?:
        let secs = t / 1000, ms = abs(t % 1000)
        let sign = (t < 0 && secs == 0) ? "-" : ""
        s += " @ \(sign)\(secs).\(ms < 10 ? "00" : ms < 100 ? "0" : "")\(ms)"
    case .start?: s += " @ start()"
    case .end?: s += " @ end()"
    case nil: break
    }
    if offset > 0 { s += " offset \(formatDuration(offset))" }
    if offset < 0 { s += " offset -\(formatDuration(-offset))" }
    return s
}

/// Go's `%q` for the characters label values and strings realistically contain.
func goQuote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\u{0B}": out += "\\v"
        default:
            if u.value < 0x20 || u.value == 0x7F {
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count < 2 ? "0" + h : h)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// A series selector as `/api/v1/series?match[]=` and friends take it (Prometheus'
/// `parser.ParseMetricSelector`): `up`, `{job="a"}`, `up{job=~"a|b"}`.
public func parseMetricSelector(_ input: String) throws(PromQLError) -> [LabelMatcher] {
    let e = try parseExpr(input)
    guard case .vectorSelector(let vs) = e, vs.offset == 0, vs.at == nil else {
        throw PromQLError(.badData, "invalid series selector \(goQuote(input)): expected a vector selector such as up{job=\"x\"}")
    }
    return vs.matchers
}

extension Expr {
    /// The same expression with `extra` added to every selector, e.g. to confine a query to the
    /// label scope a user may see. Selectors cannot escape it: the matchers are ANDed.
    public func addingMatchers(_ extra: [LabelMatcher]) -> Expr {
        switch self {
        case .vectorSelector(var vs):
            vs.matchers += extra
            return .vectorSelector(vs)
        case .matrixSelector(var vs, let r):
            vs.matchers += extra
            return .matrixSelector(vs, range: r)
        default:
            return mappingChildren { $0.addingMatchers(extra) }
        }
    }
}
