import Foundation

/// `GET /api/v1/admin/audit[?limit=N][&before=ID]`: the newest admin changes first; `before`
/// pages back (the smallest `id` of the previous page).
struct AuditAPI: Sendable {
    let access: AccessControl
    static let defaultLimit = 100
    static let maxLimit = 1000

    func list(_ params: Params) async -> APIResponse {
        await AdminResponse.run {
            let limit = try Self.number(params["limit"], "limit", in: 1...Int64(Self.maxLimit)) ?? Int64(Self.defaultLimit)
            let before = try Self.number(params["before"], "before", in: 1...Int64.max)
            let events = try await access.auditEvents(limit: Int(limit), before: before)
            return .success { w in
                w.raw("[")
                for (i, e) in events.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{\"id\":"); w.int(e.id)
                    w.raw(",\"time\":"); w.string(Notifier.rfc3339(AdminResponse.ms(e.time)))
                    w.raw(",\"actor\":"); w.string(e.actor)
                    w.raw(",\"remoteAddress\":")
                    if let a = e.remoteAddress { w.string(a) } else { w.raw("null") }
                    w.raw(",\"action\":"); w.string(e.action)
                    w.raw(",\"target\":"); w.string(e.target)
                    w.raw(",\"detail\":"); w.string(e.detail)
                    w.raw("}")
                }
                w.raw("]")
            }
        }
    }

    /// An integer parameter within `range`; Int64(_:) refuses overflow instead of wrapping.
    static func number(_ text: String?, _ name: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64? {
        guard let text else { return nil }
        guard let v = Int64(text), range.contains(v) else {
            throw .badData("invalid parameter \"\(name)\": \(LogText.quoted(text)) is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
}
