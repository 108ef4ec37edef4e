import Foundation
import PromQL
import Storage
import YAMLTree

/// One rule of a Prometheus rule file, parsed and checked.
struct Rule: Sendable {
    enum Kind: Sendable, Equatable {
        case recording
        case alerting(forMs: Int64, keepFiringForMs: Int64)
    }

    let name: String
    let kind: Kind
    let query: String
    let expr: Expr
    /// In file order; values may hold templates (alerting rules only).
    let labels: [(String, String)]
    let annotations: [(String, String)]
}

struct RuleGroup: Sendable {
    let name: String
    let file: String
    let intervalMs: Int64
    let rules: [Rule]
}

struct RuleFileError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Reads Prometheus rule files (`groups: [{name, interval, rules: [{record|alert, expr, for,
/// keep_firing_for, labels, annotations}]}]`), so existing files and `promtool check rules`
/// work unchanged. Every error names the file and line.
enum RuleFileParser {
    /// `patterns` may hold shell globs, as Prometheus' `rule_files` does.
    static func load(patterns: [String], defaultIntervalMs: Int64) throws -> [RuleGroup] {
        var groups: [RuleGroup] = []
        for pattern in patterns {
            let files = expand(pattern)
            if files.isEmpty && !pattern.contains(where: { "*?[".contains($0) }) {
                throw RuleFileError("rule file \(pattern) does not exist")
            }
            for file in files {
                let text: String
                do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                    throw RuleFileError("cannot read rule file \(file): \(error.localizedDescription)")
                }
                groups += try parse(text, file: file, defaultIntervalMs: defaultIntervalMs)
            }
        }
        return groups
    }

    static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    static func parse(_ text: String, file: String, defaultIntervalMs: Int64) throws -> [RuleGroup] {
        let root: YAMLNode?
        do { root = try YAML.compose(text) } catch { throw RuleFileError("\(file): invalid YAML: \(error)") }
        guard let root else { return [] }
        func fail(_ n: YAMLNode?, _ msg: String) -> RuleFileError { RuleFileError("\(file):\(n?.line ?? 0): \(msg)") }
        guard let top = root.mapping else { throw fail(root, "a rule file is a mapping with a `groups:` list") }
        for p in top where p.key.scalar != "groups" {
            throw fail(p.key, "unknown key \"\(p.key.scalar ?? "?")\" (a rule file has only `groups`)")
        }
        guard let list = root["groups"] else { return [] }
        guard let seq = list.sequence else { throw fail(list, "`groups` must be a list") }
        var names = Set<String>()
        var out: [RuleGroup] = []
        for g in seq {
            guard g.mapping != nil else { throw fail(g, "each group is a mapping with name, interval and rules") }
            try checkKeys(g, ["name", "interval", "rules", "limit", "query_offset"], what: "group", fail)
            guard let name = g["name"]?.scalar, !name.isEmpty else { throw fail(g, "group name must not be empty") }
            guard names.insert(name).inserted else { throw fail(g["name"], "group name \"\(name)\" is repeated in the same file") }
            var interval = defaultIntervalMs
            if let iv = g["interval"] {
                guard let ms = parseDurationMs(iv.scalar ?? ""), ms > 0 else {
                    throw fail(iv, "group \"\(name)\": invalid interval \"\(iv.scalar ?? "")\", expected a duration like 30s or 1m")
                }
                interval = ms
            }
            var rules: [Rule] = []
            if let rn = g["rules"] {
                guard let rs = rn.sequence else { throw fail(rn, "group \"\(name)\": `rules` must be a list") }
                for r in rs { rules.append(try rule(r, group: name, fail)) }
            }
            out.append(RuleGroup(name: name, file: file, intervalMs: interval, rules: rules))
        }
        return out
    }

    private static func checkKeys(_ m: YAMLNode, _ allowed: Set<String>, what: String,
                                  _ fail: (YAMLNode?, String) -> RuleFileError) throws {
        for p in m.mapping ?? [] where !allowed.contains(p.key.scalar ?? "") {
            throw fail(p.key, "unknown key \"\(p.key.scalar ?? "?")\" in \(what) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func rule(_ m: YAMLNode, group: String, _ fail: (YAMLNode?, String) -> RuleFileError) throws -> Rule {
        guard m.mapping != nil else { throw fail(m, "group \"\(group)\": each rule is a mapping") }
        try checkKeys(m, ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"], what: "rule", fail)
        let record = m["record"]?.scalar, alert = m["alert"]?.scalar
        let name: String
        switch (record, alert) {
        case (let rec?, nil):
            guard isValidMetricName(rec) else { throw fail(m["record"], "invalid recording rule name \"\(rec)\": must be a valid metric name") }
            name = rec
        case (nil, let a?):
            guard !a.isEmpty else { throw fail(m["alert"], "alert name must not be empty") }
            name = a
        case (nil, nil): throw fail(m, "group \"\(group)\": a rule needs `record` or `alert`")
        default: throw fail(m, "group \"\(group)\": a rule has only one of `record` and `alert`")
        }
        guard let exprNode = m["expr"], let query = exprNode.scalar, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw fail(m, "rule \"\(name)\": `expr` must not be empty")
        }
        let expr: Expr
        do { expr = try parseExpr(query) } catch {
            throw fail(exprNode, "rule \"\(name)\": invalid expr: \(error.message)")
        }
        func duration(_ key: String) throws -> Int64 {
            guard let n = m[key] else { return 0 }
            guard record == nil else { throw fail(n, "recording rule \"\(name)\" cannot have `\(key)`") }
            guard let ms = parseDurationMs(n.scalar ?? ""), ms >= 0 else {
                throw fail(n, "rule \"\(name)\": invalid \(key) \"\(n.scalar ?? "")\", expected a duration like 5m")
            }
            return ms
        }
        let forMs = try duration("for"), keepMs = try duration("keep_firing_for")
        func pairs(_ key: String) throws -> [(String, String)] {
            guard let n = m[key] else { return [] }
            guard let mm = n.mapping else { throw fail(n, "rule \"\(name)\": `\(key)` must be a mapping") }
            return try mm.map { p in
                let ks = p.key.scalar ?? ""
                if key == "labels" && !isValidLabelName(ks) { throw fail(p.key, "rule \"\(name)\": invalid label name \"\(ks)\"") }
                return (ks, p.value.scalar ?? "")
            }
        }
        if record != nil, m["annotations"] != nil { throw fail(m["annotations"], "recording rule \"\(name)\" cannot have annotations") }
        return Rule(name: name, kind: record != nil ? .recording : .alerting(forMs: forMs, keepFiringForMs: keepMs),
                    query: query, expr: expr, labels: try pairs("labels"), annotations: try pairs("annotations"))
    }
}
