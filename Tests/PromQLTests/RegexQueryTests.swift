#if canImport(Glibc)
import Glibc
#endif
import Testing
import Storage
@testable import PromQL

/// Regexes in PromQL (`=~`, `!~`, `label_replace`) go through RE2: Prometheus' syntax and
/// anchoring, and no pattern can make a query run away from its deadline.
@Suite struct RegexQueryTests {
    static func store(_ labelSets: [[String: String]]) -> MemoryStorage {
        let s = MemoryStorage()
        for l in labelSets { s.append(Labels(l), 0, 1) }
        return s
    }

    func labels(_ q: String, _ s: any Queryable, _ e: Engine = Engine()) async throws(PromQLError) -> [Labels] {
        guard case .vector(let v) = try await e.instantQuery(q, at: 0, storage: s) else {
            Issue.record("\(q) is not a vector"); return []
        }
        return v.map(\.labels).sorted()
    }

    /// The query from the issue: exponential for a backtracking engine, a no-match for RE2.
    @Test func pathologicalLabelReplaceFinishes() async throws {
        let empty = MemoryStorage()
        for n in [26, 40, 5000] {
            let a = String(repeating: "a", count: n)
            let q = #"label_replace(label_replace(vector(1),"x","\#(a)","",""),"y","$1","x","(a*)*b")"#
            #expect(try await labels(q, empty) == [Labels(["x": a])])
        }
        let a40 = String(repeating: "a", count: 40)
        let hit = #"label_replace(label_replace(vector(1),"x","\#(a40)","",""),"y","<$1>","x","(a|aa)*")"#
        #expect(try await labels(hit, empty) == [Labels(["x": a40, "y": "<a>"])])
    }

    @Test func labelReplaceCaptures() async throws {
        let s = Self.store([["__name__": "up", "instance": "10.0.0.7:9100", "pod": "web-7d4b9c-x2z9q"],
                            ["__name__": "up", "instance": "node-b", "pod": "db-0"]])
        #expect(try await labels(#"label_replace(up, "host", "$1", "instance", "([^:]+):\\d+")"#, s) == [
            Labels(["__name__": "up", "host": "10.0.0.7", "instance": "10.0.0.7:9100", "pod": "web-7d4b9c-x2z9q"]),
            Labels(["__name__": "up", "instance": "node-b", "pod": "db-0"]),
        ])
        // Named groups, `${1}x`, `$$`, an absent group and a group that did not take part.
        #expect(try await labels(#"label_replace(up, "app", "${app}-${1}x-$$-$9-[$rs]", "pod", "(?P<app>[a-z]+)-(?:(?P<rs>[0-9a-f]{6})-[a-z0-9]{5}|\\d+)")"#, s) == [
            Labels(["__name__": "up", "app": "db-dbx-$--[]", "instance": "node-b", "pod": "db-0"]),
            Labels(["__name__": "up", "app": "web-webx-$--[7d4b9c]", "instance": "10.0.0.7:9100", "pod": "web-7d4b9c-x2z9q"]),
        ])
        // Anchored: a pattern matching only part of the value changes nothing.
        #expect(try await labels(#"label_replace(up, "x", "y", "pod", "web")"#, s).allSatisfy { $0["x"] == nil })
    }

    @Test func selectorMatchers() async throws {
        let s = Self.store([["__name__": "up", "job": "node"], ["__name__": "up", "job": "node-2"],
                            ["__name__": "up", "job": "Node"], ["__name__": "up"]])
        func jobs(_ q: String) async throws -> [String] { try await labels(q, s).map { $0["job"] ?? "-" } }
        #expect(try await jobs(#"up{job=~"node|x"}"#) == ["node"])
        #expect(try await jobs(#"up{job=~"(?i)node"}"#) == ["Node", "node"])
        #expect(try await jobs(#"up{job=~"node-\\d"}"#) == ["node-2"])
        #expect(try await jobs(#"up{job!~"node.*"}"#) == ["-", "Node"])
        #expect(try await jobs(#"up{job=~"(a*)*b|node"}"#) == ["node"])
    }

    @Test func invalidRegexIsAClearError() async {
        let s = MemoryStorage()
        do {
            _ = try await labels(#"label_replace(vector(1), "x", "$1", "y", "(")"#, s)
            Issue.record("must fail")
        } catch {
            #expect(error.type == .execution)
            #expect(error.message == "invalid regular expression in label_replace(): (")
        }
        do {
            _ = try await labels(#"up{job=~"a(?=b)"}"#, s)
            Issue.record("must fail")
        } catch {
            #expect(error.type == .badData)
            #expect(error.message.contains("error parsing regexp: invalid or unsupported Perl syntax: `(?=`"), "\(error.message)")
        }
    }

    /// label_replace over many series stops with `canceled` when its query is cancelled, here
    /// from inside the storage read that feeds it.
    @Test func labelReplaceStopsOnCancellation() async throws {
        let base = MemoryStorage()
        for k in 0..<20_000 { base.append(Labels(["__name__": "c", "k": String(repeating: "a", count: 30) + String(k)]), 0, 1) }
        let box = TaskBox()
        let storage = CancellingStorage(inner: base, box: box)
        let task = Task { try await Engine().rangeQuery(#"label_replace(c, "y", "$1", "k", "(a*)*b")"#, start: 0, end: 100_000, step: 1000, storage: storage) }
        box.task.withLock { $0 = task }
        do {
            _ = try await task.value
            Issue.record("cancellation must apply")
        } catch let error as PromQLError {
            #expect(error.type == .canceled)
        }
    }

    /// The deadline passes while the storage is read; the query then stops with `timeout`
    /// instead of finishing the label_replace over every series.
    @Test func labelReplaceStopsAtDeadline() async throws {
        let base = MemoryStorage()
        for k in 0..<20_000 { base.append(Labels(["__name__": "c", "k": String(k)]), 0, 1) }
        var o = EngineOptions()
        o.timeout = .milliseconds(50)
        let slow = SlowStorage(inner: base, delay: .milliseconds(200))
        do {
            _ = try await Engine(options: o).rangeQuery(#"label_replace(c, "y", "$1", "k", "(\\d+)")"#, start: 0, end: 100_000, step: 1000, storage: slow)
            Issue.record("the deadline must apply")
        } catch {
            #expect(error.type == .timeout)
        }
    }
}

/// Answers after sleeping, so a query's deadline passes during its storage read.
final class SlowStorage: Queryable, Sendable {
    let inner: MemoryStorage
    let delay: Duration
    init(inner: MemoryStorage, delay: Duration) { self.inner = inner; self.delay = delay }
    func querier(mint: Int64, maxt: Int64) throws -> any Querier {
        let c = delay.components
        usleep(UInt32(c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000))
        return try inner.querier(mint: mint, maxt: maxt)
    }
}
