import Storage

// label_replace() and label_join(): new label values from old ones; sample values untouched.

extension Evaluator {
    func labelReplace(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        guard case .string(let dst) = unwrapParens(c.args[1]), case .string(let repl) = unwrapParens(c.args[2]),
              case .string(let src) = unwrapParens(c.args[3]), case .string(let re) = unwrapParens(c.args[4])
        else { throw PromQLError(.execution, "label_replace() needs string literal arguments") }
        // RE2: linear in the label value, so the per-series tick below bounds the whole call.
        let regex: RE2Regex
        do {
            regex = try RE2Regex(re)
        } catch {
            throw PromQLError(.execution, "invalid regular expression in label_replace(): \(re)")
        }
        if !isValidLabelName(dst) { throw PromQLError(.execution, "invalid destination label name in label_replace(): \(dst)") }
        let v = try evalVector(c.args[0], ctx)
        var names: [String: Int] = [:]
        for (k, name) in regex.groupNames.enumerated() { if let name, names[name] == nil { names[name] = k } }
        var out: [Col] = []
        var cache: [String: String?] = [:]
        for col in v {
            try tick(1 + col.vals.count)
            let sv = col.labels[src] ?? ""
            let res: String?
            if let cached = cache[sv] {
                res = cached
            } else {
                res = regex.match(sv).map { expandTemplate(repl, $0, names) }
                cache[sv] = res
            }
            if let res { out.append(Col(labels: col.labels.setting(dst, res), vals: col.vals)) } else { out.append(col) }
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }

    func labelJoin(_ c: Call, _ ctx: Ctx) throws(PromQLError) -> Val {
        var strs: [String] = []
        for a in c.args.dropFirst() {
            guard case .string(let s) = unwrapParens(a) else { throw PromQLError(.execution, "label_join() needs string literal arguments") }
            strs.append(s)
        }
        let dst = strs[0], sep = strs[1]
        let srcs = Array(strs.dropFirst(2))
        if !isValidLabelName(dst) { throw PromQLError(.execution, "invalid destination label name in label_join(): \(dst)") }
        for s in srcs where !isValidLabelName(s) { throw PromQLError(.execution, "invalid source label name in label_join(): \(s)") }
        let v = try evalVector(c.args[0], ctx)
        let out = v.map { col in
            Col(labels: col.labels.setting(dst, srcs.map { col.labels[$0] ?? "" }.joined(separator: sep)), vals: col.vals)
        }
        return .vector(try mergeSameLabels(out, anyOverlapIsError: false))
    }
}
