// sort() and sort_desc(): only an instant query has an order to give (a range query's series are
// sorted by labels), so they reorder a single step only.

extension Evaluator {
    func evalSort(_ c: Call, _ ctx: Ctx, descending desc: Bool) throws(PromQLError) -> Val {
        var v = try evalVector(c.args[0], ctx)
        if ctx.n == 1 {
            v.sort { a, b in
                let x = a.vals[0], y = b.vals[0]
                if x.isNaN || isAbsent(x) { return false }
                if y.isNaN || isAbsent(y) { return true }
                return desc ? x > y : x < y
            }
        }
        return .vector(v)
    }
}
