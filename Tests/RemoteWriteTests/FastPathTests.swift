import Storage
import Testing
import TestSupport

@testable import RemoteWrite

/// The ingest fast path: `RawWriteRequest` must decode (and refuse) exactly as `WireDecoder`,
/// and `SeriesValidator.plainLabels` may only take series for which `validate` gives `.success`
/// with exactly the label set it produces.
@Suite struct FastPathTests {
    @Test func rawDecoderAgreesWithWireDecoder() throws {
        var rng = SplitMix(seed: 2026)
        var compared = 0, refused = 0
        for k in 0..<3000 {
            var bytes = WireEncoder.encode(randomRequest(&rng))
            if k % 3 != 0 && !bytes.isEmpty { mutate(&bytes, &rng) }
            let old = Result { () throws(RemoteWriteError) in try WireDecoder.decode(bytes) }
            let new = Result { () throws(RemoteWriteError) in try RawWriteRequest.decode(bytes) }
            switch (old, new) {
            case (.success(let a), .success(let b)):
                #expect(a == b.writeRequest(in: bytes))
                // The samples the fast path uses (slices of one array per request) are the
                // ones `WireDecoder` gives, series by series.
                #expect(a.timeseries.count == b.series.count)
                for (x, y) in zip(a.timeseries, b.series) {
                    #expect(x.samples.count == y.samples.count && zip(x.samples, y.samples).allSatisfy { $0.t == $1.t && $0.v.bitPattern == $1.v.bitPattern })
                }
                compared += 1
            case (.failure(let a), .failure(let b)):
                #expect("\(a)" == "\(b)")
                refused += 1
            default:
                Issue.record("decoders disagree on input \(k): \(old) vs \(new)")
            }
        }
        #expect(compared > 500 && refused > 500)
    }

    // MARK: plainLabels vs validate

    /// A label as raw fields: name and value bytes, or a label submessage with something more.
    enum WireLabel {
        case pair([UInt8], [UInt8])
        case nameOnly([UInt8])
        case withUnknownField([UInt8], [UInt8])
        case valueFirst([UInt8], [UInt8])
    }

    static func field(_ n: UInt8, _ b: [UInt8]) -> [UInt8] { [n << 3 | 2] + varint(b.count) + b }
    static func varint(_ v: Int) -> [UInt8] {
        var v = UInt64(v), out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }

    static func encode(_ series: [[WireLabel]]) -> [UInt8] {
        var req: [UInt8] = []
        for labels in series {
            var ts: [UInt8] = []
            for l in labels {
                let body: [UInt8]
                switch l {
                case .pair(let n, let v): body = field(1, n) + field(2, v)
                case .nameOnly(let n): body = field(1, n)
                case .withUnknownField(let n, let v): body = field(1, n) + field(2, v) + field(7, [1, 2])
                case .valueFirst(let n, let v): body = field(2, v) + field(1, n)
                }
                ts += field(1, body)
            }
            ts += field(2, [0x09] + [UInt8](repeating: 0, count: 8) + [0x10, 0x05])  // one sample
            req += field(1, ts)
        }
        return req
    }

