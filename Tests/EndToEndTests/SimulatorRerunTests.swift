import Foundation
import Testing
import TestSupport

/// Issue 17: `make demo` twice must not write a second, different history over the first.
/// Two `edge-scraper simulate` runs with backfill against one real collector: the second run's
/// backfill lands on the same grid with the same values, so the stored window is exactly the
/// first run's, no timestamp conflicts, and no counter ever goes down.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct SimulatorRerunTests {
    typealias Stored = [String: [[Double]]]

    /// Every stored sample of the simulated clusters in (time − 10m, time], by series.
    static func stored(_ base: String, at time: Double) async throws -> Stored {
        let q = #"{cluster=~"edge-.*"}[10m]"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let j = try await HTTP.getJSON(base + "/api/v1/query?query=\(q)&time=\(time)")
        let data = try #require(j["data"] as? [String: Any], "\(j)")
        #expect(data["resultType"] as? String == "matrix")
        var out: Stored = [:]
        for r in try #require(data["result"] as? [[String: Any]]) {
            let metric = try #require(r["metric"] as? [String: String])
            let key = metric.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let values = try #require(r["values"] as? [[Any]])
            out[key] = try values.map { pair in
                let text = try #require(pair[1] as? String)
                return [try #require(pair[0] as? Double), try #require(Double(text))]
            }
        }
        return out
    }

    static func metric(_ base: String, _ name: String) async -> Double? {
        guard let (_, data) = await HTTP.get(base + "/metrics") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    func simulate(_ base: String, dir: String, run: Int) async throws {
        let sim = try ChildProcess("simulate-\(run)", try E2E.binary("edge-scraper"),
                                   ["simulate", "--clusters", "3", "--series-per-cluster", "60", "--remote-write", base + "/api/v1/write",
                                    "--interval", "1s", "--duration", "1s", "--backfill", "3m", "--fail-fraction", "0", "--seed", "5"],
                                   logDir: dir)
        defer { sim.stop() }
        try await waitUntil("simulate run \(run) to finish", seconds: 90) { !sim.isRunning }
        #expect(sim.process.terminationStatus == 0, "simulate run \(run):\n\(sim.logTail())")
        #expect(sim.logTail().contains("failed=0"), "simulate run \(run):\n\(sim.logTail())")
    }

    @Test func aSecondRunWithBackfillStoresExactlyTheFirstRunsSamples() async throws {
        let dir = try tempDir("e2e-rerun")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let collector = try ChildProcess("collector", try E2E.binary("collector"),
                                         ["--no-auth", "--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data"], logDir: dir)
        defer { collector.stop() }
        try await waitUntil("collector ready") { await HTTP.get(base + "/-/ready")?.0 == 200 }

        try await simulate(base, dir: dir, run: 1)
        // Compare up to run 1's newest sample: later grid points are new samples from run 2.
        let newest = try await Self.stored(base, at: Date().timeIntervalSince1970).values.compactMap { $0.last?[0] }.max()
        let afterFirst = try #require(newest)
        let first = try await Self.stored(base, at: afterFirst)
        #expect(first.count > 150, "series stored by run 1: \(first.count)")
        // Node series live through the whole window (pods are replaced now and then: theirs may not).
        let nodeSeries = first.filter { $0.key.contains("job=node") }
        #expect(nodeSeries.count > 50)
        #expect(nodeSeries.values.allSatisfy { $0.count >= 170 }, "3 minutes at 1 s, plus the live tick")

        // A later start: another process, another wall clock, the same absolute grid.
        try await Task.sleep(for: .milliseconds(2500))
        try await simulate(base, dir: dir, run: 2)
        let again = try await Self.stored(base, at: afterFirst)
        #expect(again.count == first.count)
        var differing: [String] = []
        for (k, v) in first where again[k] != v { differing.append(k) }
        #expect(differing.isEmpty, "the backfilled window changed for \(differing.count) series, e.g. \(differing.prefix(3))")
        #expect(await Self.metric(base, "fleetscope_samples_conflict_total") == 0, "a timestamp was written twice with different values")
        #expect((await Self.metric(base, "fleetscope_samples_duplicate_total") ?? 0) > 10_000, "run 2 rewrote run 1's window")

        // Across both runs no counter goes down (a simulated reboot would start from near zero).
        let both = try await Self.stored(base, at: Date().timeIntervalSince1970)
        var decreases: [String] = []
        var counters = 0
        for (k, values) in both where k.contains("_total,") {
            counters += 1
            for (a, b) in zip(values, values.dropFirst()) where b[1] < a[1] && b[1] > a[1] / 10 {
                decreases.append("\(k): \(a[1]) → \(b[1]) at \(b[0])")
            }
            #expect(zip(values, values.dropFirst()).allSatisfy { $1[0] - $0[0] == 1 }, "one sample a second on the grid: \(k)")
        }
        #expect(counters > 50)
        #expect(decreases.isEmpty, "\(decreases.prefix(5))")
    }
}
