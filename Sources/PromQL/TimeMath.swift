/// The one place where numbers from requests and queries become times and durations.
///
/// Times are milliseconds since the epoch, durations milliseconds. Converting a Double with
/// `Int64(_:)` traps outside Int64's range (`time=1e300`), and sums of instants and durations trap
/// near its ends (`time=9.2e15` minus a 5m lookback), so every conversion goes through here and is
/// bounded so that later arithmetic stays far from Int64's ends:
/// - instants lie in Prometheus' `MinTime...MaxTime` (web/api/v1), about ±292 million years;
/// - durations are at most Go's `time.Duration` range (2^63-1 ns, about 292 years), which
///   Prometheus' duration parsers enforce ("duration out of range", "It overflows int64").
/// An instant plus a few durations therefore always fits; what can stack without bound (offsets of
/// nested subqueries) uses the saturating `adding`/`subtracting` below.
public enum TimeMath {
    /// Prometheus' `MinTime`: `time.Unix(math.MinInt64/1000+62135596801, 0)`, in ms.
    public static let minTime: Int64 = -9_223_309_901_257_974_000
    /// Prometheus' `MaxTime`: `time.Unix(math.MaxInt64/1000-62135596801, 999999999)`, in ms.
    public static let maxTime: Int64 = 9_223_309_901_257_974_999
    /// The longest duration, in ms: (2^63 - 1) ns.
    public static let maxDuration: Int64 = 9_223_372_036_854

    /// Seconds (the API's `time=1.5`, PromQL's `@ 1.5`) to ms, rounded to the ms like
    /// Prometheus; nil for NaN, ±Inf and instants outside `minTime...maxTime`.
    public static func timestamp(seconds s: Double) -> Int64? {
        let ms = (s * 1000).rounded()
        // Compare as Doubles before converting: Double(maxTime) may round up by up to 1 s
        // (Doubles near 9.2e18 are 2048 apart), still far below Int64.max, so `Int64(ms)` cannot
        // trap; the clamp then puts such a value back inside the bounds.
        guard ms.isFinite, ms >= Double(minTime), ms <= Double(maxTime) else { return nil }
        return clamp(Int64(ms), minTime, maxTime)
    }

    /// Seconds (the API's `step=15`, `timeout=0.5`) to a duration in ms; nil for NaN, ±Inf and
    /// anything longer than `maxDuration` either way.
    public static func duration(seconds s: Double) -> Int64? {
        let ms = (s * 1000).rounded()
        guard ms.isFinite, Swift.abs(ms) <= Double(maxDuration) else { return nil }
        return Int64(ms)
    }

    /// `a + b`, pinned to Int64's ends instead of trapping.
    @inline(__always) public static func adding(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b > 0 ? Int64.max : Int64.min) : r
    }

    /// `a - b`, pinned to Int64's ends instead of trapping.
    @inline(__always) public static func subtracting(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.subtractingReportingOverflow(b)
        return o ? (b > 0 ? Int64.min : Int64.max) : r
    }

    /// Number of evaluation steps `start, start+step, ... <= end`; nil when the span does not
    /// fit Int64 or the count is above `limit` (callers name their own limit in the error).
    public static func steps(start: Int64, end: Int64, step: Int64, limit: Int64) -> Int64? {
        guard step > 0, end >= start else { return nil }
        let (span, o) = end.subtractingReportingOverflow(start)
        if o { return nil }
        let n = span / step + 1
        return n <= limit ? n : nil
    }

    /// A Double that must be a whole count (`limit`, `topk`'s k), or nil when it is not finite or
    /// outside Int64 (the comparison happens on Doubles, before any conversion).
    public static func int64(_ v: Double) -> Int64? {
        // 2^63 is exactly representable; every Double below it converts without trapping.
        guard v.isFinite, v >= -9_223_372_036_854_775_808.0, v < 9_223_372_036_854_775_808.0 else { return nil }
        return Int64(v)
    }

    private static func clamp(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { Swift.min(Swift.max(v, lo), hi) }
}
