import Foundation
import Logging
import RemoteWrite
import Storage
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Collector

/// A collector running in this process on a free loopback port, with its own temp data dir.
final class TestServer: @unchecked Sendable {
    // Set once before use, then read-only.
    let server: CollectorServer
    let dataDir: String
    private(set) var port = 0
    private var task: Task<Void, Error>?

    init(noAuth: Bool = true, dataDir: String? = nil) async throws {
        self.dataDir = dataDir ?? NSTemporaryDirectory() + "fleetscope-test-\(UUID().uuidString)"
        var opts = CollectorOptions()
        opts.host = "127.0.0.1"
        opts.port = 0
        opts.dataDir = self.dataDir
        opts.noAuth = noAuth
        var logger = Logger(label: "test-collector")
        logger.logLevel = .warning
        server = try CollectorServer(options: opts, logger: logger)
        let (stream, cont) = AsyncStream<Int>.makeStream()
        task = Task { [server] in try await server.run { port in cont.yield(port) } }
        for await p in stream { port = p; break }
    }

    func stop() async {
        task?.cancel()
        _ = await task?.result
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func write(_ req: WriteRequest, token: String? = nil, encoding: String? = "snappy", body: [UInt8]? = nil) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: base + "/api/v1/write")!)
        r.httpMethod = "POST"
        r.httpBody = Data(body ?? WireEncoder.encodeCompressed(req))
        if let encoding { r.setValue(encoding, forHTTPHeaderField: "Content-Encoding") }
        r.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
        r.setValue("0.1.0", forHTTPHeaderField: "X-Prometheus-Remote-Write-Version")
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, resp) = try await URLSession.shared.data(for: r)
        return ((resp as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    func get(_ path: String, user: String? = nil, password: String? = nil) async throws -> (Int, [String: Any]) {
        var r = URLRequest(url: URL(string: base + path)!)
        if let user, let password {
            r.setValue("Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        let (data, resp) = try await URLSession.shared.data(for: r)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? ["raw": String(decoding: data, as: UTF8.self)]
        return ((resp as! HTTPURLResponse).statusCode, json)
    }
}

func series(_ name: String, _ labels: [String: String] = [:], _ samples: [(Int64, Double)]) -> TimeSeries {
    var l = [Label("__name__", name)]
    for (k, v) in labels.sorted(by: { $0.key < $1.key }) { l.append(Label(k, v)) }
    return TimeSeries(labels: l, samples: samples.map { Sample(t: $0.0, v: $0.1) })
}

/// `/api/v1/series` answers as a set of label dictionaries.
func seriesSet(_ json: [String: Any]) -> Set<[String: String]> {
    Set((json["data"] as? [[String: String]]) ?? [])
}
