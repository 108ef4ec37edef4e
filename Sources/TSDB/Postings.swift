import Storage

/// Sorted lists of series references and the set algebra that turns label matchers into them,
/// as Prometheus' index.Postings and PostingsForMatchers.
enum Postings {
    static func intersect<T: Comparable>(_ a: [T], _ b: [T]) -> [T] {
        var out: [T] = []
        out.reserveCapacity(Swift.min(a.count, b.count))
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] { i += 1 } else if a[i] > b[j] { j += 1 } else { out.append(a[i]); i += 1; j += 1 }
        }
        return out
    }

    static func subtract<T: Comparable>(_ a: [T], _ b: [T]) -> [T] {
        if b.isEmpty { return a }
        var out: [T] = []
        out.reserveCapacity(a.count)
        var j = 0
        for x in a {
            while j < b.count && b[j] < x { j += 1 }
            if j < b.count && b[j] == x { continue }
            out.append(x)
        }
        return out
    }

    /// K-way union by repeated pairwise merges, smallest lists first.
    static func union<T: Comparable>(_ lists: [[T]]) -> [T] {
        var lists = lists.filter { !$0.isEmpty }
        if lists.isEmpty { return [] }
        if lists.count == 1 { return lists[0] }
        while lists.count > 1 {
            var next: [[T]] = []
            next.reserveCapacity(lists.count / 2 + 1)
            var k = 0
            while k + 1 < lists.count {
                next.append(merge(lists[k], lists[k + 1]))
                k += 2
            }
            if k < lists.count { next.append(lists[k]) }
            lists = next
        }
        return lists[0]
    }

    static func merge<T: Comparable>(_ a: [T], _ b: [T]) -> [T] {
        var out: [T] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] { out.append(a[i]); i += 1 } else if a[i] > b[j] { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1; j += 1 }
        }
        if i < a.count { out.append(contentsOf: a[i...]) }
        if j < b.count { out.append(contentsOf: b[j...]) }
        return out
    }
}

/// What an index (head or block) must offer so matchers can be resolved over it.
protocol PostingsIndex {
    associatedtype Ref: Comparable
    /// Every series reference, sorted.
    func allPostings() throws -> [Ref]
    /// Distinct values present for a label name.
    func values(of name: String) throws -> [String]
    func postings(_ name: String, _ value: String) throws -> [Ref]
}

extension PostingsIndex {
    /// Prometheus semantics: a matcher that matches "" also selects series without the label,
    /// so it is applied as "all minus series whose value does not match".
    func postings(for matchers: [LabelMatcher]) throws -> [Ref] {
        var result: [Ref]? = nil
        var subtractions: [[Ref]] = []
        for m in matchers {
            if m.matchesEmpty {
                if m.type == .regexMatch && m.value == ".*" { continue }
                let bad = try values(of: m.name).filter { !m.matches($0) }
                if bad.isEmpty { continue }
                subtractions.append(Postings.union(try bad.map { try postings(m.name, $0) }))
            } else {
                let p: [Ref]
                if m.type == .equal {
                    p = try postings(m.name, m.value)
                } else {
                    let good = try values(of: m.name).filter { m.matches($0) }
                    p = Postings.union(try good.map { try postings(m.name, $0) })
                }
                result = result.map { Postings.intersect($0, p) } ?? p
                if result!.isEmpty { return [] }
            }
        }
        var r = try result ?? allPostings()
        for s in subtractions {
            r = Postings.subtract(r, s)
            if r.isEmpty { break }
        }
        return r
    }
}
