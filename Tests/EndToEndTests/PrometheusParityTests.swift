import TestSupport
import Foundation
import RemoteWrite
import Storage
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Grafana-, promtool- and Prometheus-UI-shaped requests, error cases included, against the
/// collector and a real Prometheus 2.42 holding the same data: same status, same Content-Type,
/// same JSON. Known, deliberate differences are in `ParityCases.skipped` and the README
/// ("Prometheus compatibility").
@Suite(.serialized, .timeLimit(.minutes(4)))
struct PrometheusParityTests {
    struct Peers {
        let collector: ChildProcess
        let prometheus: ChildProcess
        let coll: String
        let prom: String
        let end: Int64
        func stop() { collector.stop(); prometheus.stop() }
    }

    static func start(_ tag: String) async throws -> Peers {
        let dir = try tempDir(tag)
        let cport = freePort(), pport = freePort()
        // PARITY_COLLECTOR_BINARY: measure another build (e.g. main's) with the same requests.
        let binary = try ProcessInfo.processInfo.environment["PARITY_COLLECTOR_BINARY"] ?? E2E.binary("collector")
        let coll = try ChildProcess("collector", binary,
                                    ["--listen", "127.0.0.1:\(cport)", "--data-dir", dir + "/data", "--no-auth"], logDir: dir)
        try "global:\n  evaluation_interval: 1m\n".write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prom = try ChildProcess("prometheus", try E2E.peer("/usr/bin/prometheus", package: "prometheus"),
                                    ["--web.enable-remote-write-receiver", "--storage.tsdb.path", dir + "/prom",
                                     "--web.listen-address", "127.0.0.1:\(pport)", "--config.file", dir + "/prometheus.yml"], logDir: dir)
        let peers = Peers(collector: coll, prometheus: prom, coll: "http://127.0.0.1:\(cport)", prom: "http://127.0.0.1:\(pport)",
                          end: Int64(Date().timeIntervalSince1970) * 1000)
        do {
            try await waitUntil("collector ready") { await HTTP.get(peers.coll + "/-/ready")?.0 == 200 }
            try await waitUntil("prometheus ready") { await HTTP.get(peers.prom + "/-/ready")?.0 == 200 }
            let body = Data(WireEncoder.encodeCompressed(ParityCases.data(end: peers.end)))
            for base in [peers.coll, peers.prom] {
                let (code, text) = try await HTTP.post(base + "/api/v1/write", body: body, headers: [
                    "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf", "X-Prometheus-Remote-Write-Version": "0.1.0",
                ])
                #expect(code == 204, "remote-write to \(base): \(code) \(text)")
            }
        } catch {
            peers.stop()
            throw error
        }
        return peers
    }

    /// One answer: status, the headers that matter, body (un-gzipped by URLSession).
    struct Answer {
        let status: Int
        let contentType: String
        let body: Data
    }

    static func send(_ base: String, _ c: ParityCases.Request) async throws -> Answer {
        var r = URLRequest(url: URL(string: base + c.path)!)
        r.timeoutInterval = 30
        if let form = c.form {
            r.httpMethod = "POST"
            r.httpBody = Data(form.utf8)
            r.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (data, resp) = try await URLSession.shared.data(for: r)
        let h = resp as! HTTPURLResponse
        return Answer(status: h.statusCode, contentType: h.value(forHTTPHeaderField: "Content-Type") ?? "", body: data)
    }

    /// JSON with result lists put in label order where Prometheus' order is not part of the answer.
    /// `leavingOut`: names dropped from a list answer (label names, metric names).
    static func normalized(_ body: Data, ordered: Bool, leavingOut: Set<String> = []) -> String {
        guard var json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return "non-JSON: " + String(decoding: body.prefix(300), as: UTF8.self)
        }
        if let names = json["data"] as? [String] { json["data"] = names.filter { !leavingOut.contains($0) } }
        if !ordered, var data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] {
            func key(_ e: [String: Any]) -> String {
                let m = e["metric"] as? [String: String] ?? [:]
                return m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }
            data["result"] = result.sorted { key($0) < key($1) }
            json["data"] = data
        }
        let out = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        return out.map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// The collector writes its fleet registry's own series (`fleetscope_cluster_health{state}`
    /// and friends) once its refresher has run, which on a loaded machine can happen during the
    /// comparison; Prometheus has no fleet registry. Their metric names, and label names that
    /// only they carry, are left out of list answers. Asked after each request, so a refresh
    /// in between is seen.
    static func collectorOwnNames(_ base: String) async throws -> Set<String> {
        func names(_ path: String) async throws -> Set<String> {
            let r = try await send(base, ParityCases.Request(name: "own", path: path))
            let json = try JSONSerialization.jsonObject(with: r.body) as? [String: Any]
            guard json?["status"] as? String == "success", let data = json?["data"] as? [String] else {
                throw TestError("\(path): \(String(decoding: r.body, as: UTF8.self))")
            }
            return Set(data)
        }
        let own = "match%5B%5D=%7B__name__%3D~%22fleetscope_.%2A%22%7D", other = "match%5B%5D=%7B__name__%3D~%22.%2B%22%2C__name__%21~%22fleetscope_.%2A%22%7D"
        let metricNames = try await names("/api/v1/label/__name__/values?\(own)")
        let ownLabels = try await names("/api/v1/labels?\(own)"), otherLabels = try await names("/api/v1/labels?\(other)")
        return metricNames.union(ownLabels.subtracting(otherLabels))
    }

