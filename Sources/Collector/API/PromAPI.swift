import Foundation
import PromQL
import Storage
import TSDB

/// A JSON answer of the Prometheus HTTP API, ready to send.
struct APIResponse: Sendable {
    var status: Int
    var body: [UInt8]
    /// Seconds for a `Retry-After` header (503 from query admission).
    var retryAfterSeconds: Int? = nil

    static func success(_ write: (inout JSONWriter) -> Void) -> APIResponse {
        var w = JSONWriter()
        w.raw("{\"status\":\"success\",\"data\":")
        write(&w)
        w.raw("}")
        return APIResponse(status: 200, body: w.bytes)
    }

    static func error(_ e: APIError) -> APIResponse {
        var w = JSONWriter()
        w.raw("{\"status\":\"error\",\"errorType\":")
        w.string(e.type)
        w.raw(",\"error\":")
        w.string(e.message)
        w.raw("}")
        return APIResponse(status: e.status, body: w.bytes)
    }
}

/// The Prometheus HTTP API (query, query_range, series, labels, label values, status),
/// answering in Prometheus' exact JSON shapes. Reads go through `backend` (embedded or
/// remote, see QueryBackend), narrowed there to the caller's scope.
struct PromAPI: Sendable {
    let tsdb: TSDB
    let engine: Engine
    let backend: any QueryBackend
    let metrics: CollectorMetrics
    /// `query.max_concurrency`: admission for everything that reads the store.
    let gate: QueryGate
    /// Metric metadata from remote-write, for /api/v1/metadata.
    var metadata = MetadataStore()
    /// `storage.remote`: status/tsdb names the write backend and whether it answers.
    var writeBackendStatus: WriteBackendStatus? = nil
    /// Most steps (minus one) a range query may have: Prometheus' resolution limit.
    static let maxPoints: Int64 = 11_000

    /// Runs one endpoint's handler (bound to its route in PromRoutes.swift): endpoints that read
    /// the store (`gated`) pass `gate` first; `body` gets the time spent waiting there. Errors
    /// become Prometheus' JSON errors.
    func run(gated: Bool, _ body: (_ waited: Duration) async throws -> APIResponse) async -> APIResponse {
        let arrived = ContinuousClock.now
        if gated {
            // A waiter gives up when its whole query timeout has passed in the queue.
            switch await gate.enter(maxWait: engine.options.timeout) {
            case .admitted: break
            case .queueFull:
                metrics.queryRejected("queue_full")
                var r = APIResponse.error(.unavailable(
                    "too many queries: \(gate.maxConcurrent) running and \(gate.maxQueued) waiting (query.max_concurrency); retry later"))
                r.retryAfterSeconds = 1
                return r
            case .timedOut:
                metrics.queryRejected("queue_timeout")
                var r = APIResponse.error(APIError(type: "timeout", message: "query timed out in query queue", status: 503))
                r.retryAfterSeconds = 5
                return r
            }
        }
        defer { if gated { gate.leave() } }
        do {
            return try await body(ContinuousClock.now - arrived)
        } catch let e as APIError {
            return .error(e)
        } catch let e as PromQLError {
            return .error(APIError(e))
        } catch {
            return .error(APIError(type: "internal", message: "\(error)", status: 500))
        }
    }

    // MARK: queries

    /// The query's own timeout: a client's `timeout` may shorten the server's `query.timeout`,
    /// never lengthen it (a viewer must not be able to hold the server longer than its operator allows).
    func effectiveTimeout(_ p: Params) throws(APIError) -> Duration {
        let server = engine.options.timeout
        guard let t = p["timeout"], !t.isEmpty else { return server }
        let ms = try TimeParam.duration(t, name: "timeout")
        guard ms > 0 else { throw .badData("invalid parameter \"timeout\": timeout must be positive, got \"\(t)\"") }
        return Swift.min(.milliseconds(ms), server)
    }

    /// What is left of the timeout after the wait in the queue, as in Prometheus, where the
    /// queue wait counts against the query's deadline.
    private func remaining(_ timeout: Duration, waited: Duration) -> Duration {
        Swift.max(.zero, timeout - waited)
    }

