import Foundation
import Synchronization
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A regex cannot run a query away (RE2), and SIGTERM stops the collector whatever queries run.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ShutdownTests {
    static func queryURL(_ base: String, _ q: String, _ extra: String = "") -> String {
        var c = URLComponents(string: base + "/api/v1/query")!
        c.queryItems = [URLQueryItem(name: "query", value: q), URLQueryItem(name: "time", value: "1700000000")]
        // URLComponents leaves `+` alone, which a form decoder reads as a space.
        return c.url!.absoluteString.replacingOccurrences(of: "+", with: "%2B") + extra
    }

    @Test func pathologicalRegexAnswersAndSigtermStopsBusyCollector() async throws {
        let dir = try tempDir("e2e-shutdown")
        let port = freePort()
        let coll = try ChildProcess("collector", try E2E.binary("collector"),
                                    ["--listen", "127.0.0.1:\(port)", "--data-dir", dir + "/data", "--no-auth"], logDir: dir)
        defer { coll.stop(grace: 1) }
        let url = "http://127.0.0.1:\(port)"
        try await waitUntil("collector to be ready") { await HTTP.get(url + "/-/ready")?.0 == 200 }

        // The issue's query, with 40 characters (never finished with a backtracking engine).
        let a40 = String(repeating: "a", count: 40)
        let evil = #"label_replace(label_replace(vector(1),"x","\#(a40)","",""),"y","$1","x","(a*)*b")"#
        let answer = try #require(await HTTP.get(Self.queryURL(url, evil), timeout: 30), "no answer to the regex query")
        #expect(answer.0 == 200, "\(String(decoding: answer.1, as: UTF8.self))")
        #expect(String(decoding: answer.1, as: UTF8.self).contains(#""x":"\#(a40)""#))
        #expect(!String(decoding: answer.1, as: UTF8.self).contains(#""y":"#))

        // CPU-bound queries allowed to run for ten minutes, more of them than there are cores.
        // 604,800 steps of 86,400 points each: minutes even for the release build (the 6 h version
        // of this query took 1.2 s there, and ended before the SIGTERM it was meant to outlast).
        let heavy = "count_over_time(max_over_time(vector(1)[1d:1s])[7d:1s])"
        let finished = Finished()
        let heavyURL = Self.queryURL(url, heavy, "&timeout=600s")
        let fired = (0..<4).map { _ in
            Task.detached {
                _ = await HTTP.get(heavyURL, timeout: 600)
                finished.count.add(1, ordering: .relaxed)
            }
        }
        try await Task.sleep(for: .seconds(2))
        #expect(finished.count.load(ordering: .relaxed) == 0, "the heavy queries should still be running when SIGTERM arrives")
        // Health answers while they run: query evaluation does not hold Swift's cooperative threads.
        #expect(await HTTP.get(url + "/-/healthy", timeout: 10)?.0 == 200)

        kill(coll.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while coll.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!coll.isRunning, "collector still running 20 s after SIGTERM: \(coll.logTail())")
        if !coll.isRunning {
            #expect(coll.process.terminationStatus == 0, "exit status \(coll.process.terminationStatus): \(coll.logTail())")
        }
        for t in fired { t.cancel() }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

final class Finished: Sendable {
    let count = Atomic<Int>(0)
}
