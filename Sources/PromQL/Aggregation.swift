import Storage

/// A port of Go's container/heap over (value, column) pairs, so that topk/bottomk pick the same
/// elements as Prometheus among ties and NaNs.
struct ValueHeap {
    var items: [(v: Double, c: Int)] = []
    let reverse: Bool

    @inline(__always) func less(_ i: Int, _ j: Int) -> Bool {
        if items[i].v.isNaN { return true }
        return reverse ? items[i].v > items[j].v : items[i].v < items[j].v
    }

    mutating func up(_ j0: Int) {
        var j = j0
        while true {
            let i = (j - 1) / 2
            if i == j || !less(j, i) { break }
            items.swapAt(i, j)
            j = i
        }
    }

    mutating func down(_ i0: Int, _ n: Int) {
        var i = i0
        while true {
            let j1 = 2 * i + 1
            if j1 >= n || j1 < 0 { break }
            var j = j1
            let j2 = j1 + 1
            if j2 < n && less(j2, j1) { j = j2 }
            if !less(j, i) { break }
            items.swapAt(i, j)
            i = j
        }
    }

    mutating func push(_ x: (v: Double, c: Int)) {
        items.append(x)
        up(items.count - 1)
    }

    /// The heap's elements best first, as Prometheus orders them: `sort.Sort(sort.Reverse(heap))`.
    /// Go sorts up to 12 elements by insertion (stable on this array), so ties keep heap order;
    /// beyond that Go's pdqsort may order ties differently (values still match).
    func resultOrder() -> [(v: Double, c: Int)] {
        var h = self
        let count = h.items.count
        if count <= 12 {
            for i in 1..<Swift.max(count, 1) {
                var j = i
                while j > 0 && h.less(j - 1, j) {
                    h.items.swapAt(j, j - 1)
                    j -= 1
                }
            }
            return h.items
        }
        let heap = self
        return heap.items.indices.sorted { heap.less($1, $0) }.map { heap.items[$0] }
    }

    mutating func pop() {
        let n = items.count - 1
        items.swapAt(0, n)
        down(0, n)
        items.removeLast()
    }
}

/// Prometheus' `quantile` over a set of values (NaNs sort first, as its heap ordering does).
func quantileOf(_ q: Double, _ values: inout [Double]) -> Double {
    if values.isEmpty { return .nan }
    if q < 0 { return -.infinity }
    if q > 1 { return .infinity }
    if q.isNaN { return .nan }
    values.sort { a, b in a.isNaN ? !b.isNaN : (b.isNaN ? false : a < b) }
    let n = Double(values.count)
    let rank = q * (n - 1)
    let lower = Swift.max(0, rank.rounded(.down))
    let upper = Swift.min(n - 1, lower + 1)
    let weight = rank - rank.rounded(.down)
    return values[Int(lower)] * (1 - weight) + values[Int(upper)] * weight
}

extension Evaluator {
    func groupLabels(_ l: Labels, _ grouping: Set<String>, without: Bool) -> Labels {
        without ? l.removing(grouping.union([Labels.metricName])) : l.keeping(grouping)
    }

