import Synchronization

/// Whether `storage.remote` answers, as the forward sender last saw it (its requests and, when
/// idle, its probes): for `/-/ready`, `/api/v1/status/tsdb` and `/metrics`.
final class RemoteBackendStatus: Sendable {
    struct State: Sendable {
        /// nil until the first request or probe finished.
        var reachable: Bool?
        var lastError: String?
        var lastSuccessMs: Int64?
    }

    let writeURL: String
    let queryURL: String
    private let state = Mutex(State())
    private let metrics: ForwardMetrics?

    init(writeURL: String, queryURL: String, metrics: ForwardMetrics? = nil) {
        self.writeURL = writeURL
        self.queryURL = queryURL
        self.metrics = metrics
    }

    var current: State { state.withLock { $0 } }

    /// The backend answered (any status: it is up, whatever it thought of the request).
    func answered(status: Int, nowMs: Int64) {
        state.withLock { s in
            s.reachable = true
            if (200..<300).contains(status) { s.lastSuccessMs = nowMs; s.lastError = nil } else { s.lastError = "HTTP \(status)" }
        }
        metrics?.reachable.set(1.0)
    }

    func failed(_ error: String) {
        state.withLock { s in
            s.reachable = false
            s.lastError = error
        }
        metrics?.reachable.set(0.0)
    }

    /// The `/-/ready` line about storage.
    var readyLine: String {
        let s = current
        let how = switch s.reachable {
        case nil: "not contacted yet"
        case true?: "reachable"
        case false?: "unreachable (\(s.lastError ?? "?")); writes are queued"
        }
        return "Storage: remote \(writeURL), \(how).\n"
    }

    /// `"storage":{...}` inside `/api/v1/status/tsdb`'s data: which backend, and whether it answers.
    func writeJSON(_ w: inout JSONWriter) {
        let s = current
        w.raw("{\"backend\":\"remote\",\"writeURL\":")
        w.string(writeURL)
        w.raw(",\"queryURL\":")
        w.string(queryURL)
        w.raw(",\"reachable\":\(s.reachable.map { $0 ? "true" : "false" } ?? "null")")
        if let e = s.lastError {
            w.raw(",\"lastError\":")
            w.string(e)
        }
        if let t = s.lastSuccessMs { w.raw(",\"lastSuccessMs\":\(t)") }
        w.raw("}")
    }
}
