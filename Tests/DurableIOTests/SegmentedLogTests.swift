import DurableIO
import Glibc
import Synchronization
import Testing

/// A fresh directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String

    init() {
        var template = Array("/tmp/durableio-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    func cleanup() { try? FS.removeAll(path) }
}

@Suite struct SegmentedLogTests {
    static let layout = SegmentLayout(digits: 4, suffix: ".log", header: Array("HDR1".utf8))

    @Test func appendsRotateAndKeepEveryByteInOrder() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let log = try SegmentedLog(dir: dir.path, layout: Self.layout, segmentSize: 64, firstSegment: 7)
        var all: [UInt8] = []
        var pos: UInt64 = 0
        for i in 0..<10 {
            let rec = [UInt8](repeating: UInt8(i), count: 30)
            all += rec
            pos = try log.append(rec)
        }
        try await log.waitDurable(pos)
        try log.close()
        #expect(pos == 300)
        let segs = try Self.layout.segments(in: dir.path)
        #expect(segs.first == 7 && segs.count == 5)  // 4-byte header + 2 × 30 fill 64 exactly
        var read: [UInt8] = []
        for s in segs {
            let bytes = try FS.readFile(Self.layout.path(dir.path, s))
            #expect(Array(bytes.prefix(4)) == Array("HDR1".utf8))
            #expect(bytes.count <= 64)
            read += bytes.dropFirst(4)
        }
        #expect(read == all)
        #expect(Self.layout.name(7) == "0007.log" && Self.layout.number("0007.log") == 7 && Self.layout.number("07.log") == nil)
    }

    @Test func cutStartsANewSegmentAndCountsAsDurable() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let log = try SegmentedLog(dir: dir.path, layout: Self.layout, segmentSize: 1 << 20, firstSegment: 1)
        let pos = try log.append([1, 2, 3])
        #expect(try log.cut() == 1)
        #expect(log.currentSegment == 2)
        // The cut fsynced segment 1: waiting needs no further fsync.
        let before = log.stats.fsyncs
        try await log.waitDurable(pos)
        #expect(log.stats.fsyncs == before)
        try log.close()
        #expect(throws: SegmentedLog.ClosedError.self) { _ = try log.append([4]) }
    }

    @Test func aFailedFsyncIsStickyByDefault() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let log = try SegmentedLog(dir: dir.path, layout: Self.layout, segmentSize: 1 << 20, firstSegment: 1)
        let pos = try log.append([1])
        await #expect(throws: SegmentedLog.FailedError.self) { try await log.waitDurable(pos, fsyncWith: { _ in EIO }) }
        #expect(throws: SegmentedLog.FailedError.self) { _ = try log.append([2]) }
    }

    @Test func aNonStickyLogFailsOnlyTheWritesThatFsyncCovered() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let log = try SegmentedLog(dir: dir.path, layout: Self.layout, segmentSize: 1 << 20, firstSegment: 1,
                                   stickyFsyncFailure: false)
        let p1 = try log.append([1])
        await #expect(throws: DurableIOError.self) { try await log.waitDurable(p1, fsyncWith: { _ in EIO }) }
        let p2 = try log.append([2])
        try await log.waitDurable(p2)
        try log.close()
        #expect(try FS.readFile(Self.layout.path(dir.path, 1)) == Array("HDR1".utf8) + [1, 2])
    }

    /// A producer that wrote, then waited after another task closed the log (DiskQueue.write, then
    /// waitDurable): close's fsync covered the write, and the closed descriptor is never fsynced.
    @Test func aWaitAfterCloseIsDurableThroughCloseAndFsyncsNothing() async throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let log = try SegmentedLog(dir: dir.path, layout: SegmentedLogTests.layout, segmentSize: 1 << 20, firstSegment: 1)
        let pos = try log.append([9, 9])
        try log.close()
        let calls = Mutex(0)
        try await log.waitDurable(pos, fsyncWith: { _ in calls.withLock { $0 += 1 }; return EIO })
        #expect(calls.withLock { $0 } == 0)
        #expect(try FS.readFile(SegmentedLogTests.layout.path(dir.path, 1)) == Array("HDR1".utf8) + [9, 9])
    }
}

@Suite struct FSTests {
    @Test func cutTailTruncatesDurably() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path + "/f"
        try FS.writeFileAtomically(path, [1, 2, 3, 4, 5])
        try FS.cutTail(path, to: 2)
        #expect(try FS.readFile(path) == [1, 2])
        #expect(!FS.exists(path + ".tmp"))
    }

    @Test func mkdirAllIsOwnerOnlyAndPrivateDirectoriesAreTightened() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let nested = dir.path + "/a/b/c"
        try FS.mkdirAll(nested)
        var st = stat()
        #expect(stat(nested, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(chmod(nested, 0o755) == 0)
        try FS.preparePrivateDirectory(nested)
        #expect(stat(nested, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(try FS.list(dir.path + "/a") == ["b"])
    }

    @Test func aFlockRefusesASecondOpenEvenInTheSameProcess() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // flock locks belong to the open file: a second open in this process is refused.
        guard case .held(let fd) = try FS.tryLock(dir.path + "/lock", .flock) else { Issue.record("not locked"); return }
        defer { close(fd) }
        guard case .busy = try FS.tryLock(dir.path + "/lock", .flock) else { Issue.record("second flock granted"); return }
    }

}
