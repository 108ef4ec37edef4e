import Storage

// time(), timestamp() and the calendar functions (UTC, as Prometheus computes them).

/// A registry `eval` for a date function: `f` of each value read as Unix seconds, or of the
/// step's time when the argument is omitted.
func date(_ f: @escaping @Sendable (CivilDate) -> Double) -> FunctionEval {
    { ev, c, ctx throws(PromQLError) in try ev.evalDate(c, ctx, f) }
}

extension Evaluator {
    func evalTime(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        .scalar((0..<ctx.n).map { Double(ctx.t($0)) / 1000 })
    }

    func evalTimestamp(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        let n = ctx.n
        if case .vectorSelector(let vs) = unwrapParens(c.args[0]) {
            let cols = try evalVectorSelector(vs, ctx, timestamps: true)
            return .vector(try mergeSameLabels(cols.map { Col(labels: $0.labels.withoutMetricName, vals: $0.vals) }, anyOverlapIsError: false))
        }
        let v = try evalVector(c.args[0], ctx)
        let out = v.map { col in
            Col(labels: col.labels.withoutMetricName,
                vals: (0..<n).map { isAbsent(col.vals[$0]) ? absentValue : Double(ctx.t($0)) / 1000 })
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }

    func evalDate(_ c: Call, _ ctx: Ctx, _ f: (CivilDate) -> Double) throws(PromQLError) -> Val {
        let n = ctx.n
        let v: [Col]
        if c.args.isEmpty {
            v = [Col(labels: Labels(), vals: (0..<n).map { Double(ctx.t($0)) / 1000 })]
        } else {
            v = try evalVector(c.args[0], ctx)
        }
        let out = v.map { col in
            Col(labels: col.labels.withoutMetricName, vals: col.vals.map { x -> Double in
                if isAbsent(x) { return absentValue }
                return f(civil(goInt64(x)))
            })
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }
}

// MARK: civil time (UTC), for the date functions

struct CivilDate { let year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, weekday: Int64, yday: Int64 }

func civil(_ secs: Int64) -> CivilDate {
    var days = secs / 86400
    var rem = secs % 86400
    if rem < 0 { rem += 86400; days -= 1 }
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let year = m <= 2 ? y + 1 : y
    var wd = (days + 4) % 7
    if wd < 0 { wd += 7 }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    let cum: [Int64] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    let yday = cum[Int(m - 1)] + d + (leap && m > 2 ? 1 : 0)
    return CivilDate(year: year, month: m, day: d, hour: rem / 3600, minute: (rem % 3600) / 60, weekday: wd, yday: yday)
}

func daysIn(month: Int64, year: Int64) -> Int64 {
    switch month {
    case 2: return ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}
