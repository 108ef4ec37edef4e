import Storage

/// A user in several groups sees the union of the groups' scopes (`GroupRoles.Grant`). The
/// rewritten query can only AND matchers onto each selector, so a union reaches a remote
/// backend only when it collapses into one conjunction: alternatives that each constrain the
/// same single label with `=` or `=~` become one `=~` matcher (`{region="eu"}` or
/// `{region="us"}` is `{region=~"eu|us"}`). Anything else is refused, never widened.
enum ScopeUnion {
    /// `alternatives == nil` means everything (no scope).
    static func merge(_ alternatives: [[LabelMatcher]]?) throws(APIError) -> [LabelMatcher] {
        guard let alternatives else { return [] }
        guard !alternatives.isEmpty else { throw .forbidden("this user's groups grant no scope") }
        if alternatives.contains(where: \.isEmpty) { return [] }
        if alternatives.count == 1 { return alternatives[0] }
        let name = alternatives[0].first?.name
        var branches: [String] = []
        for alt in alternatives {
            guard alt.count == 1, let m = alt.first, m.name == name, m.type == .equal || m.type == .regexMatch else {
                throw .forbidden("the remote storage backend cannot apply this user's scope, a union of "
                    + alternatives.map { "{" + $0.map(\.description).joined(separator: ",") + "}" }.joined(separator: " or ")
                    + ": only alternatives matching one and the same label with = or =~ can be merged into one matcher")
            }
            branches.append(m.type == .equal ? quoteRegex(m.value) : m.value)
        }
        // Each alternative is anchored on its own by the `^(?:…)$` that wraps the whole regex,
        // since `|` has the lowest precedence: (?:a)|(?:b) is ^(?:(?:a)|(?:b))$.
        let regex = branches.map { "(?:\($0))" }.joined(separator: "|")
        do { return [try LabelMatcher(.regexMatch, name!, regex)] } catch {
            throw .forbidden("the remote storage backend cannot apply this user's scope: \(error)")
        }
    }

    /// RE2's QuoteMeta: every character that has a meaning in a regex, escaped.
    static func quoteRegex(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            if "\\.+*?()|[]{}^$".unicodeScalars.contains(ch) { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        return out
    }
}
