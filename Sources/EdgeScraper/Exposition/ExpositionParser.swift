import RemoteWrite
import Storage

// Parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text. It runs on every
// scrape, so it works on bytes, validates each line once and records samples as ranges into
// the body; label sets are only materialised when the scrape cache has not seen a series.

public enum ExpositionFormat: Sendable, Equatable {
    case prometheusText
    case openMetrics
}

public struct ExpositionError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int
    public var message: String
    /// The last parsed sample is the offending one: Prometheus counts it as scraped (it read
    /// it) but not as kept, because the failure comes when it is appended.
    public var rejectsLastSample = false
    public init(line: Int, message: String, rejectsLastSample: Bool = false) {
        self.line = line
        self.message = message
        self.rejectsLastSample = rejectsLastSample
    }
    public var description: String { "line \(line): \(message)" }
}

public enum Exposition {
    /// What Prometheus 2.42 sends, so targets answer us as they answer Prometheus.
    public static let acceptHeader =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// As Prometheus' textparse.New: OpenMetrics only when the media type says so, the
    /// Prometheus text parser for everything else (including a missing Content-Type).
    public static func format(contentType: String?) -> ExpositionFormat {
        guard let ct = contentType else { return .prometheusText }
        let media = ct.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
        return media == "application/openmetrics-text" ? .openMetrics : .prometheusText
    }
}

public struct ExpositionSample: Sendable {
    /// The `name{labels}` text in the body: the scrape cache key.
    public var series: Range<Int>
    public var value: Double
    /// Milliseconds, when the exposition gave one.
    public var timestamp: Int64?
}

public struct ParsedExposition: Sendable {
    public let bytes: [UInt8]
    public var samples: [ExpositionSample] = []
    public var metadata: [MetricMetadata] = []

    /// The sample's label pairs including `__name__`, unescaped, in exposition order.
    public func labels(of s: ExpositionSample) -> [Label] {
        ExpositionParser.materialize(bytes, s.series)
    }
}

private let SP = UInt8(ascii: " ")
private let TAB = UInt8(ascii: "\t")
private let NL = UInt8(ascii: "\n")
private let CR = UInt8(ascii: "\r")
private let HASH = UInt8(ascii: "#")
private let LBRACE = UInt8(ascii: "{")
private let RBRACE = UInt8(ascii: "}")
private let EQ = UInt8(ascii: "=")
private let COMMA = UInt8(ascii: ",")
private let QUOTE = UInt8(ascii: "\"")
private let BSLASH = UInt8(ascii: "\\")

@inline(__always) private func isNameStart(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F
}

@inline(__always) private func isNameChar(_ c: UInt8) -> Bool {
    isNameStart(c) || (c >= 0x30 && c <= 0x39)
}

public struct ExpositionParser {
    let b: [UInt8]
    let format: ExpositionFormat
    var i = 0
    var lineNo = 1
    /// A repeated label name in the current sample: reported once the sample is read.
    var duplicateLabel: String? = nil
    /// The current sample's label names, for the duplicate check: one array for the whole body
    /// instead of one allocation per sample.
    var labelNames: [Range<Int>] = []

    public static func parse(_ bytes: [UInt8], format: ExpositionFormat) throws -> ParsedExposition {
        let (out, error) = parsePartial(bytes, format: format)
        if let e = error { throw e }
        return out
    }

    /// The samples before the first error, and the error: Prometheus parses while it appends
    /// and reports how many samples a failed scrape had read before failing.
    public static func parsePartial(_ bytes: [UInt8], format: ExpositionFormat) -> (ParsedExposition, ExpositionError?) {
        var p = ExpositionParser(b: bytes, format: format)
        var out = ParsedExposition(bytes: bytes)
        out.samples.reserveCapacity(bytes.count / 48)
        var failure: ExpositionError? = nil
        do { try p.run(&out) } catch let e as ExpositionError { failure = e } catch {
            failure = ExpositionError(line: p.lineNo, message: "\(error)")
        }
        return (out, failure)
    }

    func fail(_ message: String) -> ExpositionError { ExpositionError(line: lineNo, message: message) }

    var om: Bool { format == .openMetrics }

