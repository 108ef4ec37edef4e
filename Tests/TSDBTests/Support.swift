import Glibc
import Logging
import Storage
import Synchronization
import DurableIO
@testable import TSDB

/// A fresh directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String

    init() {
        var template = Array("/tmp/tsdb-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    func cleanup() { try? FS.removeAll(path) }
}

let quietLogger = Logger(label: "tsdb-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Captures log messages so tests can check replay progress lines.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    // Tests are the only writers and read after the TSDB call returns.
    final class Box: @unchecked Sendable { var lines: [String] = [] }
    let box: Box
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    init(box: Box) { self.box = box }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { box.lines.append("\(event.message)") }
}

func lbls(_ pairs: [String: String]) -> Labels { Labels(pairs) }

/// The store's clock in tests: it stands still unless the test moves it, so every horizon
/// (too old, head cut, retention) is explicit in the test.
final class TestClock: Sendable {
    private let t: Mutex<Int64>
    init(_ t: Int64 = 0) { self.t = Mutex(t) }
    var now: Int64 {
        get { t.withLock { $0 } }
        set { t.withLock { $0 = newValue } }
    }
}

func openDB(_ dir: TempDir, clock: TestClock = TestClock(), _ configure: (inout TSDBOptions) -> Void = { _ in }) throws -> TSDB {
    var o = TSDBOptions()
    o.now = { clock.now }
    configure(&o)
    return try TSDB.open(directory: dir.path, options: o, logger: quietLogger)
}

func bitsEqual(_ a: [Sample], _ b: [Sample]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.sameAs($1) }
}

/// Compares every query shape against the reference store.
func expectSameAnswers(_ db: any Queryable, _ ref: MemoryStorage, mint: Int64, maxt: Int64,
                       matchers: [[LabelMatcher]]) throws -> Bool {
    let q = try db.querier(mint: mint, maxt: maxt)
    let r = try ref.querier(mint: mint, maxt: maxt)
    for m in matchers {
        let a = try q.select(m), b = try r.select(m)
        guard a.count == b.count else {
            print("select \(m) [\(mint),\(maxt)]: \(a.count) series vs reference \(b.count)")
            return false
        }
        for (x, y) in zip(a, b) {
            guard x.labels == y.labels, bitsEqual(x.samples, y.samples) else {
                print("select \(m): series \(x.labels) (\(x.samples.count) samples) vs \(y.labels) (\(y.samples.count))")
                let n = min(x.samples.count, y.samples.count)
                for i in 0..<n where !x.samples[i].sameAs(y.samples[i]) { print("  first diff at \(i): \(x.samples[i]) vs \(y.samples[i])"); break }
                return false
            }
        }
    }
    return true
}
