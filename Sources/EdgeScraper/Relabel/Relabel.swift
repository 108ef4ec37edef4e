import Storage

// Prometheus relabeling (model/relabel/relabel.go) with the same semantics: regexes are fully
// anchored, `$1`/`${1}`/`${name}` expand as Go's Regexp.Expand, a replace whose result is
// empty deletes the target label, and a rule that does not match leaves the labels alone.

public struct RelabelError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// A regex anchored at both ends, as Prometheus' `relabel.Regexp`: RE2 syntax and linear-time
/// matching through `RE2Regex`, with the common shapes answered without it.
public struct AnchoredRegex: Sendable {
    public let source: String
    private let compiled: RE2Regex?
    private let fast: Fast

    /// Shapes that cover most relabel rules, matched without compiling a regex (which keeps
    /// the edge agent's resident memory down when its rules are all of these shapes).
    private enum Fast {
        case none
        case literal
        /// `a|b|c`, or `(a|b|c)` with the group captured.
        case alternation(Set<ExactString>, grouped: Bool)
        /// `p.*`, `p.+`, `p(.*)`, `p(.+)` for a literal `p` (possibly empty).
        case prefix(String, grouped: Bool, nonEmpty: Bool)
    }

    private static func isLiteral<S: StringProtocol>(_ s: S) -> Bool {
        // By byte: a combining mark after `.` would hide the dot inside one Character.
        !s.utf8.contains(where: isRegexMeta)
    }

    private static func fastPath(_ source: String) -> Fast {
        if isLiteral(source) { return .literal }
        for (suffix, grouped, nonEmpty) in [("(.*)", true, false), ("(.+)", true, true), (".*", false, false), (".+", false, true)]
        where source.hasSuffix(suffix) {
            let p = source.dropLast(suffix.count)
            if isLiteral(p) { return .prefix(String(p), grouped: grouped, nonEmpty: nonEmpty) }
        }
        var body = Substring(source)
        var grouped = false
        if body.hasPrefix("("), body.hasSuffix(")"), !body.hasPrefix("(?") {
            body = body.dropFirst().dropLast()
            grouped = true
        }
        let alts = body.split(separator: "|", omittingEmptySubsequences: false)
        if alts.count > 1, alts.allSatisfy({ isLiteral($0) }) {
            return .alternation(Set(alts.map { ExactString(String($0)) }), grouped: grouped)
        }
        return .none
    }

    /// Constructs RE2 rejects (lookaround, backreferences, atomic groups, possessive
    /// quantifiers) fail here as in Prometheus, with RE2's reason in the message.
    public init(_ source: String) throws {
        self.source = source
        fast = AnchoredRegex.fastPath(source)
        if case .none = fast {
            do {
                compiled = try RE2Regex(source)
            } catch {
                throw RelabelError(message: error.description)
            }
        } else {
            compiled = nil
        }
    }

    public func matches(_ s: String) -> Bool {
        switch fast {
        case .none: return compiled?.matches(s) ?? false
        default: return captures(s) != nil
        }
    }

    /// Submatches (index 0 is the whole string) and their names; nil when there is no match.
    public func captures(_ s: String) -> Captures? {
        switch fast {
        case .literal:
            return s.utf8.elementsEqual(source.utf8) ? Captures(groups: [Substring(s)], names: [nil]) : nil
        case .alternation(let set, let grouped):
            guard set.contains(ExactString(s)) else { return nil }
            return grouped ? Captures(groups: [Substring(s), Substring(s)], names: [nil, nil]) : Captures(groups: [Substring(s)], names: [nil])
        case .prefix(let p, let grouped, let nonEmpty):
            // Bytes, not Characters: RE2 compares UTF-8, Swift's hasPrefix canonical equivalents.
            guard s.utf8.starts(with: p.utf8) else { return nil }
            let rest = s.utf8.dropFirst(p.utf8.count)
            // `.` does not match a newline, as in RE2.
            if (nonEmpty && rest.isEmpty) || rest.contains(0x0A) { return nil }
            let whole = Substring(s)
            if !grouped { return Captures(groups: [whole], names: [nil]) }
            // Through unicode scalars: a Substring of Characters would round a split grapheme down.
            let suffix = Substring(whole.unicodeScalars[whole.utf8.index(whole.startIndex, offsetBy: p.utf8.count)...])
            return Captures(groups: [whole, suffix], names: [nil, nil])
        case .none:
            guard let re = compiled, let groups = re.match(s) else { return nil }
            return Captures(groups: groups.map { $0.map { Substring($0) } }, names: re.groupNames)
        }
    }

