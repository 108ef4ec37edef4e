import Foundation
import Storage

/// The alert state the lease holder shares, so that the replica taking over neither notifies
/// again what was already sent nor forgets an alert it must later resolve.
protocol AlertStateStore: Sendable {
    /// The alerts of every rule of group `group`, by rule key (`ruleKey`).
    func load(group: String) async throws -> [String: [Alert]]
    /// Saves `changes` (upserts, removals) of `group`, only while this replica holds the lease;
    /// throws `NotLeaseHolder` otherwise, and then the caller must not notify.
    func save(group: String, _ changes: [AlertStateChanges]) async throws
}

/// One rule's changes since the last save.
struct AlertStateChanges: Sendable {
    let ruleKey: String
    var upserts: [Alert] = []
    var removed: [Labels] = []
    var isEmpty: Bool { upserts.isEmpty && removed.isEmpty }
}

struct NotLeaseHolder: Error, CustomStringConvertible {
    var description: String { "this replica no longer holds the rule lease" }
}

/// Keys in the store: a group by file and name, a rule by its position and name, so two rules
/// of one name in a group stay apart. Every replica runs the same rule files.
enum AlertStateKeys {
    static func group(_ g: RuleGroup) -> String { g.file + "\u{1f}" + g.name }
    static func rule(_ index: Int, _ r: Rule) -> String { "\(index)\u{1f}\(r.name)" }
}

/// What of an alert is saved: everything the notifications and `for` depend on. The value
/// and annotations are saved too (for non-holders' /api/v1/alerts) but a change of them alone
/// does not cause a save (`signature`): the holder's next evaluation has them fresh anyway.
struct SharedAlert: Codable, Equatable, Sendable {
    var labels: [[String]]
    var annotations: [[String]]
    var state: String
    var activeAtMs: Int64
    var value: Double
    var firedAtMs: Int64?
    var resolvedAtMs: Int64?
    var keepFiringSinceMs: Int64?
    var lastSentMs: Int64?
    var webhookState: String?

    init(_ a: Alert) {
        labels = a.labels.map { [$0.name, $0.value] }
        annotations = a.annotations.map { [$0.0, $0.1] }
        state = a.state.rawValue
        activeAtMs = a.activeAtMs
        value = a.value
        firedAtMs = a.firedAtMs
        resolvedAtMs = a.resolvedAtMs
        keepFiringSinceMs = a.keepFiringSinceMs
        lastSentMs = a.lastSentMs
        webhookState = a.webhookState?.rawValue
    }

    var alert: Alert? {
        guard let s = AlertState(rawValue: state), labels.allSatisfy({ $0.count == 2 }), annotations.allSatisfy({ $0.count == 2 }) else { return nil }
        var a = Alert(labels: Labels(labels.map { Label($0[0], $0[1]) }), annotations: annotations.map { ($0[0], $0[1]) },
                      state: s, activeAtMs: activeAtMs, value: value)
        a.firedAtMs = firedAtMs
        a.resolvedAtMs = resolvedAtMs
        a.keepFiringSinceMs = keepFiringSinceMs
        a.lastSentMs = lastSentMs
        a.webhookState = webhookState.flatMap(AlertState.init(rawValue:))
        return a
    }

    static func encode(_ a: Alert) throws -> String {
        let e = JSONEncoder()
        // NaN and ±Inf are legal alert values; JSON has no literal for them.
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        e.outputFormatting = .sortedKeys
        return String(decoding: try e.encode(SharedAlert(a)), as: UTF8.self)
    }

    static func decode(_ text: String) -> Alert? {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return (try? d.decode(SharedAlert.self, from: Data(text.utf8)))?.alert
    }
}

/// The part of an alert whose change must be saved before notifying: all of SharedAlert but
/// the value and the annotations.
struct AlertSignature: Equatable, Sendable {
    private let shared: SharedAlert

    init(_ a: Alert) {
        var s = SharedAlert(a)
        s.value = 0
        s.annotations = []
        shared = s
    }

    var lastSentMs: Int64? { shared.lastSentMs }
    var webhookState: AlertState? { shared.webhookState.flatMap(AlertState.init(rawValue:)) }

    /// What changed in one rule's alerts since `saved`.
    static func changes(ruleKey: String, alerts: [Labels: Alert], saved: [Labels: AlertSignature]) -> AlertStateChanges {
        var c = AlertStateChanges(ruleKey: ruleKey)
        for (l, a) in alerts where saved[l] != AlertSignature(a) { c.upserts.append(a) }
        for l in saved.keys where alerts[l] == nil { c.removed.append(l) }
        return c
    }
}
