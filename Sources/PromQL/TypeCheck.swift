// MARK: type checks, as Prometheus' checkAST, at the positions it reports

extension Parser {
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

    /// Argument count and types of an aggregation (`op.hasParam`: a parameter before the vector).
    func checkAggregate(_ op: AggregateOp, _ args: [Expr], start: Int, argPos: [Int]) throws(PromQLError) {
        let want = op.hasParam ? 2 : 1
        if args.isEmpty { throw err(start, "no arguments for aggregate expression provided") }
        if args.count != want {
            throw err(start, "wrong number of arguments for aggregate expression provided, expected \(want), got \(args.count)")
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
