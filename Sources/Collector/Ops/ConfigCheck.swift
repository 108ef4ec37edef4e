import Foundation

/// `collector check config FILE`, as `promtool check config`: everything the collector would
/// refuse at start (unknown keys, bad values, rule files, TLS files that do not load) is found
/// without starting it, so a config can be checked before a rollout or in CI.
public enum CollectorConfigCheck {
    /// Returns what was checked, one line each; throws the first problem, naming file and line.
    public static func check(path: String) throws -> [String] {
        var o = CollectorOptions()
        try o.apply(configFile: path)
        var lines = ["storage: retention \(o.tsdb.retention / 1000)s, retention_size \(o.tsdb.maxBytes == 0 ? "unlimited" : String(o.tsdb.maxBytes))"]
        let groups: [RuleGroup]
        do { groups = try RuleFileParser.load(patterns: o.ruleFiles, defaultIntervalMs: o.evaluationIntervalMs) } catch {
            throw OptionsError("\(path): \(error)")
        }
        lines.append("rules: \(groups.count) group(s), \(groups.reduce(0) { $0 + $1.rules.count }) rule(s) from \(o.ruleFiles.count) pattern(s)")
        if let tls = o.tls {
            do { _ = try ServerTLSContext.makeContext(tls) } catch { throw OptionsError("\(path): tls: \(error)") }
            lines.append("tls: \(tls.files.joined(separator: ", ")) load; client_auth_type \(tls.clientAuth.rawValue)")
        } else {
            lines.append("tls: off (plain HTTP)")
        }
        for u in o.alertmanagers { lines.append("alertmanager: \(u)") }
        for u in o.webhooks { lines.append("webhook: \(u)") }
        return lines
    }
}