    @Test func sameAnswersAsPrometheus() async throws {
        let peers = try await Self.start("parity")
        defer { peers.stop() }
        let cases = ParityCases.requests(end: peers.end)
        // Prometheus appends through its head at once, but wait until a query sees the data.
        try await waitUntil("prometheus to answer with data") {
            guard let a = try? await Self.send(peers.prom, cases[0]) else { return false }
            return String(decoding: a.body, as: UTF8.self).contains("parity_requests_total")
        }
        var same = 0, known = 0
        var diffs: [String] = []
        for c in cases {
            let ours = try await Self.send(peers.coll, c)
            let theirs = try await Self.send(peers.prom, c)
            if let why = c.knownDifference {
                known += 1
                #expect(ours.status == theirs.status, "\(c.name): \(ours.status) vs \(theirs.status) (\(why))")
                continue
            }
            let own = try await Self.collectorOwnNames(peers.coll)
            let (a, b) = (Self.normalized(ours.body, ordered: c.ordered, leavingOut: own), Self.normalized(theirs.body, ordered: c.ordered))
            if ours.status == theirs.status && ours.contentType == theirs.contentType && a == b {
                same += 1
            } else {
                diffs.append("\(c.name) \(c.path)\(c.form.map { " POST " + $0.prefix(200) } ?? "")\n  collector \(ours.status) \(ours.contentType) \(a.prefix(600))\n  prometheus \(theirs.status) \(theirs.contentType) \(b.prefix(600))")
            }
        }
        print("Prometheus parity: \(same)/\(cases.count - known) requests answered identically (\(known) known differences, README)")
        for d in diffs { print("DIFF " + d) }
        #expect(diffs.isEmpty, "\(diffs.count) of \(cases.count - known) requests differ from Prometheus 2.42; first: \(diffs.first ?? "")")
        #expect(peers.collector.isRunning, "collector died: \(peers.collector.logTail())")
    }