    mutating func run(_ out: inout ParsedExposition) throws {
        var sawEOF = false
        var metaIndex: [String: Int] = [:]
        // Room for about one family per KiB of exposition (node_exporter: ~1 per 400 B), so a
        // scrape grows the index a few times instead of from empty: rehashing it at every growth
        // was 1 % of the edge agent's CPU.
        metaIndex.reserveCapacity(min(b.count / 1024, 4096))
        while i < b.count {
            if sawEOF { throw fail("unexpected data after # EOF") }
            let c = b[i]
            if c == NL {
                if om { throw fail("unexpected empty line (OpenMetrics does not allow blank lines)") }
                i += 1; lineNo += 1
                continue
            }
            if c == HASH {
                if try comment(&out, &metaIndex) { sawEOF = true }
            } else if c == SP || c == TAB {
                if om { throw fail("unexpected whitespace at the start of a line") }
                skipWS()
                if i < b.count, b[i] != NL {
                    // Prometheus rejects indented samples (after reading them); indented comments
                    // are still comments.
                    guard b[i] == HASH else {
                        try sample(&out)
                        var e = fail("unexpected whitespace before the metric name")
                        e.rejectsLastSample = true
                        throw e
                    }
                    _ = try comment(&out, &metaIndex)
                }
            } else {
                try sample(&out)
            }
            // The line's handler stops at the newline.
            if i < b.count {
                if b[i] == CR && !om && i + 1 < b.count && b[i + 1] == NL { i += 1 }
                guard b[i] == NL else { throw fail("unexpected \(describe(i)) at the end of the line") }
                i += 1
                lineNo += 1
            } else if om && !sawEOF {
                break
            }
        }
        if om && !sawEOF { throw ExpositionError(line: lineNo, message: "data does not end with # EOF") }
    }

    func describe(_ k: Int) -> String {
        guard k < b.count else { return "end of input" }
        let c = b[k]
        if c >= 0x20 && c < 0x7F { return "character '\(Character(Unicode.Scalar(c)))'" }
        if c == NL { return "end of line" }
        return "byte 0x\(String(c, radix: 16))"
    }

    @inline(__always) mutating func skipWS() {
        while i < b.count, b[i] == SP || b[i] == TAB { i += 1 }
    }

    mutating func restOfLine() -> Range<Int> {
        let s = i
        while i < b.count, b[i] != NL { i += 1 }
        var e = i
        if e > s && b[e - 1] == CR && !om { e -= 1 }
        return s..<e
    }

    /// Returns true for `# EOF`.
    mutating func comment(_ out: inout ParsedExposition, _ metaIndex: inout [String: Int]) throws -> Bool {
        i += 1  // '#'
        let afterHash = i
        if i < b.count, b[i] == SP { i += 1 } else {
            if om { throw fail("expected a space after '#'") }
            _ = restOfLine()
            return false
        }
        let kwStart = i
        while i < b.count, b[i] >= 0x41 && b[i] <= 0x5A { i += 1 }
        let kw = String(decoding: b[kwStart..<i], as: UTF8.self)
        if kw == "EOF" && om {
            if i < b.count && b[i] != NL { throw fail("unexpected text after # EOF") }
            return true
        }
        guard kw == "HELP" || kw == "TYPE" || (om && kw == "UNIT"), i < b.count, b[i] == SP || b[i] == TAB else {
            if om { throw fail("unknown comment; OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF") }
            i = afterHash
            _ = restOfLine()
            return false
        }
        skipWS()
        let ns = i
        guard i < b.count, isNameStart(b[i]) || b[i] == UInt8(ascii: ":") else { throw fail("invalid metric name in # \(kw)") }
        while i < b.count, isNameChar(b[i]) || b[i] == UInt8(ascii: ":") { i += 1 }
        let name = String(decoding: b[ns..<i], as: UTF8.self)
        var text = ""
        if i < b.count, b[i] == SP || b[i] == TAB {
            if om { i += 1 } else { skipWS() }
            let r = restOfLine()
            text = unescapeHelp(r)
        } else if i < b.count, b[i] != NL, !(b[i] == CR && !om) {
            throw fail("invalid metric name in # \(kw)")
        }
        // `# HELP x` and `# TYPE x` come in pairs, so the family of the line before is checked
        // first; the dictionary is for families that come back later.
        var idx = out.metadata.last?.family == name ? out.metadata.count - 1 : metaIndex[name] ?? -1
        if idx < 0 {
            idx = out.metadata.count
            metaIndex[name] = idx
            out.metadata.append(MetricMetadata(type: .unknown, family: name))
        }
        switch kw {
        case "HELP": out.metadata[idx].help = text
        case "UNIT":
            if !text.isEmpty && !name.hasSuffix("_" + text) {
                throw fail("unit \"\(text)\" not a suffix of metric \"\(name)\"")
            }
            out.metadata[idx].unit = text
        default:
            let t: MetricType
            switch text {
            case "counter": t = .counter
            case "gauge": t = .gauge
            case "histogram": t = .histogram
            case "summary": t = .summary
            case "untyped" where !om: t = .unknown
            case "unknown" where om: t = .unknown
            case "gaugehistogram" where om: t = .gaugeHistogram
            case "info" where om: t = .info
            case "stateset" where om: t = .stateSet
            default: throw fail("invalid metric type \"\(text)\"")
            }
            out.metadata[idx].type = t
        }
        return false
    }

