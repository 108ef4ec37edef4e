import Foundation
import PromQL
import Storage

/// The part of Prometheus' alert templating (Go text/template) that rule files use in
/// practice: `{{ $labels.name }}`, `{{ .Labels.name }}`, `{{ $value }}`, `{{ .Value }}`,
/// `{{ $externalLabels.name }}`, and the pipelines `humanize`, `humanizePercentage`,
/// `humanizeDuration` and `printf "%.2f"`. An action we do not understand is left in the
/// text as written, so nothing is silently lost.
struct AlertTemplate {
    let labels: Labels
    let value: Double

    func expand(_ text: String) -> String {
        guard text.contains("{{") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let action = rest[open.upperBound..<close.lowerBound]
            out += evaluate(action) ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    private enum Val { case number(Double), text(String) }

    private func evaluate(_ action: Substring) -> String? {
        var a = action.trimmingCharacters(in: .whitespaces)
        if a.hasPrefix("-") { a.removeFirst() }
        if a.hasSuffix("-") { a.removeLast() }
        let stages = a.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = stages.first else { return nil }
        // `humanize $value` is the same as `$value | humanize`.
        var words = first.split(separator: " ").map(String.init)
        var funcs = stages.dropFirst().map { $0.split(separator: " ").map(String.init) }
        if words.count >= 2 {
            funcs.insert(Array(words.dropLast()), at: 0)
            words = [words.last!]
        }
        guard words.count == 1, var v = operand(words[0]) else { return nil }
        for f in funcs {
            guard let next = apply(f, v) else { return nil }
            v = next
        }
        switch v {
        // `{{ $value }}` prints Go's `%v`: shortest digits, e-notation from 1e21 (Go also below 1e-4,
        // we below 1e-6; alert values that small are rare).
        case .number(let d): return formatPromValue(d)
        case .text(let s): return s
        }
    }

    private func operand(_ w: String) -> Val? {
        if w == "$value" || w == ".Value" { return .number(value) }
        for prefix in ["$labels.", ".Labels."] where w.hasPrefix(prefix) {
            return .text(labels[String(w.dropFirst(prefix.count))] ?? "")
        }
        if w.hasPrefix("$externalLabels.") || w.hasPrefix(".ExternalLabels.") { return .text("") }
        return nil
    }

    private func apply(_ f: [String], _ v: Val) -> Val? {
        let d: Double
        switch v {
        case .number(let x): d = x
        case .text(let s): guard let x = Double(s) else { return f.first == "printf" ? nil : .text(s) }; d = x
        }
        switch f.first {
        case "humanize": return .text(Self.humanize(d))
        case "humanizePercentage": return .text(Self.humanize(d * 100) + "%")
        case "humanizeDuration": return .text(Self.humanizeDuration(d))
        case "printf":
            guard f.count == 2, f[1].hasPrefix("\""), f[1].hasSuffix("\""), f[1].count >= 2 else { return nil }
            let fmt = String(f[1].dropFirst().dropLast())
            guard fmt.range(of: #"^[^%]*%[-+ 0#]*\d*(\.\d+)?[fgeEG][^%]*$"#, options: .regularExpression) != nil else { return nil }
            return .text(String(format: fmt, d))
        default: return nil
        }
    }


    /// Prometheus' `humanize`: SI prefixes, 4 significant digits.
    static func humanize(_ v: Double) -> String {
        if v == 0 || v.isNaN || v.isInfinite { return String(format: "%.4g", v) }
        let a = abs(v)
        if a >= 1 {
            let prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
            var x = v, i = 0
            while abs(x) >= 1000 && i < prefixes.count - 1 { x /= 1000; i += 1 }
            return String(format: "%.4g", x) + prefixes[i]
        }
        let prefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"]
        var x = v, i = 0
        while abs(x) < 1 && i < prefixes.count - 1 { x *= 1000; i += 1 }
        return String(format: "%.4g", x) + prefixes[i]
    }

    /// Prometheus' `humanizeDuration`: `1d 2h 3m 4s`, or fractions of a second.
    static func humanizeDuration(_ v: Double) -> String {
        if v.isNaN || v.isInfinite { return String(format: "%.4g", v) }
        if abs(v) < 1 { return v == 0 ? "0s" : humanize(v) + "s" }
        let sign = v < 0 ? "-" : ""
        let s = Int(abs(v))
        let d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60
        if d > 0 { return "\(sign)\(d)d \(h)h \(m)m \(sec)s" }
        if h > 0 { return "\(sign)\(h)h \(m)m \(sec)s" }
        if m > 0 { return "\(sign)\(m)m \(sec)s" }
        return "\(sign)\(sec)s"
    }
}
