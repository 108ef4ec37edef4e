import Foundation
import PromQL

/// Form and query-string parameters, decoded the way Go's url.ParseQuery does
/// (`+` is a space, `%XX` escapes, repeated keys kept in order).
struct Params: Sendable {
    private(set) var pairs: [(String, String)] = []

    init() {}

    init(query: String?) { if let query { add(query) } }

    mutating func add(_ encoded: String) {
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = Params.unescape(kv[0])
            let v = kv.count > 1 ? Params.unescape(kv[1]) : ""
            pairs.append((k, v))
        }
    }

    subscript(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

    static func unescape(_ s: Substring) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == 0x2B { out.append(0x20); continue }
            if b == 0x25, it.count >= 2, let h = hexVal(it[it.startIndex]), let l = hexVal(it[it.startIndex + 1]) {
                out.append(h << 4 | l)
                it = it.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexVal(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}

/// Errors of the Prometheus HTTP API: `errorType` + `error` and the matching status.
struct APIError: Error {
    let type: String
    let message: String
    let status: Int

    static func badData(_ m: String) -> APIError { APIError(type: "bad_data", message: m, status: 400) }
    static func execution(_ m: String) -> APIError { APIError(type: "execution", message: m, status: 422) }
    static func unavailable(_ m: String) -> APIError { APIError(type: "unavailable", message: m, status: 503) }
    static func forbidden(_ m: String) -> APIError { APIError(type: "forbidden", message: m, status: 403) }
    static func unauthorized(_ m: String) -> APIError { APIError(type: "unauthorized", message: m, status: 401) }

    init(type: String, message: String, status: Int) {
        self.type = type
        self.message = message
        self.status = status
    }

    init(_ e: PromQLError) {
        type = e.type.rawValue
        message = e.message
        switch e.type {
        case .badData: status = 400
        case .execution: status = 422
        case .timeout, .canceled: status = 503
        case .internal: status = 500
        }
    }
}

/// Time parameters as the Prometheus API takes them: unix seconds (fractional allowed) or RFC 3339.
/// Every number goes through `TimeMath`, which bounds it so nothing computed from it can trap.
enum TimeParam {
    static func parse(_ s: String, name: String) throws(APIError) -> Int64 {
        if let d = Double(s) {
            // Prometheus 2.42 turns NaN, ±Inf and 1e300 into garbage instants; refuse them instead.
            guard let ms = TimeMath.timestamp(seconds: d) else {
                throw .badData("invalid parameter \"\(name)\": cannot parse \"\(s)\" to a valid timestamp"
                               + (d.isFinite ? ". It overflows int64" : ""))
            }
            return ms
        }
        if let t = parseRFC3339(s) { return t }
        throw .badData("invalid parameter \"\(name)\": cannot parse \"\(s)\" to a valid timestamp")
    }

    /// An optional time: absent or empty means `default`, as Prometheus' parseTimeParam has it.
    /// Its errors carry Prometheus' `Invalid time value for 'name': ` inside the parameter prefix.
    static func optional(_ p: Params, _ name: String, default d: Int64) throws(APIError) -> Int64 {
        guard let s = p[name], !s.isEmpty else { return d }
        do {
            return try parse(s, name: name)
        } catch {
            let prefix = "invalid parameter \"\(name)\": "
            throw .badData(prefix + "Invalid time value for '\(name)': " + error.message.dropFirst(prefix.count))
        }
    }

    /// `2015-07-01T20:10:51.781Z` or with a `±hh:mm` offset.
    static func parseRFC3339(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from..<from + len {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3A, b[16] == 0x3A,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let sec = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61
        else { return nil }
        var i = 19
        var fracMs = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                if digits < 3 { fracMs = fracMs * 10 + Int(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { fracMs *= 10 } }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 0x3A, let om = num(i + 4, 2) else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(offset)
        return secs * 1000 + Int64(fracMs)
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Step / timeout: float seconds or a Prometheus duration, at most `TimeMath.maxDuration`.
    static func duration(_ s: String, name: String) throws(APIError) -> Int64 {
        do {
            return try parseDuration(s)
        } catch {
            throw .badData("invalid parameter \"\(name)\": \(error.message)")
        }
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
