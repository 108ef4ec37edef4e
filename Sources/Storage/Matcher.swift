public enum MatchType: String, Sendable, Hashable {
    case equal = "="
    case notEqual = "!="
    case regexMatch = "=~"
    case regexNoMatch = "!~"
}

public struct MatcherError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A label matcher as in PromQL selectors. Regexes are fully anchored, like Prometheus'
/// `^(?:re)$`. Common regex shapes (literal alternations, `.*`, `.+`, `prefix.*`) are
/// recognised up front because index lookups run them once per distinct label value.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public let type: MatchType
    public let name: String
    public let value: String
    private let fast: FastPath

    enum FastPath: Sendable, Hashable {
        case none
        case matchAll            // .*
        case matchNonEmpty       // .+
        case literals(Set<String>)  // a|b|c
        case prefix(String)      // abc.*
        case regex(RegexBox)
    }

    public init(_ type: MatchType, _ name: String, _ value: String) throws {
        self.type = type
        self.name = name
        self.value = value
        switch type {
        case .equal, .notEqual: fast = .none
        case .regexMatch, .regexNoMatch: fast = try LabelMatcher.compile(value)
        }
    }

    public static func equal(_ name: String, _ value: String) -> LabelMatcher {
        // Cannot throw for equality matchers.
        try! LabelMatcher(.equal, name, value)
    }

    /// Does a label value satisfy the matcher? An absent label is the empty string.
    public func matches(_ v: String) -> Bool {
        switch type {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regexMatch: return regexMatches(v)
        case .regexNoMatch: return !regexMatches(v)
        }
    }

    /// True when the matcher also selects series that lack the label entirely.
    public var matchesEmpty: Bool { matches("") }

    private func regexMatches(_ v: String) -> Bool {
        switch fast {
        case .none: return false
        case .matchAll: return true
        case .matchNonEmpty: return !v.isEmpty
        case .literals(let set): return set.contains(v)
        case .prefix(let p): return v.hasPrefix(p)
        case .regex(let box): return box.wholeMatch(v)
        }
    }

    private static let meta: Set<Character> = ["\\", ".", "+", "*", "?", "(", ")", "[", "]", "{", "}", "|", "^", "$"]

    private static func isLiteral<S: StringProtocol>(_ s: S) -> Bool { !s.contains { meta.contains($0) } }

    static func compile(_ re: String) throws -> FastPath {
        if re == ".*" { return .matchAll }
        if re == ".+" { return .matchNonEmpty }
        if isLiteral(re) { return .literals([re]) }
        let alts = re.split(separator: "|", omittingEmptySubsequences: false)
        if alts.count > 1, alts.allSatisfy({ isLiteral($0) }) { return .literals(Set(alts.map(String.init))) }
        if re.hasSuffix(".*") {
            let p = re.dropLast(2)
            if isLiteral(p) { return .prefix(String(p)) }
        }
        return .regex(try RegexBox(re))
    }

    public var description: String { "\(name)\(type.rawValue)\"\(escapeLabelValue(value))\"" }
}

/// Wraps a compiled regex so matchers stay `Hashable` (by source text).
struct RegexBox: @unchecked Sendable, Hashable {
    // Regex is immutable once compiled; matching does not mutate shared state.
    let source: String
    let regex: Regex<AnyRegexOutput>

    init(_ source: String) throws {
        self.source = source
        do {
            regex = try Regex("(?:" + source + ")")
        } catch {
            throw MatcherError(message: "invalid regular expression \"\(source)\": \(error)")
        }
    }

    func wholeMatch(_ s: String) -> Bool { (try? regex.wholeMatch(in: s)) != nil }

    static func == (a: RegexBox, b: RegexBox) -> Bool { a.source == b.source }
    func hash(into h: inout Hasher) { h.combine(source) }
}

extension Labels {
    /// Whether this label set satisfies every matcher (absent labels count as "").
    public func matches(_ matchers: [LabelMatcher]) -> Bool {
        matchers.allSatisfy { $0.matches(self[$0.name] ?? "") }
    }
}
