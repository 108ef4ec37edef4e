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

/// A label matcher as in PromQL selectors. Regexes are RE2 (`RE2Regex`), fully anchored like
/// Prometheus' `^(?:re)$`. Common regex shapes (literal alternations, `.*`, `.+`, `prefix.*`) are
/// recognised up front because index lookups run them once per distinct label value; they give
/// RE2's answers (`.` does not match a newline).
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public let type: MatchType
    public let name: String
    public let value: String
    private let fast: FastPath

    enum FastPath: Sendable, Hashable {
        case none
        case matchAll            // .*: any value without a newline
        case matchNonEmpty       // .+
        case literals(Set<ExactString>)  // a|b|c, compared by bytes as RE2 does
        case prefix(String)      // abc.*
        case regex(RE2Regex)
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
        case .matchAll: return !v.utf8.contains(0x0A)
        case .matchNonEmpty: return !v.isEmpty && !v.utf8.contains(0x0A)
        case .literals(let set): return set.contains(ExactString(v))
        case .prefix(let p):
            // Bytes, not Characters: RE2 compares UTF-8, Swift's hasPrefix canonical equivalents.
            return v.utf8.starts(with: p.utf8) && !v.utf8.dropFirst(p.utf8.count).contains(0x0A)
        case .regex(let re): return re.matches(v)
        }
    }

    /// No RE2 metacharacter among the bytes. Not by Character: a combining mark after `.` would
    /// hide the dot inside one grapheme.
    static func isLiteral<S: StringProtocol>(_ s: S) -> Bool { !s.utf8.contains { isRegexMeta($0) } }

    static func compile(_ re: String) throws -> FastPath {
        if re == ".*" { return .matchAll }
        if re == ".+" { return .matchNonEmpty }
        if isLiteral(re) { return .literals([ExactString(re)]) }
        let alts = re.split(separator: "|", omittingEmptySubsequences: false)
        if alts.count > 1, alts.allSatisfy({ isLiteral($0) }) { return .literals(Set(alts.map { ExactString(String($0)) })) }
        if re.hasSuffix(".*") {
            let p = re.dropLast(2)
            if isLiteral(p) { return .prefix(String(p)) }
        }
        do {
            return .regex(try RE2Regex(re))
        } catch {
            throw MatcherError(message: error.goDescription)
        }
    }

    public var description: String { "\(name)\(type.rawValue)\"\(escapeLabelValue(value))\"" }
}

/// RE2's metacharacters: `\ . + * ? ( ) [ ] { } | ^ $`.
@inline(__always) public func isRegexMeta(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "\\"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "("),
         UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "|"),
         UInt8(ascii: "^"), UInt8(ascii: "$"):
        return true
    default:
        return false
    }
}

extension Labels {
    /// Whether this label set satisfies every matcher (absent labels count as "").
    public func matches(_ matchers: [LabelMatcher]) -> Bool {
        matchers.allSatisfy { $0.matches(self[$0.name] ?? "") }
    }
}
