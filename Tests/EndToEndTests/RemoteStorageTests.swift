import Foundation
import RemoteWrite
import Storage
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `storage.remote`, the write half: the collector forwards what it acknowledges to a real
/// VictoriaMetrics and a real Prometheus 2.42 (remote-write receiver), each queried directly.
/// Every acknowledged sample arrives, exactly once while nothing crashes; across a backend
/// outage (queue bounded, 503 + Retry-After when full, drained after); across kill -9 of the
/// collector (at least once: every acknowledged sample arrives).
@Suite(.serialized, .timeLimit(.minutes(4)))
struct RemoteStorageTests {
    enum Backend: String, CaseIterable, Sendable { case victoria, prometheus }

    /// One base time per run: timestamps sit in the last half hour, so Prometheus' head takes them.
    static let baseMs: Int64 = (Int64(Date().timeIntervalSince1970 * 1000) - 30 * 60_000) / 1000 * 1000

    /// 20 series × 5 samples, timestamps unique and increasing per writer's batch.
    static func request(writer: Int, batch: Int) -> WriteRequest {
        WriteRequest(timeseries: (0..<20).map { s in
            TimeSeries(labels: [Label("__name__", "fwd_test"), Label("series", String(s)), Label("writer", String(writer))],
                       samples: (0..<5).map { i in Sample(t: timestamp(batch: batch, i: i), v: Double(batch * 5 + i)) })
        })
    }

    static func timestamp(batch: Int, i: Int) -> Int64 { baseMs + Int64(batch * 5 + i) * 100 }

    static func startBackend(_ b: Backend, dir: String, port: Int, tag: String) async throws -> ChildProcess {
        let p: ChildProcess
        let probe: String
        switch b {
        case .victoria:
            p = try EdgeDeliveryTests.startVictoriaMetrics(dir, port: port, tag: tag)
            probe = "http://127.0.0.1:\(port)/health"
        case .prometheus:
            p = try EdgeDeliveryTests.startPrometheus(dir, port: port, tag: tag)
            probe = "http://127.0.0.1:\(port)/-/ready"
        }
        try await waitUntil("\(b.rawValue) to start", seconds: 60) { await HTTP.get(probe)?.0 == 200 }
        return p
    }

