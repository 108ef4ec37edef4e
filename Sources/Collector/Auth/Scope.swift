import Storage

/// What a user may see: everything, or the union of one or more label scopes. A series (or a
/// cluster, or an alert) is visible when it matches every matcher of at least one alternative.
/// Local users have one alternative; a user signed in through a directory or an identity
/// provider has one per mapped group ("a user in several groups gets the union of their scopes").
struct Scope: Sendable, Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// nil: everything. Never empty, and no alternative is empty (that would be everything).
    let alternatives: [[LabelMatcher]]?

    static let all = Scope(alternatives: nil)

    /// One conjunction; `[]` is everything (how local users store `--scope all`).
    init(_ matchers: [LabelMatcher]) {
        self.init(anyOf: [matchers])
    }

    init(arrayLiteral elements: LabelMatcher...) { self.init(elements) }

    /// The union of `alternatives`; everything when there are none or one of them is empty.
    /// Duplicate alternatives (the same matchers in any order) are kept once.
    init(anyOf alternatives: [[LabelMatcher]]) {
        guard !alternatives.isEmpty, !alternatives.contains(where: \.isEmpty) else {
            self.init(alternatives: nil)
            return
        }
        var seen = Set<String>()
        self.init(alternatives: alternatives.filter { seen.insert(Self.key($0)).inserted })
    }

    private init(alternatives: [[LabelMatcher]]?) { self.alternatives = alternatives }

    var isAll: Bool { alternatives == nil }

    /// Whether something whose label values `value(name)` gives (`""` when absent) is visible.
    func matches(_ value: (String) -> String) -> Bool {
        guard let alternatives else { return true }
        return alternatives.contains { alt in alt.allSatisfy { $0.matches(value($0.name)) } }
    }

    var description: String {
        guard let alternatives else { return "all" }
        return alternatives.map { "{" + $0.map(\.description).joined(separator: ",") + "}" }.joined(separator: " or ")
    }

    private static func key(_ alt: [LabelMatcher]) -> String { alt.map(\.description).sorted().joined(separator: ",") }
}