    func query(_ p: Params, _ scope: Scope, waited: Duration) async throws -> APIResponse {
        let at = try TimeParam.optional(p, "time", default: TimeParam.nowMs())
        let timeout = remaining(try effectiveTimeout(p), waited: waited)
        let started = ContinuousClock.now
        let value: QueryValue
        do {
            let expr: Expr
            do { expr = try parseExpr(p["query"] ?? "") } catch { throw queryError(error) }
            value = try await backend.instantQuery(expr, at: at, scope: scope, timeout: timeout)
        } catch let e as PromQLError {
            throw queryError(e)
        }
        metrics.query(seconds: (ContinuousClock.now - started).seconds)
        return .success { w in Self.writeValue(value, into: &w) }
    }

    func queryRange(_ p: Params, _ scope: Scope, waited: Duration) async throws -> APIResponse {
        // Prometheus' checks, in its order and words (a missing parameter parses as "").
        let start = try TimeParam.parse(p["start"] ?? "", name: "start")
        let end = try TimeParam.parse(p["end"] ?? "", name: "end")
        guard end >= start else { throw APIError.badData("invalid parameter \"end\": end timestamp must not be before start time") }
        let step = try TimeParam.duration(p["step"] ?? "", name: "step")
        guard step > 0 else {
            throw APIError.badData("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        // Both ends are bounded instants, so the span fits; the count is checked without overflow.
        guard TimeMath.steps(start: start, end: end, step: step, limit: Self.maxPoints + 1) != nil else {
            throw APIError.badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        let timeout = remaining(try effectiveTimeout(p), waited: waited)
        let started = ContinuousClock.now
        let value: QueryValue
        do {
            let expr = try parseExpr(p["query"] ?? "")
            value = try await backend.rangeQuery(expr, start: start, end: end, step: step, scope: scope, timeout: timeout)
        } catch let e as PromQLError {
            // Prometheus 2.42 prefixes only the instant query's errors with the parameter.
            throw APIError(e)
        }
        metrics.query(seconds: (ContinuousClock.now - started).seconds)
        return .success { w in Self.writeValue(value, into: &w) }
    }

    /// Prometheus prefixes parse errors with the parameter they came from.
    private func queryError(_ e: PromQLError) -> APIError {
        var a = APIError(e)
        if e.type == .badData && !e.message.hasPrefix("invalid parameter") {
            a = APIError(type: a.type, message: "invalid parameter \"query\": " + e.message, status: a.status)
        }
        return a
    }

    static func writeValue(_ v: QueryValue, into w: inout JSONWriter) {
        switch v {
        case .vector(let els):
            w.raw("{\"resultType\":\"vector\",\"result\":[")
            for (i, e) in els.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("{\"metric\":")
                w.labels(e.labels)
                w.raw(",\"value\":")
                w.point(e.t, e.v)
                w.raw("}")
            }
            w.raw("]}")
        case .matrix(let series):
            w.raw("{\"resultType\":\"matrix\",\"result\":[")
            for (i, s) in series.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("{\"metric\":")
                w.labels(s.labels)
                w.raw(",\"values\":[")
                for (j, p) in s.samples.enumerated() {
                    if j > 0 { w.raw(",") }
                    w.point(p.t, p.v)
                }
                w.raw("]}")
            }
            w.raw("]}")
        case .scalar(let t, let v):
            w.raw("{\"resultType\":\"scalar\",\"result\":")
            w.point(t, v)
            w.raw("}")
        case .string(let t, let s):
            w.raw("{\"resultType\":\"string\",\"result\":[")
            w.timestamp(t)
            w.raw(",")
            w.string(s)
            w.raw("]}")
        }
    }

    // MARK: metadata endpoints

    /// `start`/`end` of the metadata endpoints; nil when end is before start, which Prometheus
    /// answers with an empty list rather than an error.
    func range(_ p: Params) throws(APIError) -> (Int64, Int64)? {
        let start = try TimeParam.optional(p, "start", default: TimeMath.minTime)
        let end = try TimeParam.optional(p, "end", default: TimeMath.maxTime)
        return end >= start ? (start, end) : nil
    }

    /// `match[]` selectors. Prometheus 2.42 prefixes their errors with the parameter only in
    /// /series (`prefixed`), not in /labels and /label/…/values.
    private func matchers(_ p: Params, required: Bool, prefixed: Bool = false) throws(APIError) -> [[LabelMatcher]] {
        let raw = p.all("match[]")
        if raw.isEmpty {
            if required { throw .badData("no match[] parameter provided") }
            return []
        }
        var out: [[LabelMatcher]] = []
        for m in raw {
            do {
                out.append(try parseMetricSelector(m))
            } catch {
                let message = error.message.hasSuffix("vector selector must contain at least one non-empty matcher")
                    ? "match[] must contain at least one non-empty matcher" : error.message
                throw .badData(prefixed ? "invalid parameter \"match[]\": " + message : message)
            }
        }
        return out
    }

    func series(_ p: Params, _ scope: Scope) async throws -> APIResponse {
        let sets = try matchers(p, required: true, prefixed: true)
        guard let (start, end) = try range(p) else { return .success { $0.raw("[]") } }
        let sorted = Set(try await backend.series(sets, start: start, end: end, scope: scope)).sorted()
        return .success { w in
            w.raw("[")
            for (i, l) in sorted.enumerated() {
                if i > 0 { w.raw(",") }
                w.labels(l)
            }
            w.raw("]")
        }
    }

    func labels(_ p: Params, _ scope: Scope) async throws -> APIResponse {
        let sets = try matchers(p, required: false)
        guard let (start, end) = try range(p) else { return .success { $0.raw("[]") } }
        let sorted = Set(try await backend.labelNames(sets, start: start, end: end, scope: scope)).sorted()
        return .success { $0.stringArray(sorted) }
    }

    func labelValues(_ name: String, _ p: Params, _ scope: Scope) async throws -> APIResponse {
        guard isValidLabelName(name) else { throw APIError.badData("invalid label name: \"\(name)\"") }
        let sets = try matchers(p, required: false)
        guard let (start, end) = try range(p) else { return .success { $0.raw("[]") } }
        let sorted = Set(try await backend.labelValues(name, sets, start: start, end: end, scope: scope)).sorted()
        return .success { $0.stringArray(sorted) }
    }

    func tsdbStatus(_ p: Params, scope: Scope) async throws(APIError) -> APIResponse {
        var limit = 10
        if let l = p["limit"], !l.isEmpty {
            // Prometheus (2.45+): strconv.Atoi, then at least 1.
            guard let n = Int(l), n >= 1 else { throw .badData("limit must be a positive number") }
            limit = n
        }
        let s = scope.alternatives.map { tsdb.status(limit: limit, anyOf: $0) } ?? tsdb.status(limit: limit)
        let remote = await QueryBackendStatus.check(backend)
        func list(_ w: inout JSONWriter, _ key: String, _ items: [(name: String, value: Int)]) {
            w.raw(",\"\(key)\":[")
            for (i, it) in items.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("{\"name\":")
                w.string(it.name)
                w.raw(",\"value\":\(it.value)}")
            }
            w.raw("]")
        }
        return .success { w in
            w.raw("{\"headStats\":{\"numSeries\":\(s.headSeries),\"numLabelPairs\":\(s.seriesCountByLabelValuePair.count),")
            w.raw("\"chunkCount\":\(s.headChunks),\"minTime\":\(s.minTime),\"maxTime\":\(s.maxTime)}")
            list(&w, "seriesCountByMetricName", s.seriesCountByMetricName)
            list(&w, "labelValueCountByLabelName", s.labelValueCountByLabelName)
            list(&w, "memoryInBytesByLabelName", s.memoryInBytesByLabelName)
            list(&w, "seriesCountByLabelValuePair", s.seriesCountByLabelValuePair)
            // Only with a remote backend: the embedded answer stays Prometheus' shape exactly.
            if let remote = writeBackendStatus {
                w.raw(",\"writeBackend\":")
                remote.writeJSON(&w)
            }
            if let remote { w.raw(",\"queryBackend\":"); remote.write(into: &w) }
            w.raw("}")
        }
    }

}

public enum CollectorVersion {
    public static let version = "0.1.0"
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
