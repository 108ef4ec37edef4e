extension Expr {
    /// The same expression with every subquery's default step (`[5m:]`) written out as `step`
    /// ms, for a backend that would otherwise choose its own default.
    public func withSubquerySteps(_ step: Int64) -> Expr {
        let e = mappingChildren { $0.withSubquerySteps(step) }
        guard case .subquery(var s) = e, s.step == 0 else { return e }
        s.step = step
        return .subquery(s)
    }
}
