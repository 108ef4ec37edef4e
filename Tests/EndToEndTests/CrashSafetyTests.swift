import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

/// Nothing acknowledged is lost: writers get 204s while the collector is SIGKILLed; after a
/// restart on the same data dir every acknowledged sample is there. Then the WAL's tail is
/// garbled and the collector must still start with all acknowledged data.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CrashSafetyTests {
    static func request(writer: Int, batch: Int) -> WriteRequest {
        // 20 series × 5 samples per request; timestamps unique per batch.
        WriteRequest(timeseries: (0..<20).map { s in
            TimeSeries(labels: [Label("__name__", "crash_test"), Label("series", String(s)), Label("writer", String(writer))],
                       samples: (0..<5).map { i in Sample(t: Int64(batch * 5 + i) * 1000, v: Double(batch * 5 + i)) })
        })
    }

    @Test func acknowledgedSamplesSurviveKill9AndGarbledWAL() async throws {
        let dir = try tempDir("e2e-crash")
        let data = dir + "/data"
        var acked = Set<WriteAck>()
        for round in 0..<3 {
            let port = freePort()
            let coll = try ChildProcess("collector-\(round)", try E2E.binary("collector"),
                                        ["--listen", "127.0.0.1:\(port)", "--data-dir", data, "--no-auth", "--retention", "36500d"], logDir: dir)
            let url = "http://127.0.0.1:\(port)"
            try await waitUntil("collector to start (round \(round))") { await HTTP.get(url + "/-/ready")?.0 == 200 }
            // Everything acknowledged so far must have survived the previous kill.
            try await Self.verify(acked, url)

            let newAcks = await writeWhileKilling(coll, batches: round * 1000..<(round + 1) * 1000) { w, batch in
                try? await HTTP.remoteWrite(url + "/api/v1/write", Self.request(writer: w, batch: batch)).0
            }
            #expect(newAcks.count > 0, "writers should have been acknowledged before the kill")
            acked.formUnion(newAcks)
        }

        // Garble the WAL's tail: the collector must cut it and start with everything acknowledged.
        let wal = data + "/tsdb/wal"
        let segments = try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.allSatisfy(\.isNumber) }.sorted()
        let last = try #require(segments.last, "no WAL segment in \(wal)")
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: wal + "/" + last))
        h.seekToEndOfFile()
        h.write(Data((0..<300).map { _ in UInt8.random(in: 0...255) }))
        try h.close()

        let port = freePort()
        let coll = try ChildProcess("collector-final", try E2E.binary("collector"),
                                    ["--listen", "127.0.0.1:\(port)", "--data-dir", data, "--no-auth", "--retention", "36500d"], logDir: dir)
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(port)"
        try await waitUntil("collector to start after WAL damage") { await HTTP.get(url + "/-/ready")?.0 == 200 }
        try await Self.verify(acked, url)
    }

    /// Every acknowledged (writer, batch) has all its 100 samples.
    static func verify(_ acked: Set<WriteAck>, _ url: String) async throws {
        guard let maxBatch = acked.map(\.batch).max() else { return }
        let end = Int64(maxBatch * 5 + 5)
        let q = "crash_test[\(end + 10)s]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let json = try await HTTP.getJSON("\(url)/api/v1/query?query=\(q)&time=\(end)")
        let result = ((json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        var have: [String: Set<Int64>] = [:]
        for r in result {
            let m = r["metric"] as? [String: String] ?? [:]
            let key = "\(m["writer"] ?? "")/\(m["series"] ?? "")"
            have[key] = Set((r["values"] as? [[Any]] ?? []).compactMap { ($0[0] as? NSNumber).map { Int64(($0.doubleValue * 1000).rounded()) } })
        }
        var lost = 0
        for a in acked {
            for s in 0..<20 {
                let ts = have["\(a.writer)/\(s)"] ?? []
                for i in 0..<5 where !ts.contains(Int64(a.batch * 5 + i) * 1000) { lost += 1 }
            }
        }
        #expect(lost == 0, "\(lost) acknowledged samples missing after restart")
    }
}
