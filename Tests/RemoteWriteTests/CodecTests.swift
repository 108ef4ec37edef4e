import RemoteWireC
import Storage
import Testing
import TestSupport

@testable import RemoteWrite

func randomRequest(_ rng: inout SplitMix) -> WriteRequest {
    let specials: [Double] = [.nan, .infinity, -.infinity, StaleNaN.value, 0, -0.0, .greatestFiniteMagnitude, 1e-300]
    var req = WriteRequest()
    for _ in 0..<Int.random(in: 0...20, using: &rng) {
        var labels: [Label] = [Label("__name__", "m\(Int.random(in: 0...5, using: &rng))")]
        for i in 0..<Int.random(in: 0...6, using: &rng) {
            labels.append(Label("l\(i)", String(repeating: "vé\u{1F600}", count: Int.random(in: 0...3, using: &rng))))
        }
        var samples: [Sample] = []
        for _ in 0..<Int.random(in: 0...50, using: &rng) {
            let v = Bool.random(using: &rng) ? specials.randomElement(using: &rng)! : Double.random(in: -1e9...1e9, using: &rng)
            samples.append(Sample(t: Int64.random(in: Int64.min / 2...Int64.max / 2, using: &rng), v: v))
        }
        req.timeseries.append(TimeSeries(labels: labels, samples: samples))
    }
    for _ in 0..<Int.random(in: 0...3, using: &rng) {
        req.metadata.append(MetricMetadata(type: .counter, family: "fam", help: "help text", unit: "seconds"))
    }
    return req
}

/// Truncates, overwrites a few bytes or inserts one (`bytes` not empty).
func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix) {
    switch Int.random(in: 0...2, using: &rng) {
    case 0: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
    case 1:
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0..<bytes.count, using: &rng))
    }
}

