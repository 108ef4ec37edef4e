import Foundation
import RemoteWrite
import Synchronization
import Testing

@testable import Collector

/// Issue 10 item 6: `collector user add` while clusters write made writes fail with 500
/// (SQLite lock). Admin commands open their own connection, as the CLI in another process
/// does; the fleet registry flushes to fleet.sqlite at the same time.
@Suite struct AdminDuringIngestTests {
    @Test func adminCommandsDuringIngestFailNoWrite() async throws {
        let s = try await TestServer(noAuth: false)
        defer { Task { await s.stop() } }
        let writers = 4, writesPerWriter = 60
        var made: [String] = []
        for w in 0..<writers { made.append(try await AdminCommands.createToken(dataDir: s.dataDir, cluster: "c\(w)", labels: ["region=eu"])) }
        let tokens = made
        let loop = AdminLoop()
        // Recent timestamps: the fleet refresher appends series at the collector's clock, and
        // samples far behind them would be refused as too old (a 400 that is not this test's).
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000

        // Detached, as another process would be: each command opens the file anew.
        let dir = s.dataDir, fleet = s.server.fleet
        let admin = Task.detached {
            var i = 0
            while !loop.done.load(ordering: .relaxed) {
                try await AdminCommands.addUser(dataDir: dir, name: "u\(i)", password: "password-\(i)", role: "viewer", scope: #"{region="eu"}"#)
                try await AdminCommands.setPassword(dataDir: dir, name: "u\(i)", password: "password-\(i)-new")
                _ = try await AdminCommands.createToken(dataDir: dir, cluster: "extra-\(i)", labels: ["site=s\(i)"])
                try await AdminCommands.deleteUser(dataDir: dir, name: "u\(i)")
                _ = try await AdminCommands.revokeTokens(dataDir: dir, cluster: "extra-\(i)")
                _ = try await AdminCommands.listUsers(dataDir: dir)
                try await fleet.flush(everything: true)
                loop.rounds.wrappingAdd(1, ordering: .relaxed)
                i += 1
            }
        }
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { g in
            for w in 0..<writers {
                g.addTask {
                    var out: [Int] = []
                    for n in 0..<writesPerWriter {
                        let t = base + Int64(n) * 1_000
                        let req = WriteRequest(timeseries: [series("up", ["job": "node"], [(t, 1)]), series("load", ["n": "\(w)"], [(t, Double(n))])])
                        let (code, msg) = try await s.write(req, token: tokens[w])
                        if code != 204 { print("write \(w)/\(n): \(code) \(msg)") }  // names the cause when the test fails
                        out.append(code)
                    }
                    return out
                }
            }
            var all: [Int] = []
            for try await r in g { all += r }
            return all
        }
        // Writers may finish before the admin loop did a round: keep writing until it did.
        var more: [Int] = []
        var n = writesPerWriter
        while loop.rounds.load(ordering: .relaxed) < 3 && n < 2_000 {
            let t = base + Int64(n) * 1_000
            let (code, msg) = try await s.write(WriteRequest(timeseries: [series("up", [:], [(t, 1)])]), token: tokens[0])
            if code != 204 { print("extra write \(n): \(code) \(msg)") }
            more.append(code)
            n += 1
        }
        loop.done.store(true, ordering: .relaxed)
        try await admin.value
        let all = statuses + more
        #expect(loop.rounds.load(ordering: .relaxed) >= 3)
        #expect(all.filter { $0 >= 500 }.count == 0)
        #expect(all.allSatisfy { $0 == 204 }, "statuses: \(Dictionary(grouping: all, by: { $0 }).mapValues(\.count))")
    }
}

/// Shared between the admin loop and the writers.
private final class AdminLoop: Sendable {
    let done = Atomic<Bool>(false)
    let rounds = Atomic<Int>(0)
}
