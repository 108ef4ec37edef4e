/// Who may evaluate the rules. Several collectors behind one load balancer run the same rule
/// files; exactly one of them (the lease holder) evaluates and notifies, the others only show
/// what the holder last shared (see AlertStateStore).
protocol RuleLease: Sendable {
    /// The local term of the current hold, or nil when this replica must not evaluate now. A
    /// new term after every gain tells the rule groups to reload the shared alert state before
    /// their next evaluation (another replica may have changed it meanwhile). Answered from the
    /// local monotonic clock, never from the network, so it turns nil on its own when renewals
    /// stop succeeding.
    var heldTerm: UInt64? { get }
    /// Takes and renews the lease until the task is cancelled, then gives it up; calls
    /// `changed` on every gain and loss.
    func run(changed: @escaping @Sendable (Bool) -> Void) async
    /// A name for logs: who this replica is in the lease.
    var holderID: String { get }
}

extension RuleLease {
    var isHeld: Bool { heldTerm != nil }
}

/// One collector: always the holder, as before there were replicas.
struct SingleProcessLease: RuleLease {
    var heldTerm: UInt64? { 1 }
    var holderID: String { "single-process" }

    func run(changed: @escaping @Sendable (Bool) -> Void) async {
        changed(true)
        // Nothing to renew; held until shutdown.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
