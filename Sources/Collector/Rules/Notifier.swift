import Foundation
import Logging
import Storage

/// Delivers alerts: to Alertmanagers through their v2 API (`POST /api/v2/alerts`, as
/// Prometheus does), and straight to webhook receivers in Alertmanager's webhook JSON
/// (version 4), so a receiver written for Alertmanager works without one.
/// A one-shot NIO POST (AlertPoster) rather than AsyncHTTPClient or URLSession: a few small
/// POSTs a minute earn neither another dependency's build time nor libcurl in the binary.
struct Notifier: Sendable {
    let alertmanagers: [String]
    let webhooks: [String]
    let externalURL: String
    let logger: Logger
    let metrics: CollectorMetrics

    var isEmpty: Bool { alertmanagers.isEmpty && webhooks.isEmpty }

    /// Alertmanager v2: a JSON list of alerts. Firing alerts carry an `endsAt` a few resend
    /// intervals ahead, so Alertmanager resolves them itself if we go away.
    func sendToAlertmanagers(_ alerts: [Alert], now: Int64, validForMs: Int64) async {
        guard !alertmanagers.isEmpty, !alerts.isEmpty else { return }
        var w = JSONWriter()
        w.raw("[")
        for (i, a) in alerts.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"labels\":"); Self.object(&w, a.labels.map { ($0.name, $0.value) })
            w.raw(",\"annotations\":"); Self.object(&w, a.annotations)
            w.raw(",\"startsAt\":"); w.string(Self.rfc3339(a.activeAtMs))
            w.raw(",\"endsAt\":"); w.string(Self.rfc3339(a.resolvedAtMs ?? (now + validForMs)))
            w.raw(",\"generatorURL\":"); w.string(generatorURL(a))
            w.raw("}")
        }
        w.raw("]")
        let body = w.bytes
        for am in alertmanagers {
            let url = am.hasSuffix("/api/v2/alerts") ? am : am.trimmingSuffix("/") + "/api/v2/alerts"
            await post(url, body, receiver: "alertmanager", count: alerts.count)
        }
    }

    /// Webhook JSON as Alertmanager sends it, one message per alert name.
    func sendToWebhooks(_ alerts: [Alert]) async {
        guard !webhooks.isEmpty, !alerts.isEmpty else { return }
        let byName = Dictionary(grouping: alerts) { $0.labels["alertname"] ?? "" }
        for (name, group) in byName.sorted(by: { $0.key < $1.key }) {
            let firing = group.contains { $0.state == .firing }
            let common = group.dropFirst().reduce(into: Dictionary(uniqueKeysWithValues: group[0].labels.map { ($0.name, $0.value) })) { acc, a in
                acc = acc.filter { a.labels[$0.key] == $0.value }
            }
            let commonAnn = group.dropFirst().reduce(into: Dictionary(group[0].annotations, uniquingKeysWith: { a, _ in a })) { acc, a in
                let mine = Dictionary(a.annotations, uniquingKeysWith: { x, _ in x })
                acc = acc.filter { mine[$0.key] == $0.value }
            }
            var w = JSONWriter()
            w.raw("{\"version\":\"4\",\"groupKey\":"); w.string("{}:{alertname=\"\(name)\"}")
            w.raw(",\"truncatedAlerts\":0,\"status\":"); w.string(firing ? "firing" : "resolved")
            w.raw(",\"receiver\":\"fleetscope\",\"groupLabels\":"); Self.object(&w, [("alertname", name)])
            w.raw(",\"commonLabels\":"); Self.object(&w, common.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            w.raw(",\"commonAnnotations\":"); Self.object(&w, commonAnn.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            w.raw(",\"externalURL\":"); w.string(externalURL)
            w.raw(",\"alerts\":[")
            for (i, a) in group.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("{\"status\":"); w.string(a.state == .firing ? "firing" : "resolved")
                w.raw(",\"labels\":"); Self.object(&w, a.labels.map { ($0.name, $0.value) })
                w.raw(",\"annotations\":"); Self.object(&w, a.annotations)
                w.raw(",\"startsAt\":"); w.string(Self.rfc3339(a.activeAtMs))
                w.raw(",\"endsAt\":"); w.string(a.resolvedAtMs.map(Self.rfc3339) ?? "0001-01-01T00:00:00Z")
                w.raw(",\"generatorURL\":"); w.string(generatorURL(a))
                w.raw(",\"fingerprint\":"); w.string(Self.fingerprint(a.labels))
                w.raw("}")
            }
            w.raw("]}")
            for hook in webhooks { await post(hook, w.bytes, receiver: "webhook", count: group.count) }
        }
    }

    private func generatorURL(_ a: Alert) -> String {
        externalURL + "/explore?query=" + (a.labels["alertname"] ?? "")
            .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(.init(charactersIn: "&=+")))!
    }

    /// Three tries with backoff; a receiver that stays down is logged and counted, never
    /// allowed to stall rule evaluation for long (10 s per try).
    private func post(_ url: String, _ body: [UInt8], receiver: String, count: Int) async {
        guard URL(string: url) != nil else {
            logger.error("alert receiver URL \(url) is invalid")
            return
        }
        var lastError = ""
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(500 << attempt)) }
            do {
                let resp = try await AlertPoster.post(url: url, body: body, contentType: "application/json", timeoutSeconds: 10)
                if (200..<300).contains(resp.status) {
                    metrics.notifications(receiver: receiver, outcome: "sent", count)
                    return
                }
                lastError = "HTTP \(resp.status): \(resp.body)"
                if (400..<500).contains(resp.status) && resp.status != 429 { break }
            } catch {
                lastError = "\(error)"
            }
        }
        metrics.notifications(receiver: receiver, outcome: "failed", count)
        logger.error("sending \(count) alert(s) to \(url) failed: \(lastError)")
    }

    static func object(_ w: inout JSONWriter, _ pairs: [(String, String)]) {
        w.raw("{")
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(k)
            w.raw(":")
            w.string(v)
        }
        w.raw("}")
    }

    /// `2026-11-30T06:00:00.123Z`, as ISO8601DateFormatter with fractional seconds writes it,
    /// without building a formatter for every timestamp of every alert.
    static func rfc3339(_ ms: Int64) -> String {
        var secs = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let frac = Int(ms - Int64(secs) * 1000)
        var t = tm()
        gmtime_r(&secs, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: Swift.max(0, width - s.count)) + s
        }
        return pad(t.tm_year + 1900, 4) + "-" + pad(t.tm_mon + 1, 2) + "-" + pad(t.tm_mday, 2) + "T" + pad(t.tm_hour, 2) + ":"
            + pad(t.tm_min, 2) + ":" + pad(t.tm_sec, 2) + "." + pad(Int32(frac), 3) + "Z"
    }

    /// Alertmanager's fingerprint: FNV-1a 64 over sorted names and values, 0xff-separated.
    static func fingerprint(_ labels: Labels) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        func add(_ b: UInt8) { h ^= UInt64(b); h = h &* 0x100000001b3 }
        for l in labels {
            for b in l.name.utf8 { add(b) }
            add(0xff)
            for b in l.value.utf8 { add(b) }
            add(0xff)
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension String {
    func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