    func evalAggregate(_ a: AggregateExpr, _ ctx: Ctx) throws(PromQLError) -> Val {
        let n = ctx.n
        var param: [Double] = []
        var label = ""
        if let p = a.param {
            if a.op == .countValues {
                guard case .string(let s) = try eval(p, ctx) else { throw PromQLError(.execution, "expected string parameter") }
                label = s
            } else {
                param = try evalScalar(p, ctx)
            }
        }
        let vec = try evalVector(a.expr, ctx)
        let grouping = Set(a.grouping)

        switch a.op {
        case .countValues:
            if !isValidLabelName(label) { throw PromQLError(.execution, "invalid label name \(goQuote(label))") }
            var index: [Labels: Int] = [:]
            var out: [Col] = []
            var g = grouping
            if !a.without { g.insert(label) }
            for c in vec {
                try tick(n)
                for i in 0..<n where !isAbsent(c.vals[i]) {
                    let m = c.labels.setting(label, formatPromValue(c.vals[i]))
                    let key = groupLabels(m, g, without: a.without)
                    let k: Int
                    if let e = index[key] { k = e } else {
                        k = out.count
                        index[key] = k
                        out.append(Col(labels: key, vals: [Double](repeating: absentValue, count: n)))
                    }
                    out[k].vals[i] = isAbsent(out[k].vals[i]) ? 1 : out[k].vals[i] + 1
                }
            }
            return .vector(out)
        case .topk, .bottomk, .quantile:
            var index: [Labels: Int] = [:]
            var groupOf: [Int] = []
            var groups = 0
            for c in vec {
                let key = groupLabels(c.labels, grouping, without: a.without)
                if let e = index[key] { groupOf.append(e) } else { index[key] = groups; groupOf.append(groups); groups += 1 }
            }
            if a.op == .quantile {
                var keys = [Labels](repeating: Labels(), count: groups)
                for (k, v) in index { keys[v] = k }
                var out = keys.map { Col(labels: $0, vals: [Double](repeating: absentValue, count: n)) }
                var buf = [[Double]](repeating: [], count: groups)
                for i in 0..<n {
                    try tick(vec.count)
                    for g in 0..<groups { buf[g].removeAll(keepingCapacity: true) }
                    for (k, c) in vec.enumerated() where !isAbsent(c.vals[i]) { buf[groupOf[k]].append(c.vals[i]) }
                    for g in 0..<groups where !buf[g].isEmpty { out[g].vals[i] = quantileOf(param[i], &buf[g]) }
                }
                return .vector(out.filter { $0.vals.contains { !isAbsent($0) } })
            }
            var out = vec.map { Col(labels: $0.labels, vals: [Double](repeating: absentValue, count: n)) }
            let reverse = a.op == .bottomk
            var heaps = [ValueHeap](repeating: ValueHeap(reverse: reverse), count: groups)
            for i in 0..<n {
                try tick(vec.count)
                let f = param[i]
                if !(f >= -9.223372036854775e18 && f <= 9.223372036854775e18) {
                    throw PromQLError(.execution, "Scalar value \(formatGoFloat(f)) overflows int64")
                }
                let k = Int(f)
                if k < 1 { continue }
                for g in 0..<groups { heaps[g].items.removeAll(keepingCapacity: true) }
                for (ci, c) in vec.enumerated() {
                    let v = c.vals[i]
                    if isAbsent(v) { continue }
                    let g = groupOf[ci]
                    if heaps[g].items.isEmpty {
                        heaps[g].items.append((v, ci))
                        continue
                    }
                    let top = heaps[g].items[0].v
                    let better = reverse ? top > v : top < v
                    if heaps[g].items.count < k || better || top.isNaN {
                        if heaps[g].items.count == k {
                            if k == 1 { heaps[g].items[0] = (v, ci); continue }
                            heaps[g].pop()
                        }
                        heaps[g].push((v, ci))
                    }
                }
                for g in 0..<groups {
                    for it in heaps[g].items { out[it.c].vals[i] = it.v }
                }
            }
            if n == 1 {
                // An instant query answers in Prometheus' order: groups as first seen, each by value.
                return .vector(heaps.flatMap { $0.resultOrder() }.map { out[$0.c] })
            }
            return .vector(out.filter { $0.vals.contains { !isAbsent($0) } })
        default:
            break
        }

        // Column-wise accumulation: per group and step, in input order like Prometheus.
        var index: [Labels: Int] = [:]
        var keys: [Labels] = []
        var groupOf: [Int] = []
        groupOf.reserveCapacity(vec.count)
        if !a.without && grouping.isEmpty {
            // One group of everything (`count(x)`): no label set to build and hash per series.
            if !vec.isEmpty { keys = [Labels()]; groupOf = [Int](repeating: 0, count: vec.count) }
        } else {
            for c in vec {
                let key = groupLabels(c.labels, grouping, without: a.without)
                if let e = index[key] { groupOf.append(e) } else {
                    index[key] = keys.count
                    groupOf.append(keys.count)
                    keys.append(key)
                }
            }
        }
        let groups = keys.count
        var value = [Double](repeating: 0, count: groups * n)
        var mean = [Double](repeating: 0, count: a.op == .avg || a.op == .stddev || a.op == .stdvar ? groups * n : 0)
        var count = [Double](repeating: 0, count: groups * n)
        let op = a.op
        for (ci, c) in vec.enumerated() {
            try tick(n)
            let base = groupOf[ci] * n
            c.vals.withUnsafeBufferPointer { vals in
                for i in 0..<n {
                    let v = vals[i]
                    if isAbsent(v) { continue }
                    let k = base + i
                    let cnt = count[k] + 1
                    count[k] = cnt
                    if cnt == 1 {
                        switch op {
                        case .stddev, .stdvar: value[k] = 0; mean[k] = v
                        case .avg: mean[k] = v
                        case .group: value[k] = 1
                        default: value[k] = v
                        }
                        continue
                    }
                    switch op {
                    case .sum: value[k] += v
                    case .avg:
                        let m = mean[k]
                        if m.isInfinite {
                            if v.isInfinite && (m > 0) == (v > 0) { break }
                            if !v.isInfinite && !v.isNaN { break }
                        }
                        mean[k] = m + (v / cnt - m / cnt)
                    case .max: if value[k] < v || value[k].isNaN { value[k] = v }
                    case .min: if value[k] > v || value[k].isNaN { value[k] = v }
                    case .stddev, .stdvar:
                        let delta = v - mean[k]
                        mean[k] += delta / cnt
                        value[k] += delta * (v - mean[k])
                    default: break
                    }
                }
            }
        }
        var out: [Col] = []
        out.reserveCapacity(groups)
        for g in 0..<groups {
            var vals = [Double](repeating: absentValue, count: n)
            for i in 0..<n {
                let k = g * n + i
                let cnt = count[k]
                if cnt == 0 { continue }
                switch op {
                case .avg: vals[i] = mean[k]
                case .count: vals[i] = cnt
                case .stdvar: vals[i] = value[k] / cnt
                case .stddev: vals[i] = (value[k] / cnt).squareRoot()
                default: vals[i] = value[k]
                }
            }
            out.append(Col(labels: keys[g], vals: vals))
        }
        return .vector(out)
    }
}
