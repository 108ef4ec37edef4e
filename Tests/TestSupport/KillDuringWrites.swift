/// One acknowledged remote write of a crash test: writer `writer`'s batch number `batch`.
public struct WriteAck: Hashable, Sendable {
    public let writer: Int
    public let batch: Int
    public init(writer: Int, batch: Int) { self.writer = writer; self.batch = batch }
}

/// The crash tests' ingest loop: `writers` writers send batches `batches` concurrently through
/// `send` (the HTTP status, nil when the request failed: that writer stops, the process is gone)
/// while the process is SIGKILLed after `killAfter`. Gives every batch answered 204, the ones
/// the collector promised to keep.
public func writeWhileKilling(_ process: ChildProcess, writers: Int = 4, batches: Range<Int>,
                              killAfter: Duration = .milliseconds(1500),
                              send: @escaping @Sendable (_ writer: Int, _ batch: Int) async -> Int?) async -> [WriteAck] {
    await withTaskGroup(of: [WriteAck].self) { group in
        for w in 0..<writers {
            group.addTask {
                var mine: [WriteAck] = []
                for batch in batches {
                    guard let status = await send(w, batch) else { break }
                    if status == 204 { mine.append(WriteAck(writer: w, batch: batch)) }
                }
                return mine
            }
        }
        group.addTask {
            try? await Task.sleep(for: killAfter)
            process.kill9()
            return []
        }
        var all: [WriteAck] = []
        for await acks in group { all += acks }
        return all
    }
}
