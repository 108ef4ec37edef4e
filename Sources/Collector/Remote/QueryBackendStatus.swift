/// Which query backend answers and whether it is reachable, for `/-/ready` and
/// `/api/v1/status/tsdb`. Nil for the embedded backend: those answers stay as they were.
struct QueryBackendStatus: Sendable {
    let url: String
    /// nil when the backend answered a probe query.
    let unreachable: String?

    static func check(_ backend: any QueryBackend) async -> QueryBackendStatus? {
        guard let url = backend.url else { return nil }
        return QueryBackendStatus(url: url, unreachable: await backend.unreachableReason())
    }

    var line: String {
        "Query backend: remote \(url), " + (unreachable.map { "unreachable: \($0)" } ?? "reachable") + ".\n"
    }

    func write(into w: inout JSONWriter) {
        w.raw("{\"kind\":\"remote\",\"url\":")
        w.string(url)
        w.raw(",\"reachable\":\(unreachable == nil)")
        if let unreachable { w.raw(",\"error\":"); w.string(unreachable) }
        w.raw("}")
    }
}
