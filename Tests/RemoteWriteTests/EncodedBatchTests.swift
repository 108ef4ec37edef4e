import Storage
import Testing
import TestSupport

@testable import RemoteWrite

/// The edge's batches of pre-encoded labels: records from a batch must be the very bytes the
/// series path encodes, and the label decoder must survive any bytes.
@Suite struct EncodedBatchTests {
    /// Each series cut into one series per sample, as a batch holds them.
    func perSample(_ series: [TimeSeries]) -> [TimeSeries] {
        series.flatMap { ts in ts.samples.map { TimeSeries(labels: ts.labels, samples: [$0]) } }
    }

    @Test func recordsAreTheSeriesPathsBytes() throws {
        var rng = SplitMix(seed: 7)
        for _ in 0..<300 {
            let series = perSample(randomRequest(&rng).timeseries)
            let batch = EncodedBatch(series, key: 9)
            #expect(batch.timeSeries == series)
            let limit = Int.random(in: 1...40, using: &rng)
            let records = WriteRecords.encode(batch, maxSamplesPerRecord: limit, maxBytesPerRecord: .max)
            let reference = WriteRecords.encode(series, maxSamplesPerRecord: limit)
            #expect(records.map(\.samples) == reference.map(\.samples))
            #expect(records.allSatisfy { $0.samples <= limit })
            #expect(try records.map { try Snappy.decompress($0.payload) } == reference.map { try Snappy.decompress($0.payload) })
            let decoded = try records.flatMap { try WireDecoder.decode(Snappy.decompress($0.payload)).timeseries }
            #expect(decoded == series)
        }
    }

    /// Records stay within the byte bound unless one series alone exceeds it, and together still
    /// hold every sample in order.
    @Test func recordsRespectTheByteBound() throws {
        var rng = SplitMix(seed: 8)
        for _ in 0..<200 {
            let series = perSample(randomRequest(&rng).timeseries)
            let maxBytes = Int.random(in: 1...3000, using: &rng)
            let records = WriteRecords.encode(EncodedBatch(series, key: 0), maxSamplesPerRecord: 2_000, maxBytesPerRecord: maxBytes)
            var decoded: [TimeSeries] = []
            for r in records {
                let raw = try Snappy.decompress(r.payload)
                let ts = try WireDecoder.decode(raw).timeseries
                #expect(ts.count == r.samples)
                #expect(raw.count <= maxBytes || r.samples == 1, "\(raw.count) bytes in \(r.samples) samples, bound \(maxBytes)")
                decoded += ts
            }
            #expect(decoded == series)
        }
    }

    /// Labels stored as references to shared ones go on the wire as the very bytes of the series
    /// path; every label may or may not be shared.
    @Test func sharedLabelsEncodeAsTheSeriesPathsBytes() throws {
        var rng = SplitMix(seed: 9)
        for _ in 0..<300 {
            let series = perSample(randomRequest(&rng).timeseries)
            let pool = Set(series.flatMap(\.labels)).sorted()
            let shared = SharedLabels(pool.filter { _ in Bool.random(using: &rng) } + [Label("job", "not-in-any-series")])
            var arena: [UInt8] = [], entries: [EncodedBatch.Entry] = []
            for ts in series {
                let start = arena.count
                let size = shared.append(ts.labels, to: &arena)
                entries.append(.init(offset: UInt32(start), length: UInt32(arena.count - start), size: UInt32(size), sample: ts.samples[0]))
            }
            let batch = EncodedBatch(labels: arena, shared: shared, entries: entries, key: 0)
            #expect(batch.timeSeries == series)
            let records = WriteRecords.encode(batch, maxSamplesPerRecord: 2_000, maxBytesPerRecord: .max)
            let reference = WriteRecords.encode(series, maxSamplesPerRecord: 2_000)
            #expect(try records.map { try Snappy.decompress($0.payload) } == reference.map { try Snappy.decompress($0.payload) })
        }
    }

