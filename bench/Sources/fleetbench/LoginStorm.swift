import Foundation

/// fleetbench login-storm: `attackers` threads send HTTP Basic logins with wrong passwords as
/// fast as they are answered, while one thread probes `/-/healthy` and one remote-writes with an
/// ingest token, each every `intervalMs`, recording their latencies.
///
/// `spread`: every attempt comes from a fresh 127.x.y.z source address with a fresh user name,
/// as from a botnet, so per-address and per-user throttling never engage and only bcrypt's own
/// thread pool stands between the attackers and the rest of the server.
func loginStorm(port: Int, token: String, dir: String, attackers: Int, seconds: Double, intervalMs: Int, spread: Bool) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/bodies.bin"), options: .alwaysMapped)
    let index = try String(contentsOfFile: dir + "/index.tsv", encoding: .utf8)
    let bodies: [(Int, Int)] = index.split(separator: "\n").map { line in
        let f = line.split(separator: "\t").map { Int($0)! }
        return (f[1], f[2])
    }
    guard !bodies.isEmpty else { throw BenchError("no bodies in \(dir)") }
    let deadline = Date().addingTimeInterval(seconds)
    let lock = NSLock()
    var statuses: [Int: Int] = [:]
    var health: [Double] = [], ingest: [Double] = []
    var ingestErrors = 0, healthErrors = 0
    var firstIngestError = ""
    let group = DispatchGroup()

    func thread(_ body: @escaping () -> Void) {
        group.enter()
        let t = Thread { body(); group.leave() }
        t.stackSize = 1 << 20
        t.start()
    }

    for a in 0..<attackers {
        thread {
            let conn = Conn(port: UInt16(port))
            var mine: [Int: Int] = [:]
            var n = 0
            while Date() < deadline {
                n += 1
                let user: String
                if spread {
                    // 127.(1+a).(n/250).(1+n%250): distinct per attacker and attempt.
                    conn.reset()
                    conn.source = "127.\(1 + a % 250).\((n / 250) % 250).\(1 + n % 250)"
                    user = "nobody-\(a)-\(n)"
                } else {
                    user = "admin"
                }
                let auth = "Authorization: Basic " + Data("\(user):wrong-password-\(n)".utf8).base64EncodedString() + "\r\n"
                do {
                    let (status, _) = try conn.get(path: "/api/v1/labels", extraHeaders: auth)
                    mine[status, default: 0] += 1
                } catch {
                    conn.reset()
                    mine[0, default: 0] += 1
                    usleep(10_000)
                }
            }
            conn.reset()
            lock.lock()
            for (k, v) in mine { statuses[k, default: 0] += v }
            lock.unlock()
        }
    }

    thread {
        let conn = Conn(port: UInt16(port))
        var mine: [Double] = [], errors = 0
        while Date() < deadline {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                let (status, _) = try conn.get(path: "/-/healthy", extraHeaders: "")
                if status != 200 { errors += 1 }
            } catch { conn.reset(); errors += 1 }
            mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            usleep(useconds_t(intervalMs * 1000))
        }
        lock.lock(); health = mine; healthErrors = errors; lock.unlock()
    }

    thread {
        let conn = Conn(port: UInt16(port))
        let headers = "Authorization: Bearer \(token)\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"
        var mine: [Double] = [], errors = 0, first = ""
        var i = 0
        data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
            while Date() < deadline {
                let (off, len) = bodies[i % bodies.count]
                i += 1
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    let (status, msg) = try conn.post(path: "/api/v1/write", extraHeaders: headers,
                                                      body: UnsafeRawBufferPointer(rebasing: all[off..<(off + len)]))
                    if status != 204 { errors += 1; if first.isEmpty { first = "HTTP \(status): \(msg)" } }
                } catch { conn.reset(); errors += 1; if first.isEmpty { first = "\(error)" } }
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                usleep(useconds_t(intervalMs * 1000))
            }
        }
        lock.lock(); ingest = mine; ingestErrors = errors; firstIngestError = first; lock.unlock()
    }

    group.wait()
    func pct(_ xs: [Double], _ p: Double) -> Double {
        if xs.isEmpty { return .nan }
        let s = xs.sorted()
        return s[min(s.count - 1, Int((Double(s.count) * p).rounded(.up)) - 1)]
    }
    let answered = statuses.filter { $0.key != 0 }.values.reduce(0, +)
    print(String(format: "RESULT attackers=%d spread=%d health_p50_ms=%.2f health_p99_ms=%.2f ingest_p50_ms=%.2f ingest_p99_ms=%.2f health_n=%d ingest_n=%d health_errors=%d ingest_errors=%d logins_per_s=%.0f login_401=%d login_429=%d login_other=%d login_conn_errors=%d",
                 attackers, spread ? 1 : 0, pct(health, 0.5), pct(health, 0.99), pct(ingest, 0.5), pct(ingest, 0.99),
                 health.count, ingest.count, healthErrors, ingestErrors, Double(answered) / seconds,
                 statuses[401] ?? 0, statuses[429] ?? 0, answered - (statuses[401] ?? 0) - (statuses[429] ?? 0), statuses[0] ?? 0))
    if !firstIngestError.isEmpty { print("first_ingest_error=\(firstIngestError.replacingOccurrences(of: "\n", with: " "))") }
}
