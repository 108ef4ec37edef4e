import CRE2

/// A regex that failed to compile; `message` is RE2's reason.
public struct RegexError: Error, Sendable, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    /// Prometheus' wording, e.g. `invalid regular expression "(a": missing ): (a`.
    public var description: String { "invalid regular expression \"\(pattern)\": \(reason)" }

    /// Go's regexp wording, which Prometheus' query API passes on, e.g.
    /// ``error parsing regexp: missing closing ): `^(?:()$` ``: RE2's reason with Go's names for
    /// the same faults, and Go's fragment, which for unbalanced input is the anchored pattern.
    public var goDescription: String {
        let parts = reason.split(separator: ":", maxSplits: 1).map { String($0) }
        let code = parts[0]
        var arg = parts.count > 1 ? String(parts[1].dropFirst()) : ""
        let anchored = "^(?:" + pattern + ")$"
        let goCode: String
        switch code {
        case "missing )", "trailing \\": goCode = "missing closing )"; arg = anchored
        case "unexpected )": goCode = code; arg = anchored
        case "missing ]": goCode = "missing closing ]"; arg += ")$"
        case "no argument for repetition operator": goCode = "missing argument to repetition operator"
        case "bad repetition operator": goCode = "invalid nested repetition operator"
        case "invalid repetition size": goCode = "invalid repeat count"
        case "invalid named capture group": goCode = "invalid named capture"
        case "invalid perl operator": goCode = "invalid or unsupported Perl syntax"
        default: goCode = code
        }
        return "error parsing regexp: \(goCode): `\(arg)`"
    }
}

/// A user-supplied regular expression with Prometheus' semantics: RE2 syntax, compiled as
/// `^(?:pattern)$` (so it must match the whole string), `.` not matching a newline. Matching
/// goes through RE2 (libre2), which runs in time linear in the input for every pattern: no
/// query, rule or relabel config can make it backtrack exponentially.
///
/// The one implementation behind PromQL's `=~`/`!~`, `label_replace` and `relabel_configs`.
/// Equality and hashing are by pattern text, so matchers holding one stay `Hashable`.
public final class RE2Regex: @unchecked Sendable, Hashable, CustomStringConvertible {
    // @unchecked: the compiled RE2 is immutable after construction and RE2 documents its
    // const matching methods as safe to call from many threads at once.
    public let pattern: String
    /// Capturing groups in the pattern; `match` returns `groupCount + 1` entries.
    public let groupCount: Int
    /// Group names by index (index 0, the whole match, is always nil).
    public let groupNames: [String?]
    private let re: OpaquePointer

    public init(_ pattern: String) throws(RegexError) {
        self.pattern = pattern
        var err: UnsafeMutablePointer<CChar>? = nil
        var p = pattern
        let compiled = p.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { fs_re2_compile($0.baseAddress, $0.count, &err) }
        }
        guard let compiled else {
            let reason = err.map { String(cString: $0) } ?? "cannot compile"
            fs_re2_free_error(err)
            throw RegexError(pattern: pattern, reason: reason)
        }
        re = compiled
        let n = Int(fs_re2_groups(compiled))
        groupCount = n
        groupNames = (0...n).map { g in fs_re2_group_name(compiled, Int32(g)).map { String(cString: $0) } }
    }

    deinit { fs_re2_free(re) }

    /// Whether the whole of `s` matches.
    public func matches(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { fs_re2_match(re, $0.baseAddress, $0.count) }
        }
    }

    /// The submatches of a whole-string match (index 0 is `s` itself, nil for groups that did not
    /// take part), or nil when `s` does not match.
    public func match(_ s: String) -> [String?]? {
        let slots = groupCount + 1
        var spans = [Int](repeating: -1, count: 2 * slots)
        var s = s
        return s.withUTF8 { buf -> [String?]? in
            let ok = spans.withUnsafeMutableBufferPointer { sp in
                buf.withMemoryRebound(to: CChar.self) { fs_re2_match_spans(re, $0.baseAddress, $0.count, sp.baseAddress, Int32(sp.count)) }
            }
            guard ok else { return nil }
            return (0..<slots).map { g -> String? in
                let lo = spans[2 * g], hi = spans[2 * g + 1]
                guard lo >= 0, hi >= lo, hi <= buf.count else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: buf[lo..<hi]), as: UTF8.self)
            }
        }
    }

    /// Index of the group called `name`, if any.
    public func groupIndex(named name: String) -> Int? { groupNames.firstIndex { $0 == name } }

    public var description: String { pattern }

    public static func == (a: RE2Regex, b: RE2Regex) -> Bool { a.pattern == b.pattern }
    public func hash(into h: inout Hasher) { h.combine(pattern) }
}