    public struct Captures {
        public var groups: [Substring?]
        public var names: [String?]

        /// Go's `Regexp.ExpandString`: `$$` is a literal `$`, `$name` takes the longest run of
        /// letters, digits and `_`, unknown groups expand to nothing, a malformed `$` stays literal.
        public func expand(_ template: String) -> String {
            guard template.utf8.contains(UInt8(ascii: "$")) else { return template }
            let t = Array(template.unicodeScalars)
            var out = String.UnicodeScalarView()
            var i = 0
            while i < t.count {
                let c = t[i]
                if c != "$" { out.append(c); i += 1; continue }
                i += 1
                if i < t.count && t[i] == "$" { out.append("$"); i += 1; continue }
                var j = i
                var brace = false
                if j < t.count && t[j] == "{" { brace = true; j += 1 }
                let nameStart = j
                while j < t.count, t[j].properties.isAlphabetic || t[j].properties.numericType == .decimal || t[j] == "_" { j += 1 }
                if j == nameStart || (brace && (j >= t.count || t[j] != "}")) {
                    out.append("$")
                    continue
                }
                let name = String(String.UnicodeScalarView(t[nameStart..<j]))
                i = brace ? j + 1 : j
                var num = 0
                for u in name.utf8 {
                    if u < 0x30 || u > 0x39 || num >= 100_000_000 { num = -1; break }
                    num = num * 10 + Int(u - 0x30)
                }
                if name.utf8.first == 0x30 && name.utf8.count > 1 { num = -1 }
                if num >= 0 {
                    if num < groups.count, let g = groups[num] { out.append(contentsOf: g.unicodeScalars) }
                } else if let k = names.firstIndex(where: { $0 == name }), let g = groups[k] {
                    out.append(contentsOf: g.unicodeScalars)
                }
            }
            return String(out)
        }
    }
}

/// One compiled `relabel_config`.
public struct RelabelRule: Sendable {
    public let config: RelabelConfig
    public let regex: AnchoredRegex

    public init(_ config: RelabelConfig) throws {
        try RelabelRule.validate(config)
        self.config = config
        self.regex = try AnchoredRegex(config.regex)
    }

    /// `relabel.Config.Validate`, with Prometheus' messages.
    public static func validate(_ c: RelabelConfig) throws {
        let a = c.action
        let name = a.rawValue
        if a == .hashmod && c.modulus == 0 {
            throw RelabelError(message: "relabel configuration for hashmod requires non-zero modulus")
        }
        if [.replace, .hashmod, .lowercase, .uppercase, .keepequal, .dropequal].contains(a) && c.targetLabel.isEmpty {
            throw RelabelError(message: "relabel configuration for \(name) action requires 'target_label' value")
        }
        if [.replace, .lowercase, .uppercase, .keepequal, .dropequal].contains(a) && !isRelabelTarget(c.targetLabel) {
            throw RelabelError(message: "\"\(c.targetLabel)\" is invalid 'target_label' for \(name) action")
        }
        let d = RelabelConfig()
        if [.lowercase, .uppercase, .keepequal, .dropequal].contains(a) && c.replacement != d.replacement {
            throw RelabelError(message: "'replacement' can not be set for \(name) action")
        }
        if a == .labelmap && !isRelabelTarget(c.replacement) {
            throw RelabelError(message: "\"\(c.replacement)\" is invalid 'replacement' for \(name) action")
        }
        if a == .hashmod && !isValidLabelName(c.targetLabel) {
            throw RelabelError(message: "\"\(c.targetLabel)\" is invalid 'target_label' for \(name) action")
        }
        if (a == .keepequal || a == .dropequal)
            && (c.regex != d.regex || c.modulus != d.modulus || c.separator != d.separator || c.replacement != d.replacement) {
            throw RelabelError(message: "\(name) action requires only 'source_labels' and `target_label`, and no other fields")
        }
        if (a == .labeldrop || a == .labelkeep)
            && (!c.sourceLabels.isEmpty || c.targetLabel != d.targetLabel || c.modulus != d.modulus
                || c.separator != d.separator || c.replacement != d.replacement) {
            throw RelabelError(message: "\(name) action requires only 'regex', and no other fields")
        }
    }

