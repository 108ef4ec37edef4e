import Foundation
import PromQL
import Storage
import Testing
import TestSupport

@testable import Collector

/// The remote query path's pieces without a backend process: scope unions, the answer
/// decoder, the requests it builds, and the rewrite against the collector's own ScopedQueryable.
@Suite struct RemoteQueryUnitTests {
    func m(_ s: String) throws -> [LabelMatcher] { try ScopeParser.parse(s) }

    @Test func scopeUnionsMergeOnlyIntoOneRegexOnOneLabel() throws {
        #expect(try ScopeUnion.merge(nil).isEmpty, "no scope: everything")
        #expect(try ScopeUnion.merge([[], try m(#"{region="eu"}"#)]).isEmpty, "one unscoped group: everything")
        #expect(try ScopeUnion.merge([try m(#"{region="eu", site="ber"}"#)]) == (try m(#"{region="eu", site="ber"}"#)))
        let merged = try ScopeUnion.merge([try m(#"{region="eu"}"#), try m(#"{region=~"us-.*"}"#), try m(#"{region="a.b"}"#)])
        #expect(merged.count == 1 && merged[0].name == "region" && merged[0].type == .regexMatch)
        #expect(merged[0].value == #"(?:eu)|(?:us-.*)|(?:a\.b)"#)
        for (v, want) in [("eu", true), ("us-east", true), ("a.b", true), ("axb", false), ("eu2", false), ("", false), ("xeu", false)] {
            #expect(merged[0].matches(v) == want, "\(v)")
        }
        for refused in [[try m(#"{region="eu"}"#), try m(#"{site="ber"}"#)],
                        [try m(#"{region="eu", site="ber"}"#), try m(#"{region="us"}"#)],
                        [try m(#"{region="eu"}"#), try m(#"{region!="us", site="a"}"#)]] {
            #expect(throws: APIError.self) { try ScopeUnion.merge(refused) }
            do { _ = try ScopeUnion.merge(refused) } catch { #expect(error.status == 403 && error.message.contains("remote storage backend")) }
        }
        #expect(throws: APIError.self) { try ScopeUnion.merge([]) }
    }

    @Test func decoderReadsPrometheusShapes() throws {
        let d = PromAnswerDecoder(backend: "http://b")
        func r(_ status: Int, _ s: String) -> RemoteHTTP.Response { RemoteHTTP.Response(status: status, body: Array(s.utf8)) }
        let vec = try d.queryValue(try d.data(r(200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000.123,"NaN"]},{"metric":{},"value":[1,"+Inf"]}]}}"#)))
        guard case .vector(let v) = vec else { Issue.record("not a vector"); return }
        #expect(v.count == 2 && v[0].labels == Labels(["a": "b"]) && v[0].t == 1_700_000_000_123 && v[0].v.isNaN && v[1].v == .infinity)
        let mat = try d.queryValue(try d.data(r(200, #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"x":"y"},"values":[[1,"1"],[2,"-Inf"]]}]}}"#)))
        guard case .matrix(let ms) = mat else { Issue.record("not a matrix"); return }
        #expect(ms[0].samples.map(\.t) == [1000, 2000] && ms[0].samples[1].v == -.infinity)
        guard case .scalar(let t, let x) = try d.queryValue(try d.data(r(200, #"{"status":"success","data":{"resultType":"scalar","result":[5.5,"2"]}}"#))) else {
            Issue.record("not a scalar"); return
        }
        #expect(t == 5500 && x == 2)
        #expect(try d.strings(try d.data(r(200, #"{"status":"success","data":["a","b"]}"#))) == ["a", "b"])
        #expect(try d.labelSets(try d.data(r(200, #"{"status":"success","data":[{"__name__":"up"}]}"#))) == [Labels(["__name__": "up"])])

        func error(_ resp: RemoteHTTP.Response) -> APIError? {
            do { _ = try d.data(resp); return nil } catch { return error }
        }
        // The query's own errors pass through as Prometheus' (VictoriaMetrics puts the code in errorType).
        #expect(error(r(422, #"{"status":"error","errorType":"execution","error":"many-to-many"}"#)).map { "\($0.status) \($0.type) \($0.message)" } == "422 execution many-to-many")
        #expect(error(r(422, #"{"status":"error","errorType":"422","error":"bad"}"#))?.type == "execution")
        #expect(error(r(400, #"{"status":"error","errorType":"bad_data","error":"x"}"#))?.status == 400)
        #expect(error(r(503, #"{"status":"error","errorType":"timeout","error":"query timed out"}"#)).map { "\($0.status) \($0.type)" } == "503 timeout")
        // The backend's own failures: 502/503 naming it.
        for bad in [r(500, "boom"), r(200, "not json"), r(200, #"{"status":"success"}"#), r(404, "")] {
            let e = error(bad)
            #expect(e?.status == 502 && e?.message.contains("http://b") == true, "\(bad)")
        }
        #expect(error(r(429, "slow down"))?.status == 503)
        #expect(throws: APIError.self) { try d.queryValue(["resultType": "vector", "result": [["metric": ["a": 1]]]]) }
    }

    @Test func requestsCarryTheScope() throws {
        let scope = try m(#"{region="eu"}"#)
        #expect(RemoteQueryBackend.matches([], []).isEmpty)
        #expect(RemoteQueryBackend.matches([], scope).map(\.1) == [#"{region="eu"}"#])
        #expect(RemoteQueryBackend.matches([try m(#"{__name__="up"}"#), try m(#"{region!="eu",job="x"}"#)], scope).map(\.1)
                == [#"{__name__="up",region="eu"}"#, #"{region!="eu",job="x",region="eu"}"#])
        let b = RemoteQueryBackend(options: RemoteStorageOptions(writeURL: "http://w", queryURL: "http://q"), defaultSubqueryStepMs: 60_000)
        #expect(b.remoteText(try parseExpr("max_over_time(up[5m:])"), scope) == #"max_over_time(up{region="eu"}[5m:1m])"#)
        #expect(RemoteQueryBackend.seconds(1_700_000_000_005) == "1700000000.005" && RemoteQueryBackend.seconds(-5) == "-0.005")
        #expect(RemoteHTTP.formEncode([("match[]", #"{a="é b"}"#)]) == "match%5B%5D=%7Ba%3D%22%C3%A9%20b%22%7D")
    }

    /// The rewrite as the backend receives it, evaluated unscoped, against the collector's own
    /// ScopedQueryable (the embedded path) on in- and out-of-scope series.
    @Test func rewriteAnswersAsScopedQueryable() async throws {
        let store = MemoryStorage()
        for (region, base) in [("eu", 1.0), ("us", 100.0), ("", 1000.0)] {
            for (i, name) in ["up", "temp", "info"].enumerated() {
                var l = Labels(["__name__": name, "cluster": "\(region)-\(i)"])
                if !region.isEmpty { l = l.setting("region", region) }
                for t in stride(from: Int64(0), through: 600_000, by: 15_000) { store.append(l, t, base + Double(i) + Double(t / 15_000)) }
            }
        }
        let scope = try m(#"{region="eu"}"#)
        let engine = Engine()
        let embedded = EmbeddedQueryBackend(engine: engine, storage: store)
        let remote = RemoteQueryBackend(options: RemoteStorageOptions(writeURL: "http://w", queryURL: "http://q"), defaultSubqueryStepMs: 60_000)
        let queries = [
            #"{__name__=~".+"}"#, #"count({__name__=~".+"})"#, #"up{region!="eu"}"#, #"{__name__=~".+",region=~".*"}"#, #"up or on() vector(1)"#,
            #"temp unless temp{region="us"}"#, #"absent(up{region="us"})"#, #"absent(nothing{region="eu"})"#, #"absent(nothing)"#,
            #"label_replace(up, "region", "us", "", "")"#, #"sum by (region) ({__name__!=""})"#, #"max_over_time({region!="eu",__name__="up"}[5m:])"#,
            #"rate(temp[5m] offset 1m)"#, #"temp @ end()"#, #"count_values("region", up)"#, #"absent_over_time(nothing{region="us"}[1m])"#,
        ]
        for q in queries {
            let e = try parseExpr(q)
            let rewritten = try parseExpr(remote.remoteText(e, scope))
            let a = try await embedded.instantQuery(e, at: 600_000, scope: Scope(scope), timeout: .seconds(10))
            let b = try await embedded.instantQuery(rewritten, at: 600_000, scope: [], timeout: .seconds(10))
            #expect(Self.text(a) == Self.text(b), "\(q)")
            let ra = try await embedded.rangeQuery(e, start: 300_000, end: 600_000, step: 60_000, scope: Scope(scope), timeout: .seconds(10))
            let rb = try await embedded.rangeQuery(rewritten, start: 300_000, end: 600_000, step: 60_000, scope: [], timeout: .seconds(10))
            #expect(Self.text(ra) == Self.text(rb), "\(q) over a range")
        }
    }

    static func text(_ v: QueryValue) -> String {
        switch v {
        case .vector(let els): return els.map { "\($0.labels) \($0.v)" }.sorted().joined(separator: "\n")
        case .matrix(let ms): return ms.map { "\($0.labels) \($0.samples.map(\.v))" }.sorted().joined(separator: "\n")
        case .scalar(_, let x): return "\(x)"
        case .string(_, let s): return s
        }
    }

    /// Rules evaluate through the backend too; one that cannot be reached is a rule error
    /// naming it, never a crash.
    @Test func ruleThroughAnUnreachableBackendIsARuleError() async throws {
        let r = try #require(try RuleFileParser.parse("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(up)\n",
                                                      file: "t.yml", defaultIntervalMs: 10_000).first?.rules.first)
        var st = RuleState(rule: r)
        let url = "http://127.0.0.1:\(freePort())"
        let backend = RemoteQueryBackend(options: RemoteStorageOptions(writeURL: url + "/api/v1/write", queryURL: url), defaultSubqueryStepMs: 60_000)
        let out = await st.evaluate(backend: backend, timeout: .seconds(5), now: 1000)
        #expect(out.isEmpty && st.health == "err")
        #expect(st.lastError.contains(url) && st.lastError.contains("unreachable"), "\(st.lastError)")
        #expect(await backend.unreachableReason() != nil)
    }
}