    static func startCollector(_ dir: String, data: String, port: Int, backendPort: Int, maxBytes: String, tag: String) async throws -> ChildProcess {
        let config = dir + "/collector-\(tag).yml"
        try """
        storage:
          remote:
            write_url: http://127.0.0.1:\(backendPort)/api/v1/write
            query_url: http://127.0.0.1:\(backendPort)
            headers: { X-Scope-OrgID: fleet }
            queue: { max_bytes: \(maxBytes) }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let c = try ChildProcess("collector-\(tag)", try E2E.binary("collector"),
                                 ["--listen", "127.0.0.1:\(port)", "--data-dir", data, "--no-auth", "--config", config], logDir: dir)
        try await waitUntil("collector \(tag) to start") { await HTTP.get("http://127.0.0.1:\(port)/-/ready")?.0 == 200 }
        return c
    }

    /// POSTs a remote-write body; status and the Retry-After header.
    static func write(_ url: String, _ req: WriteRequest) async throws -> (status: Int, retryAfter: String?) {
        var r = URLRequest(url: URL(string: url + "/api/v1/write")!)
        r.httpMethod = "POST"
        r.httpBody = Data(WireEncoder.encodeCompressed(req))
        r.timeoutInterval = 30
        for (k, v) in HTTP.remoteWriteHeaders { r.setValue(v, forHTTPHeaderField: k) }
        let (_, resp) = try await URLSession.shared.data(for: r)
        let h = resp as! HTTPURLResponse
        return (h.statusCode, h.value(forHTTPHeaderField: "Retry-After"))
    }

    /// The collector's own metric (summed over label sets), nil if absent.
    static func metric(_ url: String, _ name: String) async -> Double? {
        guard let (code, data) = await HTTP.get(url + "/metrics"), code == 200 else { return nil }
        var sum: Double?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let key = line.split(separator: " ")[0]
            guard key == name || key.hasPrefix(name + "{"), let v = Double(line.split(separator: " ").last!) else { continue }
            sum = (sum ?? 0) + v
        }
        return sum
    }

    /// `data.writeBackend` of the collector's /api/v1/status/tsdb.
    static func storageStatus(_ url: String) async -> [String: Any]? {
        guard let json = try? await HTTP.getJSON(url + "/api/v1/status/tsdb") else { return nil }
        return (json["data"] as? [String: Any])?["writeBackend"] as? [String: Any]
    }

    /// Every stored `fwd_test` sample as "writer/series@t", duplicates kept (VictoriaMetrics'
    /// export returns raw rows; Prometheus drops an identical repeat on ingest).
    static func stored(_ b: Backend, port: Int) async throws -> [String] {
        var out: [String] = []
        switch b {
        case .victoria:
            _ = await HTTP.get("http://127.0.0.1:\(port)/internal/force_flush")
            let url = "http://127.0.0.1:\(port)/api/v1/export?match%5B%5D=fwd_test"
            guard let (code, data) = await HTTP.get(url), code == 200 else { throw TestError("victoria-metrics: GET \(url) failed") }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                let m = obj["metric"] as! [String: String]
                for t in obj["timestamps"] as! [NSNumber] { out.append("\(m["writer"] ?? "")/\(m["series"] ?? "")@\(t.int64Value)") }
            }
        case .prometheus:
            let q = "fwd_test[2h]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let json = try await HTTP.getJSON("http://127.0.0.1:\(port)/api/v1/query?query=\(q)")
            for r in ((json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? [] {
                let m = r["metric"] as? [String: String] ?? [:]
                for v in r["values"] as? [[Any]] ?? [] {
                    let t = Int64((((v[0] as? NSNumber)?.doubleValue ?? 0) * 1000).rounded())
                    out.append("\(m["writer"] ?? "")/\(m["series"] ?? "")@\(t)")
                }
            }
        }
        return out
    }

    static func expected(_ acks: some Sequence<WriteAck>) -> Set<String> {
        var s = Set<String>()
        for a in acks {
            for series in 0..<20 {
                for i in 0..<5 { s.insert("\(a.writer)/\(series)@\(timestamp(batch: a.batch, i: i))") }
            }
        }
        return s
    }

    /// Waits until the backend holds at least `count` samples, then gives them.
    static func waitStored(_ b: Backend, port: Int, count: Int, seconds: Double = 60) async throws -> [String] {
        var got: [String] = []
        try await waitUntil("\(count) samples in \(b.rawValue)", seconds: seconds) {
            got = (try? await stored(b, port: port)) ?? []
            return got.count >= count
        }
        return got
    }

    @Test(arguments: Backend.allCases)
    func acknowledgedSamplesArriveExactlyOnce(_ backend: Backend) async throws {
        let dir = try tempDir("e2e-remote-\(backend.rawValue)")
        let bport = freePort(), cport = freePort()
        let peer = try await Self.startBackend(backend, dir: dir, port: bport, tag: "a")
        defer { peer.stop() }
        let coll = try await Self.startCollector(dir, data: dir + "/data", port: cport, backendPort: bport, maxBytes: "64MiB", tag: "a")
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(cport)"

        try await waitUntil("status/tsdb to report the backend reachable") {
            await Self.storageStatus(url)?["reachable"] as? Bool == true
        }
        let st = try #require(await Self.storageStatus(url))
        #expect(st["kind"] as? String == "remote")
        #expect(st["url"] as? String == "http://127.0.0.1:\(bport)/api/v1/write")
        let ready = String(decoding: try #require(await HTTP.get(url + "/-/ready")).1, as: UTF8.self)
        #expect(ready.contains("Write backend: remote http://127.0.0.1:\(bport)/api/v1/write, reachable."))

        // Two writers, each its own series, batches in time order.
        let codes = await withTaskGroup(of: [Int].self) { g in
            for w in 0..<2 {
                g.addTask { var c: [Int] = []; for b in 0..<50 { c.append((try? await Self.write(url, Self.request(writer: w, batch: b)))?.status ?? 0) }; return c }
            }
            var all: [Int] = []
            for await c in g { all += c }
            return all
        }
        #expect(codes.allSatisfy { $0 == 204 }, "every write acknowledged: \(Set(codes))")
        let acks = (0..<2).flatMap { w in (0..<50).map { WriteAck(writer: w, batch: $0) } }
        let want = Self.expected(acks)
        let got = try await Self.waitStored(backend, port: bport, count: want.count)
        #expect(got.count == want.count, "exactly once: \(got.count) rows for \(want.count) samples")
        #expect(Set(got) == want)

        try await waitUntil("the forward queue to be empty") {
            await Self.metric(url, "fleetscope_remote_storage_pending_samples") == 0
        }
        #expect(await Self.metric(url, "fleetscope_remote_storage_samples_sent_total") == Double(want.count))
        #expect(await Self.metric(url, "fleetscope_remote_storage_samples_dropped_total") == 0)
        #expect(await Self.metric(url, "fleetscope_remote_storage_oldest_unsent_age_seconds") == 0)
        #expect((await Self.metric(url, "fleetscope_remote_storage_bytes_sent_total") ?? 0) > 0)
    }

    @Test func backendOutageFillsTheQueueThen503AndDrainsAfter() async throws {
        let dir = try tempDir("e2e-remote-outage")
        let bport = freePort(), cport = freePort()
        // Nothing listens on bport yet: the backend is down from the start.
        let coll = try await Self.startCollector(dir, data: dir + "/data", port: cport, backendPort: bport, maxBytes: "64KiB", tag: "a")
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(cport)"
        try await waitUntil("status/tsdb to report the backend unreachable") {
            await Self.storageStatus(url)?["reachable"] as? Bool == false
        }
        let ready = String(decoding: try #require(await HTTP.get(url + "/-/ready")).1, as: UTF8.self)
        #expect(ready.contains("unreachable"))

        var acked: [WriteAck] = []
        var full: (status: Int, retryAfter: String?)?
        for b in 0..<2000 {
            let r = try await Self.write(url, Self.request(writer: 0, batch: b))
            if r.status == 204 { acked.append(WriteAck(writer: 0, batch: b)); continue }
            full = r
            break
        }
        let refusal = try #require(full, "the queue never filled")
        #expect(refusal.status == 503)
        #expect(refusal.retryAfter == "10")
        #expect(acked.count > 10)
        // Still full while the backend is down: the next writes are refused too, nothing is dropped.
        for b in acked.count..<acked.count + 3 {
            #expect(try await Self.write(url, Self.request(writer: 0, batch: b + 1)).status == 503)
        }
        let bytes = try #require(await Self.metric(url, "fleetscope_remote_storage_queue_bytes"))
        #expect(bytes > 0 && bytes <= 64 * 1024, "queue bounded by max_bytes: \(bytes)")
        #expect((await Self.metric(url, "fleetscope_remote_storage_samples_refused_total") ?? 0) >= 400)
        #expect((await Self.metric(url, "fleetscope_remote_storage_retries_total") ?? 0) >= 1)
        #expect((await Self.metric(url, "fleetscope_remote_storage_oldest_unsent_age_seconds") ?? 0) >= 0)
        #expect(await Self.metric(url, "fleetscope_remote_storage_reachable") == 0)

        // The backend comes up: everything acknowledged is delivered, once.
        let peer = try await Self.startBackend(.victoria, dir: dir, port: bport, tag: "late")
        defer { peer.stop() }
        let want = Self.expected(acked)
        let got = try await Self.waitStored(.victoria, port: bport, count: want.count, seconds: 90)
        #expect(got.count == want.count, "exactly once: \(got.count) rows for \(want.count) samples")
        #expect(Set(got) == want)
        try await waitUntil("the forward queue to drain") {
            await Self.metric(url, "fleetscope_remote_storage_pending_samples") == 0
        }
        #expect(await Self.metric(url, "fleetscope_remote_storage_reachable") == 1)
        // Room again.
        #expect(try await Self.write(url, Self.request(writer: 1, batch: 0)).status == 204)
    }

    @Test func acknowledgedSamplesSurviveKill9OfTheCollector() async throws {
        let dir = try tempDir("e2e-remote-kill9")
        let data = dir + "/data"
        let bport = freePort()
        let peer = try await Self.startBackend(.victoria, dir: dir, port: bport, tag: "a")
        defer { peer.stop() }
        // Replica B: another collector on the same backend (its own data dir) answers queries
        // all along while A is killed and restarted.
        let replicaPort = freePort()
        let replica = try await Self.startCollector(dir, data: dir + "/data-b", port: replicaPort, backendPort: bport, maxBytes: "256MiB", tag: "b")
        defer { replica.stop() }
        let poll = Task { () -> (ok: Int, failed: [String]) in
            var ok = 0, failed: [String] = []
            while !Task.isCancelled {
                let r = await HTTP.get("http://127.0.0.1:\(replicaPort)/api/v1/query?query=count(%7B__name__%3D~%22.%2B%22%7D)")
                // The cancellation below also cancels a GET in flight, which is then no answer
                // of the replica's (CI once failed on exactly that).
                if Task.isCancelled { break }
                if r?.0 == 200 { ok += 1 } else { failed.append(r.map { "\($0.0) \(String(decoding: $0.1, as: UTF8.self))" } ?? "no answer") }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (ok, failed)
        }
        var acked = Set<WriteAck>()
        for round in 0..<2 {
            let cport = freePort()
            let coll = try await Self.startCollector(dir, data: data, port: cport, backendPort: bport, maxBytes: "256MiB", tag: "r\(round)")
            let url = "http://127.0.0.1:\(cport)"
            let newAcks = await writeWhileKilling(coll, batches: round * 1000..<(round + 1) * 1000) { w, batch in
                try? await Self.write(url, Self.request(writer: w, batch: batch)).status
            }
            #expect(newAcks.count > 0, "writers should have been acknowledged before the kill")
            acked.formUnion(newAcks)
        }
        // A last start delivers whatever the kills left in the queue.
        let cport = freePort()
        let coll = try await Self.startCollector(dir, data: data, port: cport, backendPort: bport, maxBytes: "256MiB", tag: "final")
        defer { coll.stop() }
        let url = "http://127.0.0.1:\(cport)"
        try await waitUntil("the forward queue to drain after the restart", seconds: 60) {
            await Self.metric(url, "fleetscope_remote_storage_pending_samples") == 0
        }
        poll.cancel()
        let served = await poll.value
        #expect(served.ok > 0 && served.failed.isEmpty, "replica B while A was killed: \(served.ok) answered, failed: \(served.failed.prefix(3))")
        let want = Self.expected(acked)
        let got = try await Self.waitStored(.victoria, port: bport, count: want.count)
        let have = Set(got)
        let lost = want.subtracting(have).count
        #expect(lost == 0, "\(lost) of \(want.count) acknowledged samples never reached the backend")
        // At least once: a record in flight at the kill may arrive twice; say how often it did.
        print("kill -9: \(want.count) acknowledged samples, \(got.count) rows in VictoriaMetrics (\(got.count - have.count) resent duplicates)")
    }
}
