extension Expr {
    /// Every vector and matrix selector in the expression, in source order: what it reads.
    public var selectors: [VectorSelector] {
        var out: [VectorSelector] = []
        collectSelectors(into: &out)
        return out
    }

    private func collectSelectors(into out: inout [VectorSelector]) {
        switch self {
        case .number, .string: break
        case .vectorSelector(let s), .matrixSelector(let s, _): out.append(s)
        case .subquery(let s): s.expr.collectSelectors(into: &out)
        case .paren(let e), .unary(_, let e): e.collectSelectors(into: &out)
        case .binary(let b):
            b.lhs.collectSelectors(into: &out)
            b.rhs.collectSelectors(into: &out)
        case .aggregate(let a):
            a.param?.collectSelectors(into: &out)
            a.expr.collectSelectors(into: &out)
        case .call(let c): for a in c.args { a.collectSelectors(into: &out) }
        }
    }
}
