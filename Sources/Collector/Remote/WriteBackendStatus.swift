import Synchronization

/// Whether `storage.remote` answers, as the forward sender last saw it (its requests and, when
/// idle, its probes): for `/-/ready`, `/api/v1/status/tsdb` and `/metrics`.
final class WriteBackendStatus: Sendable {
    struct State: Sendable {
        /// nil until the first request or probe finished.
        var reachable: Bool?
        var lastError: String?
        var lastSuccessMs: Int64?
    }

    let writeURL: String
    private let state = Mutex(State())
    private let metrics: ForwardMetrics?

    init(writeURL: String, metrics: ForwardMetrics? = nil) {
        self.writeURL = writeURL
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

    /// The `/-/ready` line about the write path (beside the query backend's line).
    var readyLine: String {
        let s = current
        let how = switch s.reachable {
        case nil: "not contacted yet"
        case true?: "reachable"
        case false?: "unreachable: \(s.lastError ?? "?"); writes are queued"
        }
        return "Write backend: remote \(writeURL), \(how).\n"
    }

    /// `"writeBackend":{...}` inside `/api/v1/status/tsdb`'s data, shaped as the query
    /// backend's entry: which backend, and whether it answers.
    func writeJSON(_ w: inout JSONWriter) {
        let s = current
        w.raw("{\"kind\":\"remote\",\"url\":")
        w.string(writeURL)
        w.raw(",\"reachable\":\(s.reachable.map { $0 ? "true" : "false" } ?? "null")")
        if let e = s.lastError {
            w.raw(",\"error\":")
            w.string(e)
        }
        if let t = s.lastSuccessMs { w.raw(",\"lastSuccessMs\":\(t)") }
        w.raw("}")
    }
}
