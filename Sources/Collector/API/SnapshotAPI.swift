import Foundation
import GRDB
import Hummingbird
import NIOPosix
import TSDB

/// `POST /api/v1/admin/tsdb/snapshot`, as Prometheus: admins only; writes
/// `DATA/snapshots/<name>/` laid out like a data directory (`tsdb/` with hard-linked blocks and
/// a copy of the WAL, `fleetscope.sqlite` and `fleet.sqlite` through SQLite's online backup
/// API), and answers `{"status":"success","data":{"name":"<name>"}}`. Restoring is copying the
/// snapshot's contents into an empty data directory and starting the collector on it
/// (docs/operations.md). `skip_head=true` leaves the WAL out, as Prometheus leaves out its head.
struct SnapshotAPI: Sendable {
    let tsdb: TSDB
    let dataDir: String

    /// Only an admin (or everybody under `--no-auth`) may write snapshots: they copy every
    /// user's and cluster's data, password and token hashes included.
    static func allowed(_ principal: Principal) -> Bool {
        switch principal {
        case .user(_, .admin, _), .anonymous: return true
        default: return false
        }
    }

    func respond(_ request: Request, _ context: CollectorContext) async -> Response {
        let r = await handle(Params(query: request.uri.query), principal: context.principal)
        return Response(status: .init(code: r.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    func handle(_ params: Params, principal: Principal) async -> APIResponse {
        guard Self.allowed(principal) else {
            return .error(.forbidden("snapshots copy the whole store and the user database; they need an admin"))
        }
        let skipHead = ["true", "1"].contains((params["skip_head"] ?? "").lowercased())
        do {
            // Seconds of disk work under the TSDB's maintenance lock: off the cooperative pool.
            let name = try await NIOThreadPool.singleton.runIfActive { try create(skipHead: skipHead) }
            return .success { w in w.raw("{\"name\":"); w.string(name); w.raw("}") }
        } catch {
            return .error(APIError(type: "internal", message: "snapshot failed: \(error)", status: 500))
        }
    }

    /// `20261204T111500Z-1a2b3c4d5e6f7a8b`, Prometheus' name format: sorts by time, unique.
    static func newName(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return f.string(from: now) + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Builds the snapshot under `<name>.tmp` and renames it, so a listed snapshot is complete.
    func create(skipHead: Bool) throws -> String {
        let name = Self.newName()
        let root = dataDir + "/snapshots"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let tmp = root + "/" + name + ".tmp"
        do {
            _ = try tsdb.snapshot(into: tmp + "/tsdb", withHead: !skipHead)
            for db in ["fleetscope.sqlite", "fleet.sqlite"] where FileManager.default.fileExists(atPath: dataDir + "/" + db) {
                try Self.backup(dataDir + "/" + db, to: tmp + "/" + db)
            }
            try FileManager.default.moveItem(atPath: tmp, toPath: root + "/" + name)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        return name
    }

    /// SQLite's online backup: a consistent copy while the collector and `collector user|token`
    /// commands keep writing (a plain file copy of a WAL-mode database may miss or tear pages).
    static func backup(_ source: String, to target: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        let src = try DatabaseQueue(path: source, configuration: config)
        let dst = try DatabaseQueue(path: target)
        try src.backup(to: dst)
        try dst.close()
        try src.close()
        chmod(target, 0o600)
    }
}
