import Testing
import Storage
@testable import PromQL

/// The function registry is the only place a function is named: every entry must be complete
/// (parse, type-check and evaluate with its declared arguments), and the set must stay Prometheus 2.42's.
@Suite struct FunctionRegistryTests {
    /// An expression of each type, valid wherever that type is (strings are valid label names and regexes).
    static func argument(_ t: ValueType) -> String {
        switch t {
        case .scalar: return "0.5"
        case .vector: return "up"
        case .matrix: return "up[5m]"
        case .string: return "\"dst\""
        }
    }

    /// Argument types for every arity the entry allows (the unbounded ones up to one extra).
    static func arities(_ def: FunctionDef) -> [[ValueType]] {
        if def.variadic == 0 { return [def.args] }
        let extra = def.variadic > 0 ? def.variadic : 2
        return (def.args.count - 1...def.args.count - 1 + extra).map { n in
            (0..<n).map { $0 < def.args.count ? def.args[$0] : def.args[def.args.count - 1] }
        }
    }

    static func call(_ name: String, _ types: [ValueType]) -> String {
        "\(name)(\(types.map(argument).joined(separator: ", ")))"
    }

    @Test func namesArePrometheus242s() {
        let want: Set<String> = [
            "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil",
            "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week",
            "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
            "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
            "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month",
            "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
            "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time",
            "tan", "tanh", "time", "timestamp", "vector", "year",
        ]
        #expect(Set(functions.keys) == want)
    }

    @Test func everyEntryParsesWithItsDeclaredArguments() throws {
        for (name, def) in functions {
            for types in Self.arities(def) {
                let q = Self.call(name, types)
                let e = try parseExpr(q)
                guard case .call(let c) = e else { Issue.record("\(q) parsed as \(e)"); continue }
                #expect(c.function == name && c.args.map(\.type) == types, "\(q)")
                #expect(e.type == def.returns, "\(q)")
                #expect(try parseExpr(e.description) == e, "\(q) does not round-trip: \(e)")
            }
        }
    }

    @Test func everyEntryRejectsOtherArguments() {
        for (name, def) in functions {
            // A wrong type at each declared position.
            for i in def.args.indices {
                var types = def.args
                types[i] = def.args[i] == .vector ? .matrix : .vector
                let q = Self.call(name, types)
                #expect(throws: PromQLError.self, "\(q)") { try parseExpr(q) }
                do { _ = try parseExpr(q) } catch {
                    #expect(error.message.contains("expected type \(def.args[i].rawValue) in call to function \"\(name)\""), "\(q): \(error)")
                }
            }
            // One argument too many, unless there is no limit.
            if def.variadic >= 0 {
                let most = Self.arities(def).last!
                let q = Self.call(name, most + [most.last ?? .scalar])
                #expect(throws: PromQLError.self, "\(q)") { try parseExpr(q) }
            }
        }
    }

    @Test func everyEntryEvaluates() async throws {
        let s = MemoryStorage()
        for k in 0...40 {
            s.append(Labels(["__name__": "up", "job": "a"]), Int64(k) * 15_000, Double(k % 7))
            s.append(Labels(["__name__": "up", "job": "b"]), Int64(k) * 15_000, Double(k))
        }
        let engine = Engine()
        for (name, def) in functions {
            for types in Self.arities(def) {
                let q = Self.call(name, types)
                let instant = try await engine.instantQuery(q, at: 600_000, storage: s)
                switch (instant, def.returns) {
                case (.vector, .vector), (.scalar, .scalar): break
                default: Issue.record("\(q) gave \(instant), declared \(def.returns)")
                }
                let range = try await engine.rangeQuery(q, start: 300_000, end: 600_000, step: 60_000, storage: s)
                guard case .matrix = range else { Issue.record("\(q) as a range query gave \(range)"); continue }
            }
        }
    }

    /// Instant results keep the order `sort` gave them through the functions that keep the order
    /// of their first argument, and only through those.
    @Test func orderFollowsTheRegistry() throws {
        let ofFirstArgument: Set<String> = [
            "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
            "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad", "sgn", "clamp", "clamp_min", "clamp_max", "round",
            "timestamp", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year",
            "label_replace", "label_join",
        ]
        for (name, def) in functions where def.args.first == .vector {
            let rest = def.args.dropFirst().map(Self.argument)
            let q = "\(name)(\((["sort(up)"] + rest).joined(separator: ", ")))"
            let want = name == "sort" || name == "sort_desc" || ofFirstArgument.contains(name)
            #expect(keepsOrder(try parseExpr(q)) == want, "\(q)")
        }
        // Without an argument, the date functions read time(): nothing sorted it.
        #expect(keepsOrder(try parseExpr("hour()")) == false)
        #expect(keepsOrder(try parseExpr("sort_desc(rate(up[5m]))")) == true)
        #expect(keepsOrder(try parseExpr("rate(up[5m])")) == false)
    }
}