    /// gzip when asked (Grafana always asks), plain otherwise, and never for tiny bodies;
    /// fleet-sized GET URLs and POST bodies as Prometheus takes them, 414/413 in words beyond.
    @Test func gzipAndFleetSizedRequests() async throws {
        let peers = try await Self.start("parity-sizes")
        defer { peers.stop() }
        let curl = try E2E.peer("/usr/bin/curl", package: "curl")
        func head(_ url: String, gzip: Bool) throws -> (String, Data) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: curl)
            p.arguments = ["-s", "-D", "-", "-o", "/dev/null"] + (gzip ? ["-H", "Accept-Encoding: gzip"] : []) + [url]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (String(decoding: data, as: UTF8.self).lowercased(), data)
        }
        let big = "/api/v1/series?match%5B%5D=parity_requests_total"
        let small = "/api/v1/query?query=1&time=\(peers.end / 1000)"
        for base in [peers.coll, peers.prom] {
            let (zipped, _) = try head(base + big, gzip: true)
            #expect(zipped.contains("content-encoding: gzip"), "\(base) with Accept-Encoding: gzip: \(zipped)")
            let (plain, _) = try head(base + big, gzip: false)
            #expect(!plain.contains("content-encoding"), "\(base) without Accept-Encoding: \(plain)")
        }
        let (tiny, _) = try head(peers.coll + small, gzip: true)
        #expect(!tiny.contains("content-encoding"), "a tiny answer goes uncompressed: \(tiny)")
        // The gzipped answer is the same JSON (URLSession asks for gzip and inflates it).
        var r = URLRequest(url: URL(string: peers.coll + big)!)
        r.setValue("gzip", forHTTPHeaderField: "Accept-Encoding")
        let (zdata, _) = try await URLSession.shared.data(for: r)
        let plainData = try #require(await HTTP.get(peers.coll + big)).1
        #expect(zdata == plainData)

        // A 900 KB GET (over NIO's default 80 KB head): both answer the same.
        let pad = String(repeating: "x", count: 900_000)
        let longGet = ParityCases.Request(name: "900 KB GET", path: "/api/v1/query?time=\(peers.end / 1000)&query="
                                          + "count(parity_requests_total%7Binstance!%3D%22\(pad)%22%7D)")
        let (c1, p1) = (try await Self.send(peers.coll, longGet), try await Self.send(peers.prom, longGet))
        #expect(c1.status == 200 && p1.status == 200, "collector \(c1.status), prometheus \(p1.status)")
        #expect(Self.normalized(c1.body, ordered: false) == Self.normalized(p1.body, ordered: false))
        // A 5 MB POST form (over the old 4 MiB cut): both answer the same.
        let longPost = ParityCases.Request(name: "5 MB POST", path: "/api/v1/query",
                                           form: "time=\(peers.end / 1000)&query=count(parity_requests_total)" + String(repeating: "+", count: 5_000_000))
        let (c2, p2) = (try await Self.send(peers.coll, longPost), try await Self.send(peers.prom, longPost))
        #expect(c2.status == 200 && p2.status == 200, "collector \(c2.status) \(String(decoding: c2.body.prefix(200), as: UTF8.self)), prometheus \(p2.status)")
        #expect(Self.normalized(c2.body, ordered: false) == Self.normalized(p2.body, ordered: false))
        // Beyond Prometheus' sizes: 414 and 413 with a message, not an empty 400 or a cut body.
        // (Raw HTTP: URLSession refuses URLs this long on its own side.)
        let port = Int(peers.coll.split(separator: ":").last!)!
        let c3 = try RawHTTP.exchange(port: port, head: "GET /api/v1/query?query=1&x=\(String(repeating: "y", count: 1_500_000)) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(c3.hasPrefix("HTTP/1.1 414") && c3.contains("POST"), "\(c3.prefix(300))")
        let form = "query=1" + String(repeating: "+", count: 11_000_000)
        let c4 = try RawHTTP.exchange(port: port, head: "POST /api/v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n", body: form)
        #expect(c4.hasPrefix("HTTP/1.1 413") && c4.contains("larger than"), "\(c4.prefix(300))")
        #expect(peers.collector.isRunning, "collector died: \(peers.collector.logTail())")
    }

    /// Metadata sent with remote-write is served as Prometheus serves its scraped metadata.
    @Test func metadataFromRemoteWrite() async throws {
        let peers = try await Self.start("parity-metadata")
        defer { peers.stop() }
        let all = try await HTTP.getJSON(peers.coll + "/api/v1/metadata")
        let data = try #require(all["data"] as? [String: [[String: String]]])
        #expect(data["parity_requests_total"] == [["type": "counter", "help": "Requests served.", "unit": ""]])
        #expect(data["parity_up"] == [["type": "gauge", "help": "Whether the target answered.", "unit": ""]])
        let one = try #require(try await HTTP.getJSON(peers.coll + "/api/v1/metadata?metric=parity_up")["data"] as? [String: Any])
        #expect(Array(one.keys) == ["parity_up"])
        let limited = try #require(try await HTTP.getJSON(peers.coll + "/api/v1/metadata?limit=1")["data"] as? [String: Any])
        #expect(limited.count == 1)
        let bad = try #require(await HTTP.get(peers.coll + "/api/v1/metadata?limit=abc"))
        #expect(bad.0 == 400 && String(decoding: bad.1, as: UTF8.self).contains("limit must be a number"))
    }
}

/// One HTTP/1.1 exchange over a plain socket, for requests URLSession will not send.
enum RawHTTP {
    static func exchange(port: Int, head: String, body: String = "") throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw TestError("connect to \(port) failed") }
        // The server may answer and close before the whole body is sent: stop writing then.
        let bytes = Array((head + body).utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
