import Storage
import Testing
import TestSupport
@testable import TSDB

/// The compressed WAL records (types 3 and 4): every sample round-trips bit for bit whatever
/// its value and time, and damaged records are corruption errors naming file and record offset.
@Suite struct WALSamplesTests {
    typealias Rec = (ref: UInt64, t: Int64, v: Double)

    static func values(_ rng: inout SplitMix) -> [Double] {
        let special: [Double] = [0, -0.0, .nan, -.nan, StaleNaN.value, Double(bitPattern: 0x7ff8_0000_0000_1234),
                                 .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 9.0e15, -9.1e15, 1e300]
        var x = Double(rng.int(1_000_000))
        let kind = rng.int(7)
        return (0..<(1 + rng.int(50))).map { _ in
            switch kind {
            case 0: x += Double(rng.int(1000)); return x                                   // integer counter
            case 1: x += Double(rng.int(1000)); return x / 100                             // division decimal
            case 2: x += Double(rng.int(1000)); return (x * 0.000001)                      // multiplied decimal
            case 3: return Double(rng.int(50)) * 4096                                        // quantised gauge
            case 4: return rng.unit() * 1e6                                                 // arbitrary floats
            case 5: return special[rng.int(special.count)]
            default: return Double(bitPattern: rng.next())                                   // any bit pattern
            }
        }
    }

    static func records(_ rng: inout SplitMix) -> [Rec] {
        var out: [Rec] = []
        var t = Int64(bitPattern: rng.next()) >> Int64(rng.int(64))
        for _ in 0..<(1 + rng.int(20)) {
            let ref = rng.int(4) == 0 ? rng.next() : UInt64(rng.int(100))
            let step = Int64(rng.int(3) == 0 ? Int(truncatingIfNeeded: rng.next()) : 15_000 + rng.int(3) - 1)
            var ts = t
            for v in values(&rng) {
                out.append((ref, ts, v))
                ts = ts &+ step
            }
            if rng.int(2) == 0 { t = t &+ Int64(rng.int(2000)) - 1000 }
        }
        return out
    }

    static func encode(_ recs: [Rec]) -> [UInt8] {
        var e = WALSamples.Encoder()
        for r in recs { e.add(r.ref, r.t, r.v) }
        return e.finish()
    }

    static func decode(_ payload: [UInt8]) throws -> [Rec] {
        try payload.withUnsafeBytes { raw in
            var r = ByteReader(raw, file: "seg")
            guard case .samples(let out) = try WALRecord.decode(type: .samplesV2, &r, offset: 7) else { return [] }
            return out
        }
    }