    func unescapeHelp(_ r: Range<Int>) -> String {
        guard b[r].contains(BSLASH) else { return String(decoding: b[r], as: UTF8.self) }
        var o: [UInt8] = []
        var k = r.lowerBound
        while k < r.upperBound {
            if b[k] == BSLASH && k + 1 < r.upperBound {
                let n = b[k + 1]
                if n == UInt8(ascii: "n") { o.append(NL); k += 2; continue }
                if n == BSLASH || (om && n == QUOTE) { o.append(n); k += 2; continue }
            }
            o.append(b[k])
            k += 1
        }
        return String(decoding: o, as: UTF8.self)
    }

    mutating func sample(_ out: inout ParsedExposition) throws {
        let start = i
        duplicateLabel = nil
        guard isNameStart(b[i]) || b[i] == UInt8(ascii: ":") else {
            throw fail("expected a metric name, got \(describe(i))")
        }
        while i < b.count, isNameChar(b[i]) || b[i] == UInt8(ascii: ":") { i += 1 }
        if i < b.count, b[i] == LBRACE {
            try labelSet()
        } else if !om {
            // The text format allows blanks between name and '{'.
            let save = i
            skipWS()
            if i < b.count, b[i] == LBRACE { try labelSet() } else { i = save }
        }
        let seriesEnd = i
        guard i < b.count, b[i] == SP || b[i] == TAB else {
            if i >= b.count || b[i] == NL { throw fail("expected a value after the metric, got end of line") }
            throw fail("expected a space then the value after the metric, got \(describe(i))")
        }
        if om { if b[i] == TAB { throw fail("expected a single space before the value") }; i += 1 } else { skipWS() }
        let vs = i
        while i < b.count, b[i] != SP, b[i] != TAB, b[i] != NL, !(b[i] == CR && !om) { i += 1 }
        guard vs < i else { throw fail("expected a value after the metric, got end of line") }
        guard let v = parseFloat(vs..<i) else {
            throw fail("invalid value \"\(String(decoding: b[vs..<i], as: UTF8.self))\": expected a number, NaN, +Inf or -Inf")
        }
        var ts: Int64? = nil
        if i < b.count, b[i] == SP || b[i] == TAB {
            if om { i += 1 } else { skipWS() }
            if i < b.count, b[i] != NL, b[i] != HASH, !(b[i] == CR && !om) {
                let tsStart = i
                while i < b.count, b[i] != SP, b[i] != TAB, b[i] != NL, !(b[i] == CR && !om) { i += 1 }
                ts = try timestamp(tsStart..<i)
                if i < b.count, b[i] == SP || b[i] == TAB { skipWS() }
            }
            if i < b.count, b[i] == HASH {
                guard om else { throw fail("unexpected '#' after the value (exemplars are only valid in OpenMetrics)") }
                try skipExemplar()
            }
        }
        out.samples.append(ExpositionSample(series: start..<seriesEnd, value: v, timestamp: ts))
        if let d = duplicateLabel {
            throw ExpositionError(line: lineNo, message: "label name \"\(d)\" is not unique", rejectsLastSample: true)
        }
    }