    /// Adversarial label sets: mostly valid and sorted (the fast path), with every way of not
    /// being plain mixed in.
    static func randomSeries(_ rng: inout SplitMix) -> [WireLabel] {
        let names = ["__name__", "cluster", "exported_cluster", "instance", "job", "region", "zone", "a", "Z_9", "1bad", "bad-name", "", "verylongname"]
        let metrics = ["up", "node_cpu_seconds_total", "a:b", "9bad", "bad-metric", ""]
        let values: [[UInt8]] = [Array("x".utf8), Array("node-1".utf8), [], Array("é".utf8), [0xC3], [0xFF, 0x41],
                                 Array("a-rather-long-value-beyond-16-bytes".utf8), Array("eu".utf8)]
        var out: [WireLabel] = []
        if Int.random(in: 0..<10, using: &rng) > 0 {
            out.append(.pair(Array("__name__".utf8), Array(metrics[Int.random(in: 0..<(Bool.random(using: &rng) ? 2 : metrics.count), using: &rng)].utf8)))
        }
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            let n = Array(names[Int.random(in: 0..<(Int.random(in: 0..<4, using: &rng) > 0 ? 8 : names.count), using: &rng)].utf8)
            let v = Int.random(in: 0..<4, using: &rng) > 0 ? values[Int.random(in: 0...2, using: &rng) == 2 ? 7 : Int.random(in: 0...1, using: &rng)] : values.randomElement(using: &rng)!
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: out.append(.nameOnly(n))
            case 1: out.append(.withUnknownField(n, v))
            case 2: out.append(.valueFirst(n, v))
            default: out.append(.pair(n, v))
            }
        }
        // Mostly sorted by name, as Prometheus sends them; sometimes not.
        func key(_ l: WireLabel) -> [UInt8] {
            switch l { case .pair(let n, _), .nameOnly(let n), .withUnknownField(let n, _), .valueFirst(let n, _): return n }
        }
        if Int.random(in: 0..<5, using: &rng) > 0 { out.sort { key($0).lexicographicallyPrecedes(key($1)) } }
        return out
    }

    static let identities: [(String?, [Label])] = [
        (nil, []), ("store-1", []), ("store-1", [Label("region", "eu"), Label("zone", "z1")]),
        ("store-1", [Label("region", "")]),  // bind removes an empty value: no fast path
        ("store-1", [Label("cluster", "other")]),  // set twice: no fast path
        ("c", [Label("bad-name", "v")]), (nil, [Label("a", "b")]),
    ]

    @Test func plainLabelsAgreesWithValidate() {
        var rng = SplitMix(seed: 15)
        var v = SeriesValidator()
        v.maxLabels = 6
        v.maxLabelNameLength = 10
        v.maxLabelValueLength = 20
        var fast = 0, slow = 0
        for _ in 0..<400 {
            let series = (0..<Int.random(in: 1...20, using: &rng)).map { _ in Self.randomSeries(&rng) }
            let body = Self.encode(series)
            for (cluster, bound) in Self.identities {
                var bytes = body
                guard let raw = try? RawWriteRequest.decode(bytes) else { Issue.record("undecodable"); continue }
                let injection = v.injection(cluster: cluster, bound: bound, into: &bytes)
                var ranges: [UInt32] = []
                for i in raw.series.indices {
                    let expected = v.validate(raw.timeSeries(i, in: bytes), cluster: cluster, bound: bound)
                    let before = ranges.count
                    guard let injection, v.plainLabels(raw, i, injection: injection, bytes: bytes, into: &ranges) else {
                        #expect(ranges.count == before, "a refused series left labels behind")
                        slow += 1
                        continue
                    }
                    fast += 1
                    let span = LabelBytes.Span(first: UInt32(before / 4), count: UInt32((ranges.count - before) / 4))
                    let got = LabelBytes(bytes: bytes, ranges: ranges).labels(span)
                    guard case .success(let want) = expected else {
                        Issue.record("fast path took a series validate rejects: \(expected) for \(got)")
                        continue
                    }
                    // Labels compare Strings (canonical equivalence); the head needs the bytes.
                    #expect(got.pairs.map { Array($0.name.utf8) + [0] + Array($0.value.utf8) }
                            == want.pairs.map { Array($0.name.utf8) + [0] + Array($0.value.utf8) })
                }
            }
        }
        #expect(fast > 1000 && slow > 1000, "fast \(fast) slow \(slow)")
    }

    /// Same label set, different wire order: only the sorted one is plain, and both end up as
    /// the same labels.
    @Test func wireOrderDecidesThePathNotTheLabels() throws {
        let v = SeriesValidator()
        let sorted = Self.encode([[.pair(Array("__name__".utf8), Array("up".utf8)), .pair(Array("job".utf8), Array("node".utf8))],
                                  [.pair(Array("job".utf8), Array("node".utf8)), .pair(Array("__name__".utf8), Array("up".utf8))]])
        var bytes = sorted
        let raw = try RawWriteRequest.decode(bytes)
        let inj = try #require(v.injection(cluster: "c1", bound: [], into: &bytes))
        var ranges: [UInt32] = []
        #expect(v.plainLabels(raw, 0, injection: inj, bytes: bytes, into: &ranges))
        #expect(!v.plainLabels(raw, 1, injection: inj, bytes: bytes, into: &ranges))
        let fast = LabelBytes(bytes: bytes, ranges: ranges).labels(.init(first: 0, count: 3))
        #expect(fast == Labels(["__name__": "up", "job": "node", "cluster": "c1"]))
        #expect(try v.validate(raw.timeSeries(1, in: bytes), cluster: "c1").get() == fast)
    }

    /// The label ranges `decode` keeps (the usual label is read without the field loop) point at
    /// exactly the name and value bytes, and `plain` is set only when every label is one name and
    /// one value field (in either order): one- and two-byte lengths, empty values, unknown fields.
    @Test func labelRangesAreTheWireBytes() throws {
        var rng = SplitMix(seed: 1515)
        let long = [UInt8](repeating: 0x61, count: 127), longer = [UInt8](repeating: 0x62, count: 128)
        var checked = 0
        for _ in 0..<300 {
            var series = (0..<Int.random(in: 1...8, using: &rng)).map { _ in Self.randomSeries(&rng) }
            for i in series.indices where Int.random(in: 0..<4, using: &rng) == 0 {
                series[i].append(.pair(Bool.random(using: &rng) ? long : longer, Bool.random(using: &rng) ? longer : []))
            }
            let bytes = Self.encode(series)
            let raw = try RawWriteRequest.decode(bytes)
            #expect(raw.series.count == series.count)
            for (s, labels) in zip(raw.series, series) {
                // One name and one value field, in either order.
                let plain = labels.allSatisfy { switch $0 { case .pair, .valueFirst: true; default: false } }
                #expect(s.plain == plain)
                #expect(Int(s.labelCount) == labels.count)
                guard plain else { continue }
                for (k, l) in labels.enumerated() {
                    let n: [UInt8], v: [UInt8]
                    switch l {
                    case .pair(let a, let b), .valueFirst(let a, let b): (n, v) = (a, b)
                    default: continue
                    }
                    let r = raw.labels[(Int(s.firstLabel) + k) * 4..<(Int(s.firstLabel) + k + 1) * 4].map(Int.init)
                    #expect(Array(bytes[r[0]..<r[0] + r[1]]) == n && Array(bytes[r[2]..<r[2] + r[3]]) == v)
                    checked += 1
                }
            }
        }
        #expect(checked > 500)
    }
}
