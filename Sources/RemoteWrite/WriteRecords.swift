import Storage

/// Queued remote-write batches: series cut into snappy-compressed `WriteRequest`s of bounded
/// size (one per queue record), and records joined back into one request body. The edge's disk
/// queue and the collector's forward queue hold these bytes, so their senders never re-encode.
public enum WriteRecords {
    /// Records of at most `maxSamplesPerRecord` samples; a longer series (backfill) is split
    /// and its pieces stay in order.
    public static func encode(_ series: [TimeSeries], maxSamplesPerRecord: Int) -> [(payload: [UInt8], samples: Int)] {
        let limit = max(maxSamplesPerRecord, 1)
        var out: [(payload: [UInt8], samples: Int)] = []
        var batch: [TimeSeries] = []
        var n = 0
        func flush() {
            if n > 0 { out.append((WireEncoder.encodeCompressed(series: batch), n)) }
            batch.removeAll(keepingCapacity: true)
            n = 0
        }
        for ts in series where !ts.samples.isEmpty {
            if ts.samples.count <= limit - n {
                batch.append(ts)
                n += ts.samples.count
                continue
            }
            var rest = ts.samples[...]
            while !rest.isEmpty {
                if n == limit { flush() }
                let take = min(rest.count, limit - n)
                batch.append(TimeSeries(labels: ts.labels, samples: Array(rest.prefix(take))))
                n += take
                rest = rest.dropFirst(take)
            }
        }
        flush()
        return out
    }

    /// Records of at most `maxSamplesPerRecord` samples and, unless one series alone is larger,
    /// `maxBytesPerRecord` bytes of protobuf; the labels are copied as they are. The byte bound
    /// keeps the encoder's scratch buffer (`EncodeScratch`), which stays resident, at 64 KiB
    /// instead of the largest scrape's size; snappy compresses in 64 KiB fragments anyway, and
    /// the sender joins records into requests of up to `max_samples_per_send` samples.
    public static func encode(_ batch: EncodedBatch, maxSamplesPerRecord: Int,
                              maxBytesPerRecord: Int = 64 << 10) -> [(payload: [UInt8], samples: Int)] {
        let limit = max(maxSamplesPerRecord, 1)
        var out: [(payload: [UInt8], samples: Int)] = []
        var start = 0, total = 0
        for (k, e) in batch.entries.enumerated() {
            // The producer's offsets; checked because a wrong one would read outside the arena.
            precondition(Int(e.offset) + Int(e.length) <= batch.labels.count, "EncodedBatch: entry outside its labels")
            let size = SeriesWriter.messageSize(e)
            if k > start && (k - start == limit || total + size > maxBytesPerRecord) {
                out.append((SeriesWriter.encodeCompressed(batch, start ..< k, total: total), k - start))
                start = k
                total = 0
            }
            total += size
        }
        if start < batch.entries.count {
            out.append((SeriesWriter.encodeCompressed(batch, start ..< batch.entries.count, total: total), batch.entries.count - start))
        }
        return out
    }

    /// One request body for several records: protobuf messages concatenate into one with the
    /// repeated fields joined, and snappy blocks concatenate into one by rewriting the length
    /// header (`Snappy.concatenate`), so neither protobuf nor snappy is undone and redone.
    public static func merge(_ payloads: [[UInt8]]) throws -> [UInt8] {
        try Snappy.concatenate(payloads)
    }
}