    static func same(_ a: [Rec], _ b: [Rec]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.ref == $1.ref && $0.t == $1.t && $0.v.bitPattern == $1.v.bitPattern }
    }

    @Test func everySampleRoundTripsBitForBit() throws {
        var rng = SplitMix(seed: 15)
        var codecs: Set<UInt8> = []
        for _ in 0..<2000 {
            let recs = Self.records(&rng)
            let payload = Self.encode(recs)
            codecs.insert(payload[0])
            #expect(Self.same(try Self.decode(payload), recs))
        }
        #expect(codecs == [WALCodec.uncompressed.rawValue, WALCodec.snappy.rawValue])
    }

    @Test func scrapesOfOneTimeShrinkToAFewBytesPerSample() throws {
        // One scrape of 1000 series (refs counting up, one time, integer counters) and a
        // backlog of 40 samples per series: the shapes remote-write delivers.
        var live = WALSamples.Encoder(), backlog = WALSamples.Encoder()
        var rng = SplitMix(seed: 1)
        for ref in 0..<1000 { live.add(UInt64(ref), 1_700_000_000_000, Double(rng.int(100_000))) }
        for ref in 0..<25 {
            var v = Double(rng.int(1 << 30))
            for i in 0..<40 { v += Double(rng.int(5000)); backlog.add(UInt64(ref), 1_700_000_000_000 + Int64(i) * 15_000, v) }
        }
        #expect(live.finish().count < 1000 * 4)
        #expect(backlog.finish().count < 1000 * 3)
    }

    /// Every truncation and every single-byte change of valid payloads either decodes or throws
    /// a corruption error naming the file and the record's offset; it never traps.
    @Test func damagedPayloadsAreCorruptionNotCrashes() throws {
        var rng = SplitMix(seed: 99)
        var failures = 0
        for round in 0..<300 {
            let payload = Self.encode(Self.records(&rng))
            var variants: [[UInt8]] = [Array(payload.prefix(rng.int(payload.count)))]
            for _ in 0..<8 {
                var p = payload
                let i = rng.int(p.count)
                p[i] = round % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : p[i] ^ (1 << UInt8(rng.int(8)))
                variants.append(p)
            }
            variants.append((0..<rng.int(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            for v in variants {
                do {
                    _ = try Self.decode(v)
                } catch let TSDBError.corruption(file, offset, reason) {
                    failures += 1
                    #expect(file == "seg" && offset == 7 && !reason.isEmpty)
                }
            }
        }
        #expect(failures > 300)
    }

    /// A snappy block whose header claims more than snappy can expand to is refused before
    /// anything is allocated for it.
    @Test func impossibleSnappyLengthIsRefused() {
        let payload: [UInt8] = [WALCodec.snappy.rawValue, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]
        #expect(throws: TSDBError.self) { try Self.decode(payload) }
        #expect(throws: TSDBError.self) { try Self.decode([9, 1, 2]) }
        #expect(throws: TSDBError.self) { try Self.decode([]) }
    }

    /// Compressed series records: labels round-trip, damage is reported the same way.
    @Test func seriesRecordsRoundTripAndReportDamage() throws {
        var w = ByteWriter()
        let series: [(ref: UInt64, labels: Labels)] = (0..<50).map {
            (UInt64($0), lbls(["__name__": "node_cpu_seconds_total", "cpu": String($0 % 4), "mode": "idle", "instance": "10.0.0.\($0):9100"]))
        }
        WALRecord.encodeSeries(series, into: &w)
        var framed: [UInt8] = []
        WALRecord.frameSeries(w, into: &framed)
        #expect(framed[0] == WALRecordType.seriesV2.rawValue && framed[9] == WALCodec.snappy.rawValue)
        #expect(framed.count < w.count / 2)
        var got: [(ref: UInt64, labels: Labels)] = []
        let (damaged, _) = WALRecord.scan(framed, file: "seg") { if case .series(let s) = $0 { got += s } }
        #expect(damaged == nil)
        #expect(got.map(\.ref) == series.map(\.ref) && got.map(\.labels) == series.map(\.labels))

        var rng = SplitMix(seed: 3)
        let payload = Array(framed[9...])
        for _ in 0..<500 {
            var p = payload
            p[rng.int(p.count)] = UInt8(truncatingIfNeeded: rng.next())
            if rng.int(3) == 0 { p.removeLast(rng.int(p.count)) }
            do {
                _ = try p.withUnsafeBytes { raw in
                    var r = ByteReader(raw, file: "seg")
                    return try WALRecord.decode(type: .seriesV2, &r, offset: 40)
                }
            } catch let TSDBError.corruption(file, offset, _) {
                #expect(file == "seg" && offset == 40)
            }
        }
    }

    /// Through the scanner: a damaged compressed record that still passes its CRC ends the scan
    /// at that record's offset with the decoder's reason.
    @Test func scanStopsAtADamagedCompressedRecord() {
        var seg: [UInt8] = []
        let good = Self.encode([(1, 1000, 1), (1, 2000, 2)])
        WALRecord.frame(type: .samplesV2, payload: good, into: &seg)
        let offset = seg.count
        WALRecord.frame(type: .samplesV2, payload: [WALCodec.uncompressed.rawValue, 5, 1, 1, 0], into: &seg)
        var n = 0
        let (damaged, reason) = WALRecord.scan(seg, file: "seg") { _ in n += 1 }
        #expect(n == 1)
        #expect(damaged == offset)
        #expect(reason?.contains("seg") == true)
    }
}
