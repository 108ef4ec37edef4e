import PromQL
import Storage

/// A Prometheus HTTP API backend (`storage.remote.query_url`: Prometheus, VictoriaMetrics
/// vmselect, Mimir, Thanos Query, Cortex). Queries go down rewritten with the caller's scope
/// (`Expr.confined(to:)`); series, labels and label values with the scope ANDed into every
/// `match[]`. The backend never sees a read that is not confined to the caller's scope.
struct RemoteQueryBackend: QueryBackend {
    let options: RemoteStorageOptions
    /// `[5m:]` means "the default evaluation interval", which backends define differently
    /// (VictoriaMetrics takes the query's step): sent explicitly, it is ours everywhere.
    let defaultSubqueryStepMs: Int64
    /// An answer beyond this is refused rather than held in memory (the embedded engine's
    /// `query.max_samples` bounds it the same way).
    var maxAnswerBytes = 512 << 20
    /// series, labels and label values carry no timeout parameter of their own.
    var metadataTimeout: Duration = .seconds(120)

    var kind: String { "remote" }
    var url: String? { options.queryURL }
    private var decoder: PromAnswerDecoder { PromAnswerDecoder(backend: options.queryURL) }

    func instantQuery(_ expr: Expr, at: Int64, scope union: Scope, timeout: Duration) async throws -> QueryValue {
        let scope = try ScopeUnion.merge(union.alternatives)
        let q = remoteText(expr, scope)
        let data = try await post("/api/v1/query", [("query", q), ("time", Self.seconds(at)), ("timeout", Self.duration(timeout))], timeout)
        return try decoder.queryValue(data)
    }

    func rangeQuery(_ expr: Expr, start: Int64, end: Int64, step: Int64, scope union: Scope, timeout: Duration) async throws -> QueryValue {
        let scope = try ScopeUnion.merge(union.alternatives)
        let q = remoteText(expr, scope)
        let data = try await post("/api/v1/query_range", [
            ("query", q), ("start", Self.seconds(start)), ("end", Self.seconds(end)), ("step", Self.seconds(step)),
            ("timeout", Self.duration(timeout)),
        ], timeout)
        return try decoder.queryValue(data)
    }

    func series(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope union: Scope) async throws -> [Labels] {
        let scope = try ScopeUnion.merge(union.alternatives)
        let data = try await post("/api/v1/series", Self.matches(sets, scope) + range(start, end), metadataTimeout)
        return try decoder.labelSets(data)
    }

    func labelNames(_ sets: [[LabelMatcher]], start: Int64, end: Int64, scope union: Scope) async throws -> [String] {
        let scope = try ScopeUnion.merge(union.alternatives)
        let data = try await post("/api/v1/labels", Self.matches(sets, scope) + range(start, end), metadataTimeout)
        return try decoder.strings(data)
    }

    func labelValues(_ name: String, _ sets: [[LabelMatcher]], start: Int64, end: Int64, scope union: Scope) async throws -> [String] {
        let scope = try ScopeUnion.merge(union.alternatives)
        // A valid label name (checked by the caller) needs no escaping in a path; Prometheus
        // serves label values to GET only.
        let data = try await post("/api/v1/label/\(name)/values", Self.matches(sets, scope) + range(start, end), metadataTimeout, get: true)
        return try decoder.strings(data)
    }

    func unreachableReason() async -> String? {
        do {
            _ = try await post("/api/v1/query", [("query", "1")], .seconds(3))
            return nil
        } catch let e as APIError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    // MARK: request parts

    /// The text the backend runs: the caller's scope on every selector, explicit subquery steps.
    func remoteText(_ expr: Expr, _ scope: [LabelMatcher]) -> String {
        expr.confined(to: scope).withSubquerySteps(defaultSubqueryStepMs).description
    }

    /// Each caller selector with the scope ANDed in; without any, the scope itself.
    static func matches(_ sets: [[LabelMatcher]], _ scope: [LabelMatcher]) -> [(String, String)] {
        if sets.isEmpty { return scope.isEmpty ? [] : [("match[]", selectorText(scope))] }
        return sets.map { ("match[]", selectorText($0 + scope)) }
    }

    /// Open ends stay open: Prometheus' defaults are all of time, VictoriaMetrics' a recent
    /// window, so an open start is sent as the epoch and an open end left to the backend ("now").
    private func range(_ start: Int64, _ end: Int64) -> [(String, String)] {
        var out: [(String, String)] = [("start", Self.seconds(Swift.max(start, 0)))]
        if end != TimeMath.maxTime { out.append(("end", Self.seconds(end))) }
        return out
    }

    static func seconds(_ ms: Int64) -> String {
        let s = ms / 1000, r = Swift.abs(ms % 1000)
        let frac = String(r)
        return "\(ms < 0 && s == 0 ? "-" : "")\(s).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }

    static func duration(_ d: Duration) -> String {
        let c = d.components
        return "\(Swift.max(1, c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000))ms"
    }

    private func post(_ path: String, _ form: [(String, String)], _ timeout: Duration, get: Bool = false) async throws(APIError) -> Any {
        let response: RemoteHTTP.Response
        do {
            response = try await RemoteHTTP.postForm(
                url: options.queryURL + path, form: RemoteHTTP.formEncode(form), get: get,
                headers: options.headers.map { ($0.name, $0.value) },
                // A moment beyond the query's own timeout, so that the backend's timeout answer wins.
                timeout: timeout + .seconds(1), maxBytes: maxAnswerBytes)
        } catch let f as RemoteHTTP.Failure {
            switch f {
            case .unreachable, .invalidURL:
                throw APIError(type: "unavailable", message: "remote storage backend \(options.queryURL) is unreachable: \(f)", status: 503)
            case .timedOut:
                throw APIError(type: "timeout", message: "remote storage backend \(options.queryURL) gave no answer within \(timeout)", status: 503)
            case .closedEarly, .tooLarge:
                throw decoder.bad("\(f)")
            }
        } catch is CancellationError {
            throw APIError(type: "canceled", message: "query canceled", status: 503)
        } catch {
            throw decoder.bad("\(error)")
        }
        return try decoder.data(response)
    }
}
