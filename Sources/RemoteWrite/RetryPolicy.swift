/// When a remote-write sender tries again (the edge's remote writer and the collector's
/// forward sender): exponential backoff with jitter, or the receiver's `Retry-After`.
public enum RetryPolicy {
    /// Longest wait a `Retry-After` may impose; a confused server must not park data for days.
    public static let maxRetryAfterMillis: Int64 = 5 * 60_000

    /// Milliseconds to wait before retry `attempt` (0-based): the server's `Retry-After` when
    /// given, else min_backoff·2^attempt capped at max_backoff, jittered into [½, 1] of that.
    public static func delay(attempt: Int, minBackoff: Int64, maxBackoff: Int64, retryAfter: String?,
                             nowMillis: Int64, jitter: Double) -> Int64 {
        if let ra = retryAfter, let ms = parseRetryAfter(ra, nowMillis: nowMillis) {
            return min(max(ms, 0), maxRetryAfterMillis)
        }
        let lo = max(minBackoff, 1)
        let hi = max(maxBackoff, lo)
        var b = lo
        for _ in 0..<min(attempt, 62) where b < hi { b = min(b * 2, hi) }
        return b / 2 + Int64(Double(b - b / 2) * min(max(jitter, 0), 1))
    }

    /// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
    public static func parseRetryAfter(_ value: String, nowMillis: Int64) -> Int64? {
        let v = value.trimmedWhitespace
        if let s = Int64(v) { return s >= 0 ? s * 1000 : nil }
        guard let t = HTTPDate.parse(v) else { return nil }
        return max(t * 1000 - nowMillis, 0)
    }
}

fileprivate extension String {
    var trimmedWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers must send, to Unix seconds.
public enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    public static func parse(_ s: String) -> Int64? {
        let parts = s.split(separator: " ")
        // The year is bounded so a hostile header cannot overflow the day arithmetic.
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]),
              let mi = months.firstIndex(of: parts[2].lowercased()), let year = Int64(parts[3]), (1...9999).contains(year) else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, let h = Int64(hms[0]), let m = Int64(hms[1]), let sec = Int64(hms[2]),
              day >= 1, day <= 31, h < 24, m < 60, sec <= 60 else { return nil }
        return daysFromCivil(year, Int64(mi + 1), day) * 86_400 + h * 3600 + m * 60 + sec
    }

    /// Howard Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian calendar.
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
