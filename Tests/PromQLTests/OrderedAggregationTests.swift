import Testing
import Storage
@testable import PromQL

/// The `eval_ordered` cases of Prometheus' promql/testdata/aggregators.test (topk/bottomk) and
/// its count_values cases: an instant query must answer in Prometheus' order, not by labels.
/// Same data as there: `load 5m` with `0+Nx10`, evaluated at 50m.
@Suite struct OrderedAggregationTests {
    static let storage: MemoryStorage = {
        let s = MemoryStorage()
        let rows: [(String, String, String, Double?)] = [
            ("api-server", "0", "production", 10), ("api-server", "1", "production", 20), ("api-server", "2", "production", nil),
            ("api-server", "0", "canary", 30), ("api-server", "1", "canary", 40),
            ("app-server", "0", "production", 50), ("app-server", "1", "production", 60),
            ("app-server", "0", "canary", 70), ("app-server", "1", "canary", 80),
        ]
        for (job, instance, group, step) in rows {
            let l = Labels(["__name__": "http_requests", "job": job, "instance": instance, "group": group])
            // `0+Nx10` is 11 samples 5m apart; the NaN series is 10 NaNs.
            for k in 0...(step == nil ? 9 : 10) { s.append(l, Int64(k) * 300_000, step.map { Double(k) * $0 } ?? .nan) }
        }
        for k in 0...10 { s.append(Labels(["__name__": "foo"]), Int64(k) * 300_000, 3) }
        let versions: [(String, String, String, Double)] = [
            ("api-server", "0", "production", 6), ("api-server", "1", "production", 6), ("api-server", "2", "production", 6),
            ("api-server", "0", "canary", 8), ("api-server", "1", "canary", 8),
            ("app-server", "0", "production", 6), ("app-server", "1", "production", 6),
            ("app-server", "0", "canary", 7), ("app-server", "1", "canary", 7),
        ]
        for (job, instance, group, v) in versions {
            let l = Labels(["__name__": "version", "job": job, "instance": instance, "group": group])
            for k in 0...1 { s.append(l, Int64(k) * 300_000, v) }
        }
        return s
    }()

    /// `(job, instance, group, value)` of each element, in answer order.
    func eval(_ q: String, at minutes: Int64 = 50) async throws -> [String] {
        guard case .vector(let v) = try await Engine().instantQuery(q, at: minutes * 60_000, storage: Self.storage) else {
            Issue.record("\(q) is not a vector"); return []
        }
        return v.map { e in
            let l = e.labels
            return "\(l["job"] ?? "")/\(l["instance"] ?? "")/\(l["group"] ?? "")=\(formatPromValue(e.v))"
        }
    }

    @Test func topkAnswersByValueDescending() async throws {
        let top3 = ["app-server/1/canary=800", "app-server/0/canary=700", "app-server/1/production=600"]
        #expect(try await eval("topk(3, http_requests)") == top3)
        #expect(try await eval("topk((3), (http_requests))") == top3)
        #expect(try await eval("topk(scalar(foo), http_requests)") == top3)
        #expect(try await eval(#"topk(5, http_requests{group="canary",job="app-server"})"#)
                == ["app-server/1/canary=800", "app-server/0/canary=700"])
        // NaN is sorted away from the top.
        let nanLast = ["api-server/1/production=200", "api-server/0/production=100", "api-server/2/production=NaN"]
        #expect(try await eval(#"topk(3, http_requests{job="api-server",group="production"})"#) == nanLast)
        #expect(try await eval(#"topk(9999999999, http_requests{job="api-server",group="production"})"#) == nanLast)
    }

    @Test func bottomkAnswersByValueAscending() async throws {
        #expect(try await eval("bottomk(3, http_requests)")
                == ["api-server/0/production=100", "api-server/1/production=200", "api-server/0/canary=300"])
        #expect(try await eval(#"bottomk(5, http_requests{group="canary",job="app-server"})"#)
                == ["app-server/0/canary=700", "app-server/1/canary=800"])
        #expect(try await eval(#"bottomk by (group) (2, http_requests{group="production"})"#)
                == ["api-server/0/production=100", "api-server/1/production=200"])
        #expect(try await eval(#"bottomk(3, http_requests{job="api-server",group="production"})"#)
                == ["api-server/0/production=100", "api-server/1/production=200", "api-server/2/production=NaN"])
        #expect(try await eval(#"bottomk(9999999999, http_requests{job="app-server",group="canary"})"#)
                == ["app-server/0/canary=700", "app-server/1/canary=800"])
    }

    @Test func groupsComeInFirstSeenOrder() async throws {
        // Input is label-sorted: group="canary" is seen first, so its ranking comes first.
        #expect(try await eval("topk by (group) (1, http_requests)")
                == ["app-server/1/canary=800", "app-server/1/production=600"])
    }

    @Test func countValuesKeepsFirstSeenOrder() async throws {
        // Series sorted by labels: group="canary" (8, then 7) before "production" (6).
        guard case .vector(let v) = try await Engine().instantQuery(#"count_values("version", version)"#, at: 300_000, storage: Self.storage)
        else { Issue.record("not a vector"); return }
        #expect(v.map { "\($0.labels["version"] ?? "")=\(formatPromValue($0.v))" } == ["8=2", "7=2", "6=5"])
    }
}