    mutating func skipExemplar() throws {
        // `# {labels} value [timestamp]`: validated for shape, then dropped.
        i += 1
        guard i < b.count, b[i] == SP else { throw fail("expected a space after '#' of an exemplar") }
        i += 1
        guard i < b.count, b[i] == LBRACE else { throw fail("expected '{' to start the exemplar labels") }
        try labelSet(checkDuplicates: false)
        guard i < b.count, b[i] == SP else { throw fail("expected a value in the exemplar") }
        i += 1
        let vs = i
        while i < b.count, b[i] != SP, b[i] != NL { i += 1 }
        guard parseFloat(vs..<i) != nil else { throw fail("invalid exemplar value") }
        if i < b.count, b[i] == SP {
            i += 1
            let ts = i
            while i < b.count, b[i] != NL { i += 1 }
            guard parseFloat(ts..<i) != nil else { throw fail("invalid exemplar timestamp") }
        }
    }

    mutating func timestamp(_ r: Range<Int>) throws -> Int64 {
        if om {
            guard let f = parseFloat(r), f.isFinite, abs(f) < 9.2e15 else {
                throw fail("invalid timestamp \"\(String(decoding: b[r], as: UTF8.self))\"")
            }
            return Int64(f * 1000)
        }
        var k = r.lowerBound
        var neg = false
        if b[k] == UInt8(ascii: "-") || b[k] == UInt8(ascii: "+") { neg = b[k] == UInt8(ascii: "-"); k += 1 }
        var v: Int64 = 0
        guard k < r.upperBound else { throw fail("invalid timestamp") }
        while k < r.upperBound {
            let c = b[k]
            guard c >= 0x30 && c <= 0x39 else {
                throw fail("invalid timestamp \"\(String(decoding: b[r], as: UTF8.self))\": expected integer milliseconds")
            }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - 0x30))
            if o1 || o2 { throw fail("timestamp out of range") }
            v = a
            k += 1
        }
        return neg ? -v : v
    }

    /// `{name="value",...}`; leaves `i` after the closing brace.
    mutating func labelSet(checkDuplicates: Bool = true) throws {
        i += 1
        labelNames.removeAll(keepingCapacity: true)
        while true {
            if !om { skipWS() }
            guard i < b.count else { throw fail("unterminated label set; add '}'") }
            if b[i] == RBRACE { i += 1; return }
            let ns = i
            guard isNameStart(b[i]) else { throw fail("invalid label name: unexpected \(describe(i))") }
            while i < b.count, isNameChar(b[i]) { i += 1 }
            let nameRange = ns..<i
            if checkDuplicates {
                if duplicateLabel == nil, labelNames.contains(where: { b[$0].elementsEqual(b[nameRange]) }) {
                    duplicateLabel = String(decoding: b[nameRange], as: UTF8.self)
                }
                labelNames.append(nameRange)
            }
            if !om { skipWS() }
            guard i < b.count, b[i] == EQ else { throw fail("expected '=' after label name, got \(describe(i))") }
            i += 1
            if !om { skipWS() }
            guard i < b.count, b[i] == QUOTE else { throw fail("expected '\"' to start a label value, got \(describe(i))") }
            i += 1
            let valueStart = i
            var highBytes = false
            while true {
                guard i < b.count, b[i] != NL else { throw fail("unterminated label value; add '\"'") }
                let c = b[i]
                if c == QUOTE {
                    if highBytes && String(validating: b[valueStart..<i], as: UTF8.self) == nil {
                        throw fail("invalid UTF-8 in the value of label \"\(String(decoding: b[nameRange], as: UTF8.self))\"")
                    }
                    i += 1
                    break
                }
                if c >= 0x80 { highBytes = true }
                if c == BSLASH {
                    guard i + 1 < b.count, b[i + 1] != NL else { throw fail("unterminated escape in label value") }
                    i += 2
                    continue
                }
                i += 1
            }
            if !om { skipWS() }
            guard i < b.count else { throw fail("unterminated label set; add '}'") }
            if b[i] == COMMA {
                i += 1
                if om, i < b.count, b[i] == RBRACE { throw fail("trailing comma in label set") }
                continue
            }
            if b[i] == RBRACE { i += 1; return }
            throw fail("expected ',' or '}' after label value, got \(describe(i))")
        }
    }

    /// Go's strconv.ParseFloat for what expositions contain: decimals with exponent, NaN, ±Inf.
    func parseFloat(_ r: Range<Int>) -> Double? {
        var k = r.lowerBound
        let end = r.upperBound
        guard k < end else { return nil }
        var neg = false
        if b[k] == UInt8(ascii: "-") || b[k] == UInt8(ascii: "+") { neg = b[k] == UInt8(ascii: "-"); k += 1 }
        // Fast path: up to 15 significant digits and no exponent is exact as int / 10^k.
        var mant: Int64 = 0
        var digits = 0
        var frac = 0
        var sawDot = false
        var simple = true
        var q = k
        while q < end {
            let c = b[q]
            if c >= 0x30 && c <= 0x39 {
                if digits < 15 {
                    mant = mant * 10 + Int64(c - 0x30)
                    digits += 1
                    if sawDot { frac += 1 }
                } else { simple = false; break }
            } else if c == UInt8(ascii: ".") && !sawDot {
                sawDot = true
            } else { simple = false; break }
            q += 1
        }
        if simple && q > k && !(q == k + 1 && sawDot) {
            var v = Double(mant)
            if frac > 0 { v /= pow10[frac] }
            return neg ? -v : v
        }
        let s = String(decoding: b[r], as: UTF8.self)
        switch s {
        case "NaN", "nan", "Nan", "NAN": return .nan
        case "+Inf", "Inf", "inf", "+inf", "INF", "+INF": return .infinity
        case "-Inf", "-inf", "-INF": return -.infinity
        default: break
        }
        // Prometheus keeps to pre-Go 1.13 float syntax (no hex floats, no underscores), and
        // Go's ParseFloat reports out-of-range values as errors rather than ±Inf.
        for c in s.utf8 where !(isNameChar(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) {
            return nil
        }
        for c in s.utf8 where c == UInt8(ascii: "p") || c == UInt8(ascii: "P") || c == UInt8(ascii: "_")
            || c == UInt8(ascii: "x") || c == UInt8(ascii: "X") {
            return nil
        }
        guard let v = Double(s) else { return nil }
        if v.isInfinite && !s.lowercased().contains("inf") { return nil }
        return v
    }

    static func materialize(_ b: [UInt8], _ r: Range<Int>) -> [Label] {
        var i = r.lowerBound
        while i < r.upperBound, b[i] != LBRACE, b[i] != SP, b[i] != TAB { i += 1 }
        var out: [Label] = [Label(Labels.metricName, String(decoding: b[r.lowerBound..<i], as: UTF8.self))]
        while i < r.upperBound, b[i] != LBRACE { i += 1 }
        guard i < r.upperBound else { return out }
        i += 1
        while i < r.upperBound {
            while i < r.upperBound, b[i] == SP || b[i] == TAB || b[i] == COMMA { i += 1 }
            if i >= r.upperBound || b[i] == RBRACE { break }
            let ns = i
            while isNameChar(b[i]) { i += 1 }
            let name = String(decoding: b[ns..<i], as: UTF8.self)
            while b[i] != QUOTE { i += 1 }
            i += 1
            let vs = i
            var escaped = false
            while b[i] != QUOTE {
                if b[i] == BSLASH { escaped = true; i += 2 } else { i += 1 }
            }
            let value: String
            if escaped {
                var o: [UInt8] = []
                var k = vs
                while k < i {
                    if b[k] == BSLASH {
                        let n = b[k + 1]
                        if n == UInt8(ascii: "n") { o.append(NL) } else if n == BSLASH || n == QUOTE { o.append(n) } else {
                            o.append(BSLASH); o.append(n)
                        }
                        k += 2
                    } else { o.append(b[k]); k += 1 }
                }
                value = String(decoding: o, as: UTF8.self)
            } else {
                value = String(decoding: b[vs..<i], as: UTF8.self)
            }
            i += 1
            out.append(Label(name, value))
        }
        return out
    }
}

private let pow10: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16]