    /// `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a label name that may contain `$` references.
    static func isRelabelTarget(_ s: String) -> Bool {
        let b = Array(s.utf8)
        if b.isEmpty { return false }
        func isWord(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        // The first element must be a letter/underscore or a reference; after that words and
        // references may follow in any order.
        var i = 0
        var first = true
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "$") {
                i += 1
                if i < b.count && b[i] == UInt8(ascii: "{") {
                    let s = i + 1
                    var j = s
                    while j < b.count, isWord(b[j]) { j += 1 }
                    if j == s || j >= b.count || b[j] != UInt8(ascii: "}") { return false }
                    i = j + 1
                } else {
                    let s = i
                    while i < b.count, isWord(b[i]) { i += 1 }
                    if i == s { return false }
                }
            } else if isWord(c) {
                if first && c >= 0x30 && c <= 0x39 { return false }
                i += 1
            } else {
                return false
            }
            first = false
        }
        return true
    }
}

/// A mutable label set used while relabeling; names are unique, order is irrelevant.
public struct LabelBuilder: Sendable {
    public private(set) var pairs: [Label]

    public init(_ labels: Labels) { pairs = Array(labels.pairs) }
    public init(pairs: [Label]) { self.pairs = pairs }

    public func get(_ name: String) -> String {
        for l in pairs where l.name == name { return l.value }
        return ""
    }

    /// Setting an empty value deletes the label, as in Prometheus.
    public mutating func set(_ name: String, _ value: String) {
        if value.isEmpty { del(name); return }
        if let i = pairs.firstIndex(where: { $0.name == name }) { pairs[i].value = value } else { pairs.append(Label(name, value)) }
    }

    public mutating func del(_ name: String) { pairs.removeAll { $0.name == name } }

    public var labels: Labels { Labels(pairs) }
}

public enum Relabel {
    public static func compile(_ configs: [RelabelConfig]) throws -> [RelabelRule] {
        try configs.map(RelabelRule.init)
    }

    /// Applies the rules in order; nil when a rule drops the set.
    public static func process(_ labels: Labels, _ rules: [RelabelRule]) -> Labels? {
        if rules.isEmpty { return labels }
        var b = LabelBuilder(labels)
        return process(&b, rules) ? b.labels : nil
    }

    public static func process(_ b: inout LabelBuilder, _ rules: [RelabelRule]) -> Bool {
        for r in rules where !apply(r, &b) { return false }
        return true
    }

    static func apply(_ r: RelabelRule, _ lb: inout LabelBuilder) -> Bool {
        let c = r.config
        let val: String
        if c.sourceLabels.count == 1 {
            val = lb.get(c.sourceLabels[0])
        } else {
            val = c.sourceLabels.map { lb.get($0) }.joined(separator: c.separator)
        }
        switch c.action {
        case .drop:
            if r.regex.matches(val) { return false }
        case .keep:
            if !r.regex.matches(val) { return false }
        case .dropequal:
            if lb.get(c.targetLabel) == val { return false }
        case .keepequal:
            if lb.get(c.targetLabel) != val { return false }
        case .replace:
            guard let caps = r.regex.captures(val) else { break }
            let target = caps.expand(c.targetLabel)
            guard isValidLabelName(target) else { break }
            let res = caps.expand(c.replacement)
            if res.isEmpty { lb.del(target) } else { lb.set(target, res) }
        case .lowercase:
            lb.set(c.targetLabel, asciiAware(val, upper: false))
        case .uppercase:
            lb.set(c.targetLabel, asciiAware(val, upper: true))
        case .hashmod:
            let h = MD5.digest(val.utf8)
            var x: UInt64 = 0
            for k in 8..<16 { x = x << 8 | UInt64(h[k]) }
            lb.set(c.targetLabel, String(x % c.modulus))
        case .labelmap:
            for l in lb.pairs {
                if let caps = r.regex.captures(l.name) {
                    lb.set(caps.expand(c.replacement), l.value)
                }
            }
        case .labeldrop:
            for l in lb.pairs where r.regex.matches(l.name) { lb.del(l.name) }
        case .labelkeep:
            for l in lb.pairs where !r.regex.matches(l.name) { lb.del(l.name) }
        }
        return true
    }

    private static func asciiAware(_ s: String, upper: Bool) -> String {
        upper ? s.uppercased() : s.lowercased()
    }
}
