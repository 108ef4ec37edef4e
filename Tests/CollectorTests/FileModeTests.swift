import Foundation
import RemoteWrite
import Testing

@testable import Collector

/// The data directory holds bcrypt hashes, token hashes and every sample: it is 0700 and
/// every file the collector writes is 0600, even in a process with the usual umask 022
/// (this test process), where only the explicit modes in the code protect them.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct FileModeTests {
    /// path (relative to the data dir) → permission bits, for everything below `dir`.
    static func modes(_ dir: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        let fm = FileManager.default
        out["."] = (try fm.attributesOfItem(atPath: dir)[.posixPermissions] as? Int) ?? -1
        for rel in try fm.subpathsOfDirectory(atPath: dir) {
            out[rel] = (try fm.attributesOfItem(atPath: dir + "/" + rel)[.posixPermissions] as? Int) ?? -1
        }
        return out
    }

    static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// Entries whose mode is not 0700 (directories) or 0600 (files).
    static func loose(_ dir: String) throws -> [String] {
        try modes(dir).compactMap { rel, mode in
            let want = isDirectory(dir + "/" + rel) ? 0o700 : 0o600
            return mode == want ? nil : "\(rel) is \(String(mode, radix: 8)), want \(String(want, radix: 8))"
        }.sorted()
    }

    @Test func everyFileUnderTheDataDirIsOwnerOnly() async throws {
        let s = try await TestServer(noAuth: false)
        let token = try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "store-1")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let req = WriteRequest(timeseries: (0..<50).map { series("cpu", ["core": "\($0)"], [(now, Double($0))]) })
        #expect(try await s.write(req, token: token).0 == 204)
        // Blocks and the fleet database's WAL are written by maintenance and flushes.
        try s.server.tsdb.flushHead()
        try await s.server.fleet.flush(everything: true)

        let running = try Self.modes(s.dataDir)
        #expect(running.keys.contains("fleet.sqlite") && running.keys.contains("fleetscope.sqlite")
                && running.keys.contains("tsdb/wal") && running.keys.contains("initial-admin-password"), "\(running.keys.sorted())")
        #expect(running.keys.contains { $0.hasSuffix("-wal") }, "fleet.sqlite runs in WAL mode: \(running.keys.sorted())")
        #expect(try Self.loose(s.dataDir) == [], "while running")
        await s.stop()
        #expect(try Self.loose(s.dataDir) == [], "after stop")
    }

    @Test func anExistingLooseDataDirIsTightenedOnStart() async throws {
        let dir = NSTemporaryDirectory() + "fleetscope-modes-\(UUID().uuidString.prefix(8))"
        // As older versions left it: directory 0755, databases 0644.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let first = try await TestServer(noAuth: false, dataDir: dir)
        await first.stop()
        for f in ["fleet.sqlite", "fleetscope.sqlite"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/" + f)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/tsdb")

        let second = try await TestServer(noAuth: false, dataDir: dir)
        defer { Task { await second.stop() } }
        let m = try Self.modes(dir)
        #expect(m["."] == 0o700)
        #expect(m["tsdb"] == 0o700)
        #expect(m["fleet.sqlite"] == 0o600)
        #expect(m["fleetscope.sqlite"] == 0o600)
    }
}
