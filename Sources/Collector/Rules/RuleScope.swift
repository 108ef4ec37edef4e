import Storage

/// What a scoped user may see of a rule. Rules evaluate over the whole store, so a rule's
/// expression, annotations and alert values can carry other scopes' data. The decision:
///
/// - A rule is *inside* a scope when every selector of its expression carries every matcher
///   of the scope (e.g. scope `{region="eu"}`, expression `up{region="eu"} == 0`): it can only
///   have read in-scope data, so the user sees all of it.
/// - Of any other rule the user sees only alerts whose labels *from the data* (not the
///   rule's static `labels:` and not `alertname`) match the scope — an alert on an eu series
///   — and never the rule's expression, labels or annotations, nor the alerts' annotations
///   (templates can quote any value).
/// - Rules outside the scope with no visible alert are not listed at all.
struct RuleVisibility {
    let scope: Scope

    var isUnscoped: Bool { scope.isAll }

    /// With a union scope, a rule is inside when each of its selectors lies inside some
    /// alternative: every series it can read is then visible to the user.
    func ruleInside(_ rule: Rule) -> Bool {
        guard let alternatives = scope.alternatives else { return true }
        let selectors = rule.expr.selectors
        return !selectors.isEmpty && selectors.allSatisfy { s in
            alternatives.contains { alt in alt.allSatisfy { s.matchers.contains($0) } }
        }
    }

    /// For a rule outside the scope: the alert's data labels match the scope.
    func dataLabelsMatch(_ alert: Alert, of rule: Rule) -> Bool {
        let staticNames = Set(rule.labels.map(\.0)).union(["alertname"])
        return scope.matches { name in staticNames.contains(name) ? "" : alert.labels[name] ?? "" }
    }
}
