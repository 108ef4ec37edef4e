import Synchronization

/// Bounds the memory that requests being decoded and appended may hold, overall and per
/// cluster, so a flood from one site gets 429s instead of growing memory without bound
/// or starving the rest of the fleet.
///
/// Two steps, because the cluster is not always known before decoding: bytes are admitted
/// before the body is decompressed; clusters when they are known — from the ingest token
/// before decoding, or, without tokens (`--no-auth` behind a proxy), from the decoded series'
/// own `cluster` labels. Keying by the sender's connection or by "" would throttle a whole
/// fleet behind one proxy as if it were one site.
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

    /// Reserves `bytes` of the in-flight budget; false when the collector is saturated. A
    /// single request is always let in when nothing else is in flight, whatever its size.
    func admit(bytes: Int) -> Bool {
        state.withLock { s in
            if s.bytes + bytes > limits.maxInflightBytes && s.bytes > 0 { return false }
            s.bytes += bytes
            return true
        }
    }

    func release(bytes: Int) {
        state.withLock { $0.bytes -= bytes }
    }

    /// Takes one concurrency slot for each cluster, all or none; returns the first busy
    /// cluster when one has no free slot.
    func enter(clusters: some Collection<String>) -> String? {
        state.withLock { s in
            if let busy = clusters.first(where: { s.perCluster[$0, default: 0] >= limits.maxInflightPerCluster }) { return busy }
            for c in clusters { s.perCluster[c, default: 0] += 1 }
            return nil
        }
    }

    func leave(clusters: some Collection<String>) {
        state.withLock { s in
            for c in clusters {
                let n = s.perCluster[c, default: 1] - 1
                s.perCluster[c] = n == 0 ? nil : n
            }
        }
    }

    var inflightBytes: Int { state.withLock { $0.bytes } }
}