@Suite struct CodecTests {
    @Test func roundTripThroughBothDecoders() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<300 {
            let req = randomRequest(&rng)
            let bytes = WireEncoder.encode(req)
            #expect(try WireDecoder.decode(bytes) == req)
            #expect(try ProtobufCDecoder.decode(bytes) == req)
        }
    }

    @Test func snappyRoundTrip() throws {
        var rng = SplitMix(seed: 7)
        let req = randomRequest(&rng)
        let body = WireEncoder.encodeCompressed(req)
        #expect(try WireDecoder.decode(Snappy.decompress(body)) == req)
    }

    /// `compress` writes into an uninitialized buffer and keeps what snappy reports: every length,
    /// from empty to several 64 KiB fragments, compressible or not, must come back byte for byte.
    @Test func snappyCompressKeepsExactlyTheCompressedBytes() throws {
        var rng = SplitMix(seed: 11)
        for n in [0, 1, 17, 4_095, 65_536, 65_537, 300_001] {
            let random = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let repetitive = (0..<n).map { UInt8(truncatingIfNeeded: $0 % 97) }
            for input in [random, repetitive] {
                let c = Snappy.compress(input)
                #expect(c.count <= 32 + n + n / 6)
                #expect(try Snappy.decompress(c) == input)
            }
        }
    }

    /// The series-only path through the kept scratch buffer gives the same bytes as encoding into
    /// an array and compressing it: one after another (the buffer reused, grown), from many tasks
    /// at once (the buffer taken, so some calls use their own), and above the size that is kept.
    @Test func compressedSeriesThroughTheScratchBuffer() async throws {
        var rng = SplitMix(seed: 5)
        var reqs = (0..<40).map { _ in WriteRequest(timeseries: randomRequest(&rng).timeseries) }
        let big = (0..<12_000).map { i in
            TimeSeries(labels: [Label("__name__", "big_metric_with_a_long_name"), Label("i", "\(i)"), Label("pad", String(repeating: "x", count: 64))],
                       samples: [Sample(t: Int64(i), v: Double(i))])
        }
        reqs.append(WriteRequest(timeseries: big))   // > EncodeScratch.maxKept of protobuf
        reqs.append(WriteRequest())
        for r in reqs {
            #expect(WireEncoder.encodeCompressed(series: r.timeseries) == Snappy.compress(WireEncoder.encode(r)))
            #expect(WireEncoder.encodeCompressed(r) == Snappy.compress(WireEncoder.encode(r)))
        }
        let all = reqs
        try await withThrowingTaskGroup(of: Bool.self) { g in
            for k in 0..<8 {
                g.addTask {
                    var same = true
                    for j in 0..<60 {
                        let r = all[(k * 7 + j) % all.count]
                        same = same && WireEncoder.encodeCompressed(series: r.timeseries) == Snappy.compress(WireEncoder.encode(r))
                    }
                    return same
                }
            }
            for try await same in g { #expect(same) }
        }
    }

    @Test func snappyHeaderLimitCheckedBeforeAllocating() throws {
        // A 6-byte body whose header claims ~4 GiB must be refused without allocating it.
        let bomb: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]
        #expect(throws: RemoteWriteError.tooLarge(decoded: 0xFFFF_FFFF, limit: 32 << 20)) {
            try Snappy.decompress(bomb)
        }
    }

    @Test func garbageSnappyIsAClearError() {
        #expect(throws: RemoteWriteError.self) { try Snappy.decompress([0x05, 0xFF, 0x01]) }
    }

    /// Differential fuzz: on mutated and truncated encodings both decoders must agree on
    /// accept/reject, and on what they decode when both accept. Neither may crash.
    @Test func decodersAgreeOnMutatedInput() throws {
        var rng = SplitMix(seed: 99)
        var disagreements = 0, mismatches = 0
        for _ in 0..<2000 {
            var bytes = WireEncoder.encode(randomRequest(&rng))
            if bytes.isEmpty { continue }
            mutate(&bytes, &rng)
            let a = try? WireDecoder.decode(bytes)
            let b = try? ProtobufCDecoder.decode(bytes)
            if let a, let b {
                // protobuf-c hands strings over NUL-terminated, so an embedded 0 byte cuts
                // them short there; such inputs cannot be compared.
                let hasNUL = a.timeseries.contains { $0.labels.contains { $0.name.utf8.contains(0) || $0.value.utf8.contains(0) } }
                if !hasNUL && a != b { mismatches += 1 }
            } else if (a == nil) != (b == nil) {
                // The one place we are stricter: protobuf-c silently truncates a varint longer
                // than 64 bits, we refuse it (as Go's protobuf does).
                let overlong = a == nil && { do { _ = try WireDecoder.decode(bytes); return false } catch { return "\(error)".contains("varint overflows") } }()
                if !overlong { disagreements += 1 }
            }
        }
        #expect(mismatches == 0, "both decoders accepted but decoded differently \(mismatches) times")
        #expect(disagreements == 0, "decoders disagreed on accept/reject for \(disagreements) of 2000 inputs")
    }

    /// A known field with the wrong wire type is an encoding error (protobuf-c agrees), not an
    /// unknown field to skip: skipping stored a sample with value 0 for bytes meaning otherwise.
    @Test func knownFieldWithWrongWireTypeIsRejected() {
        let sample: [UInt8] = [0x08, 0x2A, 0x10, 0x01]  // value (field 1) sent as varint 42
        let labels: [UInt8] = [0x0A, 0x08] + Array("__name__".utf8) + [0x12, 0x02] + Array("up".utf8)
        let series: [UInt8] = [0x0A, UInt8(labels.count)] + labels + [0x12, UInt8(sample.count)] + sample
        let body: [UInt8] = [0x0A, UInt8(series.count)] + series
        #expect(throws: RemoteWriteError.self) { try WireDecoder.decode(body) }
        #expect(throws: (any Error).self) { try ProtobufCDecoder.decode(body) }
        #expect {
            try WireDecoder.decode(body)
        } throws: { "\($0)".contains("wire type 0, expected 1") && "\($0)".contains("Sample") }
    }

    @Test func truncatedMessageNamesTheField() {
        let req = WriteRequest(timeseries: [TimeSeries(labels: [Label("__name__", "up")], samples: [Sample(t: 1, v: 1)])])
        var bytes = WireEncoder.encode(req)
        bytes.removeLast(3)
        #expect {
            try WireDecoder.decode(bytes)
        } throws: { error in
            "\(error)".contains("past the end") || "\(error)".contains("truncated")
        }
    }

    @Test func outcomeClassification() {
        #expect(RemoteWriteProtocol.outcome(status: 204) == .delivered)
        #expect(RemoteWriteProtocol.outcome(status: 429) == .retry)
        #expect(RemoteWriteProtocol.outcome(status: 503) == .retry)
        #expect(RemoteWriteProtocol.outcome(status: 400) == .rejected)
        #expect(RemoteWriteProtocol.outcome(status: 413) == .rejected)
    }
}

/// The decoder's own UTF-8 check must agree exactly with `String(validating:)`.
@Suite struct LabelUTF8Tests {
    /// One series with one label whose value is `value` (lengths < 128, single-byte varints).
    private func request(value: [UInt8]) -> [UInt8] {
        let name = Array("k".utf8)
        let label = [0x0A, UInt8(name.count)] + name + [0x12, UInt8(value.count)] + value
        let series = [0x0A, UInt8(label.count)] + label
        return [0x0A, UInt8(series.count)] + series
    }

    @Test func agreesWithStandardValidation() throws {
        var fixed: [[UInt8]] = [
            [], Array("plain".utf8), Array("é ü 日本 🚀".utf8), Array("\u{FFFD}".utf8),
            [0xC3], [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF0, 0x9F, 0x9A], [0x61, 0xFF, 0x62], Array("abcdefghijklmnopqrstuvwxyz".utf8) + [0xC3, 0x28],
        ]
        var rng = SplitMix(seed: 7)
        let alphabet: [UInt8] = [0x61, 0x7A, 0x00, 0x7F, 0x80, 0xBF, 0xC2, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x9F, 0x90]
        for _ in 0..<3000 {
            fixed.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        for v in fixed {
            let ts = try #require(try WireDecoder.decode(request(value: v)).timeseries.first)
            if let want = String(validating: v, as: UTF8.self) {
                #expect(ts.problem == nil, "valid UTF-8 \(v) was rejected")
                #expect(ts.labels == [Label("k", want)])
            } else {
                #expect(ts.problem != nil, "invalid UTF-8 \(v) was accepted")
                #expect(ts.labels.isEmpty)
            }
        }
    }
}