    /// Shared labels match byte for byte: a canonically equivalent value (é composed and
    /// decomposed, equal as Swift strings) is stored as itself, not as the shared one.
    @Test func sharedLabelsMatchBytesNotCanonicalEquivalence() {
        let composed = Label("city", "caf\u{E9}"), decomposed = Label("city", "cafe\u{301}")
        #expect(composed == decomposed)
        let shared = SharedLabels([composed])
        var stored: [UInt8] = []
        shared.append([decomposed], to: &stored)
        var literal: [UInt8] = []
        EncodedLabels.append([decomposed], to: &literal)
        #expect(stored == literal)
        stored = []
        shared.append([composed], to: &stored)
        #expect(stored == [0x80])
    }

    /// Damaged stored labels are refused or decode to something, never a crash.
    @Test func damagedStoredLabelsAreRefused() {
        var rng = SplitMix(seed: 10)
        for _ in 0..<2000 {
            guard let ts = randomRequest(&rng).timeseries.first else { continue }
            let shared = SharedLabels(ts.labels.filter { _ in Bool.random(using: &rng) })
            var stored: [UInt8] = []
            shared.append(ts.labels, to: &stored)
            if stored.isEmpty { continue }
            mutate(&stored, &rng)
            let batch = EncodedBatch(labels: stored, shared: shared, entries: [.init(offset: 0, length: UInt32(stored.count), sample: Sample(t: 0, v: 0))], key: 0)
            _ = batch.labels(of: batch.entries[0])
        }
        let shared = SharedLabels([Label("a", "b")])
        for bad: [UInt8] in [[0x81], [0x7F], [0x0A], [0x0A, 0x80], [0x0A, 0x05, 0x0A], [0x80, 0x0A, 0xFF, 0xFF]] {
            let batch = EncodedBatch(labels: bad, shared: shared, entries: [.init(offset: 0, length: UInt32(bad.count), sample: Sample(t: 0, v: 0))], key: 0)
            #expect(batch.wireLabels(of: batch.entries[0]) == nil, "\(bad)")
        }
    }

    /// Entries may share label bytes (the edge's arena) and come in any order.
    @Test func entriesSharingLabelsEncodeEach() throws {
        var labels: [UInt8] = []
        EncodedLabels.append([Label("__name__", "a"), Label("job", "j")], to: &labels)
        let split = UInt32(labels.count)
        EncodedLabels.append([Label("__name__", String(repeating: "b", count: 300))], to: &labels)
        let batch = EncodedBatch(labels: labels, entries: [
            .init(offset: split, length: UInt32(labels.count) - split, sample: Sample(t: 2, v: 0)),
            .init(offset: 0, length: split, sample: Sample(t: 1, v: 1.5)),
            .init(offset: 0, length: split, sample: Sample(t: 3, v: StaleNaN.value)),
            .init(offset: 0, length: 0, sample: Sample(t: 0, v: 4)),
        ], key: 1)
        let decoded = try WriteRecords.encode(batch, maxSamplesPerRecord: 100).flatMap { try WireDecoder.decode(Snappy.decompress($0.payload)).timeseries }
        #expect(decoded == batch.timeSeries)
        #expect(decoded.map { $0.labels.first?.value.count ?? 0 } == [300, 1, 1, 0])
        #expect(decoded[2].samples[0].sameAs(Sample(t: 3, v: StaleNaN.value)))
    }

    /// Damaged or random bytes decode to nil or to labels, never a crash; undamaged bytes decode
    /// to what was encoded.
    @Test func labelDecoderSurvivesAnyBytes() {
        var rng = SplitMix(seed: 5)
        for _ in 0..<2000 {
            let series = randomRequest(&rng).timeseries
            guard let ts = series.first else { continue }
            var bytes: [UInt8] = []
            EncodedLabels.append(ts.labels, to: &bytes)
            #expect(EncodedLabels.decode(bytes[...]) == ts.labels)
            if bytes.isEmpty { continue }
            mutate(&bytes, &rng)
            _ = EncodedLabels.decode(bytes[...])
            let random = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = EncodedLabels.decode(random[...])
        }
        // Invalid UTF-8, a length past the end, a varint that does not end, a foreign tag.
        for bad: [UInt8] in [[0x0A, 0x03, 0x0A, 0x01, 0xFF], [0x0A, 0x05, 0x0A], [0x0A, 0xFF, 0xFF, 0xFF], [0x12, 0x00]] {
            #expect(EncodedLabels.decode(bad[...]) == nil)
        }
    }
}
