import Synchronization

/// Bounds the memory that requests being decoded and appended may hold, overall and per
/// cluster, so a flood from one site gets 429s instead of growing memory without bound
/// or starving the rest of the fleet.
final class Admission: Sendable {
    struct Limits: Sendable {
        var maxInflightBytes: Int = 512 << 20
        var maxInflightPerCluster: Int = 8
    }

    private struct State {
        var bytes = 0
        var perCluster: [String: Int] = [:]
    }

    let limits: Limits
    private let state = Mutex(State())

    init(_ limits: Limits = Limits()) { self.limits = limits }

    enum Verdict: Equatable { case admitted, overloaded, clusterBusy }

    func admit(bytes: Int, cluster: String) -> Verdict {
        state.withLock { s in
            if s.bytes + bytes > limits.maxInflightBytes && s.bytes > 0 { return .overloaded }
            if s.perCluster[cluster, default: 0] >= limits.maxInflightPerCluster { return .clusterBusy }
            s.bytes += bytes
            s.perCluster[cluster, default: 0] += 1
            return .admitted
        }
    }

    func release(bytes: Int, cluster: String) {
        state.withLock { s in
            s.bytes -= bytes
            let n = s.perCluster[cluster, default: 1] - 1
            s.perCluster[cluster] = n == 0 ? nil : n
        }
    }

    var inflightBytes: Int { state.withLock { $0.bytes } }
}
