import DurableIO
import Glibc
import RemoteWrite
import Storage

/// What one scrape attempt produced before processing.
public enum ScrapeOutcome: Sendable {
    case body([UInt8], contentType: String?)
    case failed(String)
}

public struct ScrapeReport: Sendable, Equatable {
    public var up: Bool
    public var error: String?
    public var durationSeconds: Double
    public var samplesScraped: Int
    public var samplesPostRelabel: Int
    public var seriesAdded: Int
}

/// Turns scrape bodies into series with Prometheus' scrape-loop semantics: target labels
/// merged (honor_labels, `exported_` on conflict), metric relabeling, external labels,
/// report series, and staleness markers for series that disappear. Synchronous and free of
/// I/O so the semantics are testable without clocks or sockets.
public struct ScrapeProcessor: Sendable {
    public let target: ScrapeTarget
    let honorLabels: Bool
    let honorTimestamps: Bool
    let metricRules: [RelabelRule]
    let externalLabels: Labels
    let sampleLimit: Int
    let labelLimit: Int
    let labelNameLengthLimit: Int
    let labelValueLengthLimit: Int
    let bodySizeLimit: Int64
    let targetLabels: Labels

    /// Raw `name{labels}` bytes → series ref (-1: dropped by relabeling). Keyed by hash with
    /// the bytes kept to rule out collisions, so a known series costs no allocation.
    private var cache = SeriesCache()
    /// Each ref's final labels, encoded for remote write with the target's own and the external
    /// labels as references to `shared` (`SharedLabels`), → the ref; entry k is ref k. A scrape's
    /// batch shares this arena, so a sample costs no label encoding and the processor holds no
    /// label strings per series. Refs 0 ..< 5 are the report series.
    private var labelStore = SeriesCache()
    /// The labels most series of this target carry, as the label store refers to them.
    private let shared: SharedLabels
    /// Per ref: the iteration it was last written without an explicit timestamp (staleness) or
    /// at all (duplicates, series_added), and its labels' length on the wire.
    private var refTracked: [Int] = []
    private var refSeen: [Int] = []
    private var refSize: [UInt32] = []
    private var iteration = 0
    /// Refs written without explicit timestamps by the last scrape: staleness candidates.
    private var lastRefs: [Int] = []
    private var lastReportTime: Int64 = 0
    private var scrapedOnce = false
    private var hashScratch: UInt64 = 0
    /// The disk queue's stream key of this target's batches.
    private let key: UInt32
    /// TYPE/HELP/UNIT of the last successful parse, for the remote-write metadata the agent sends.
    public private(set) var metadata: [MetricMetadata] = []

    public init(target: ScrapeTarget, config: ScrapeConfig, metricRules: [RelabelRule], externalLabels: Labels) {
        self.target = target
        self.honorLabels = config.honorLabels
        self.honorTimestamps = config.honorTimestamps
        self.metricRules = metricRules
        self.externalLabels = externalLabels
        self.sampleLimit = config.sampleLimit
        self.labelLimit = config.labelLimit
        self.labelNameLengthLimit = config.labelNameLengthLimit
        self.labelValueLengthLimit = config.labelValueLengthLimit
        self.bodySizeLimit = config.bodySizeLimit
        self.targetLabels = target.seriesLabels
        key = DiskQueue.streamKey(targetLabels.pairs)
        shared = SharedLabels(ScrapeProcessor.adding(externalLabels, to: target.seriesLabels))
        for (k, name) in ScrapeProcessor.reportNames.enumerated() {
            // Distinct labels into an empty store: they get refs 0 ..< 5 unless the labels alone
            // exceeded 4 GiB, which no target's labels can.
            let r = try? ref(for: reportLabels(name))
            precondition(r == k, "report series \(name) got ref \(String(describing: r))")
        }
    }

    /// Processes one scrape that started at `start` (ms) and took `duration` seconds.
    public mutating func process(_ outcome: ScrapeOutcome, start: Int64, duration: Double) -> (series: EncodedBatch, report: ScrapeReport) {
        iteration += 1
        var out: [EncodedBatch.Entry] = []
        var report = ScrapeReport(up: true, error: nil, durationSeconds: duration, samplesScraped: 0, samplesPostRelabel: 0, seriesAdded: 0)
        var currentRefs: [Int] = []
        switch outcome {
        case .failed(let e):
            report.up = false
            report.error = e
        case .body(let bytes, let contentType):
            var added = 0
            // Prometheus counts a duplicate as kept after relabeling (and against the
            // sample limit) even though only the first sample is stored.
            var kept = 0
            do {
                if bodySizeLimit > 0 && Int64(bytes.count) > bodySizeLimit {
                    throw ScrapeProcessingError(message: "body size limit exceeded: \(bytes.count) bytes, limit \(bodySizeLimit)")
                }
                let (parsed, parseError) = ExpositionParser.parsePartial(bytes, format: Exposition.format(contentType: contentType))
                report.samplesScraped = parsed.samples.count
                metadata = parsed.metadata
                out.reserveCapacity(parsed.samples.count + 5)
                currentRefs.reserveCapacity(lastRefs.count)
                let readable = parseError?.rejectsLastSample == true ? parsed.samples.dropLast() : parsed.samples[...]
                // Two passes: the refs first (a new series appends to the per-ref arrays, and a
                // relabeling or limit error stops there), then the writes through buffer pointers,
                // without a uniqueness check per array and sample (2 % of the edge agent's CPU).
                // After an error the samples before it are written as in one pass, for the counts.
                var refs: [Int] = []
                refs.reserveCapacity(readable.count)
                var refError: (any Error)?
                do {
                    for s in readable { refs.append(try seriesRef(parsed, s)) }
                } catch {
                    refError = error
                }
                writeSamples(refs, readable, start: start, into: &out, currentRefs: &currentRefs, kept: &kept, added: &added)
                report.samplesPostRelabel = kept
                report.seriesAdded = added
                if let refError { throw refError }
                if let e = parseError { throw e }
                if sampleLimit > 0 && kept > sampleLimit {
                    throw ScrapeProcessingError(message: "sample limit exceeded: \(kept) samples after relabeling, limit \(sampleLimit)")
                }
            } catch {
                // As Prometheus, the counts of what was read before the failure are reported;
                // the samples themselves are discarded.
                report.up = false
                report.error = "\(error)"
                report.samplesPostRelabel = kept
                report.seriesAdded = added
                out.removeAll()
                // Nothing of this scrape counts as written.
                for r in currentRefs { refTracked[r] = -1; refSeen[r] = -1 }
                currentRefs.removeAll()
            }
        }
        // Series present last time and absent now end with a stale marker; a failed scrape
        // ends all of them, as Prometheus' empty append after a failure does.
        for r in lastRefs where refTracked[r] != iteration {
            out.append(entry(r, Sample(t: start, v: StaleNaN.value)))
        }
        lastRefs = currentRefs
        let values: [Double] = [report.up ? 1 : 0, report.durationSeconds, Double(report.samplesScraped), Double(report.samplesPostRelabel), Double(report.seriesAdded)]
        for (r, v) in values.enumerated() { out.append(entry(r, Sample(t: start, v: v))) }
        lastReportTime = start
        scrapedOnce = true
        // Before compaction: the batch shares the arena it points into.
        let batch = EncodedBatch(labels: labelStore.arena, shared: shared, entries: out, key: key)
        if iteration % 16 == 0 { compact() }
        return (batch, report)
    }

    private func entry(_ ref: Int, _ sample: Sample) -> EncodedBatch.Entry {
        let e = labelStore[ref]
        return EncodedBatch.Entry(offset: e.offset, length: e.length, size: refSize[ref], sample: sample)
    }

    /// The second pass of `process`: `refs[k]` is the ref of `samples[samples.startIndex + k]`.
    private mutating func writeSamples(_ refs: [Int], _ samples: ArraySlice<ExpositionSample>, start: Int64,
                                       into out: inout [EncodedBatch.Entry], currentRefs: inout [Int], kept: inout Int, added: inout Int) {
        let iteration = iteration, prevIteration = iteration - 1, honorTimestamps = honorTimestamps
        // Moved out so that they are uniquely referenced locals while their buffers are written.
        var seen = refSeen, tracked = refTracked
        refSeen = []; refTracked = []
        defer { refSeen = seen; refTracked = tracked }
        let sizes = refSize
        labelStore.entries.withUnsafeBufferPointer { spans in
            seen.withUnsafeMutableBufferPointer { seen in
                tracked.withUnsafeMutableBufferPointer { tracked in
                    var k = samples.startIndex
                    for ref in refs {
                        let s = samples[k]
                        k += 1
                        if ref < 0 { continue }
                        kept += 1
                        let seenBefore = seen[ref]
                        if seenBefore == iteration { continue }  // duplicate series: first wins, as Prometheus
                        if seenBefore != prevIteration { added += 1 }
                        seen[ref] = iteration
                        let t = (honorTimestamps ? s.timestamp : nil) ?? start
                        out.append(EncodedBatch.Entry(offset: spans[ref].offset, length: spans[ref].length, size: sizes[ref], sample: Sample(t: t, v: s.value)))
                        if s.timestamp == nil || !honorTimestamps {
                            tracked[ref] = iteration
                            currentRefs.append(ref)
                        }
                    }
                }
            }
        }
    }

    /// Forgets series not seen for a while so churn (e.g. pod labels) does not grow memory.
    private mutating func compact() {
        let horizon = iteration - 8
        var keep = [Int](repeating: -1, count: refTracked.count)
        var tracked: [Int] = [], seen: [Int] = [], sizes: [UInt32] = []
        // Refs of the last scrape were seen at this iteration, so they are always kept; so are
        // the report series'.
        for r in refTracked.indices where r < ScrapeProcessor.reportNames.count || max(refSeen[r], refTracked[r]) >= horizon {
            keep[r] = tracked.count
            tracked.append(refTracked[r]); seen.append(refSeen[r]); sizes.append(refSize[r])
        }
        func renumbered(_ e: SeriesCache.Entry) -> SeriesCache.Entry? {
            let n = keep[e.ref]
            if n < 0 { return nil }
            var moved = e
            moved.ref = n
            return moved
        }
        cache.compact { e in e.ref < 0 ? (e.age(at: iteration) <= 8 ? e : nil) : renumbered(e) }
        // Kept in order, so entry k is still ref k.
        labelStore.compact(renumbered)
        refTracked = tracked; refSeen = seen; refSize = sizes
        lastRefs = lastRefs.map { keep[$0] }
    }

    public mutating func inheritStaleness(from old: ScrapeProcessor) {
        for r in old.lastRefs {
            // The old processor's shared labels may differ (a reload changed them): its labels
            // are decoded and stored anew.
            guard let labels = old.staleMarkers(refs: [r], at: 0).timeSeries.first?.labels,
                  let ref = try? ref(for: Labels(labels)) else { continue }
            refTracked[ref] = iteration
            refSeen[ref] = iteration
            lastRefs.append(ref)
        }
        lastReportTime = old.lastReportTime
        scrapedOnce = old.scrapedOnce
    }

    /// Runs for series the raw cache does not know, so the array per call costs little; a
    /// scratch kept per target would keep the size of the longest labels a target ever sent.
    private mutating func ref(for labels: Labels) throws -> Int {
        var bytes: [UInt8] = []
        let size = shared.append(labels.pairs, to: &bytes)
        return try bytes.withUnsafeBytes { raw in
            let h = ScrapeProcessor.rawSeriesHash(raw)
            if let k = labelStore.find(raw, hash: h) { return labelStore[k].ref }
            let r = refTracked.count
            guard let wire = UInt32(exactly: size), labelStore.insert(hash: h, raw: raw, ref: r, lastUsed: 0) else {
                throw ScrapeProcessingError(message: "too many series: this target's labels exceed 4 GiB or 2^31 series")
            }
            refTracked.append(-1)
            refSeen.append(-1)
            refSize.append(wire)
            return r
        }
    }

    public var hasWritten: Bool { scrapedOnce }

    /// Stale markers for everything this target wrote, for when the target goes away.
    public func staleMarkers(at t: Int64) -> EncodedBatch {
        guard scrapedOnce else { return EncodedBatch(labels: [], entries: [], key: key) }
        return staleMarkers(refs: lastRefs + Array(ScrapeProcessor.reportNames.indices), at: max(t, lastReportTime + 1))
    }

    private func staleMarkers(refs: [Int], at t: Int64) -> EncodedBatch {
        let stale = Sample(t: t, v: StaleNaN.value)
        return EncodedBatch(labels: labelStore.arena, shared: shared, entries: refs.map { entry($0, stale) }, key: key)
    }

    static let reportNames = ["up", "scrape_duration_seconds", "scrape_samples_scraped",
                              "scrape_samples_post_metric_relabeling", "scrape_series_added"]

    func reportLabels(_ name: String) -> Labels {
        var lb = LabelBuilder(targetLabels)
        lb.set(Labels.metricName, name)
        return withExternalLabels(lb.labels)
    }

    func withExternalLabels(_ l: Labels) -> Labels { Self.adding(externalLabels, to: l) }

    /// `l` with the labels of `external` it does not have.
    static func adding(_ external: Labels, to l: Labels) -> Labels {
        if external.isEmpty { return l }
        var pairs = l.pairs
        var added = false
        for e in external where l[e.name] == nil { pairs.append(e); added = true }
        return added ? Labels(pairs) : l
    }

    private mutating func seriesRef(_ parsed: ParsedExposition, _ s: ExpositionSample) throws -> Int {
        let found: Int? = parsed.bytes.withUnsafeBufferPointer { buf in
            let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[s.series]))
            let h = ScrapeProcessor.rawSeriesHash(raw)
            hashScratch = h
            guard let k = cache.find(raw, hash: h) else { return nil }
            let ref = cache[k].ref
            if ref < 0 { cache[k].lastUsed = iteration }
            return ref
        }
        if let r = found { return r }
        let h = hashScratch
        let labels = try mutate(Labels(parsed.labels(of: s)))
        let r = try labels.map { try ref(for: $0) } ?? -1
        _ = parsed.bytes.withUnsafeBytes { cache.insert(hash: h, raw: UnsafeRawBufferPointer(rebasing: $0[s.series]), ref: r, lastUsed: iteration) }
        return r
    }

    /// Hash of a series' raw `name{labels}` bytes for the cache above, eight bytes at a time (the
    /// byte-wise FNV-1a it replaces was the largest single item of the edge's scrape profile).
    /// Only this process's cache uses it, and entries still compare the bytes, so it may change.
    static func rawSeriesHash(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: raw.count)
        var i = 0
        while i + 8 <= raw.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < raw.count {
            tail |= UInt64(raw[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }

    /// Prometheus' mutateSampleLabels plus metric relabeling and external labels.
    func mutate(_ exposed: Labels) throws -> Labels? {
        var lb = LabelBuilder(exposed)
        if honorLabels {
            for l in targetLabels where exposed[l.name] == nil { lb.set(l.name, l.value) }
        } else {
            var conflicts: [Label] = []
            for l in targetLabels {
                if let v = exposed[l.name] { conflicts.append(Label(l.name, v)) }
                lb.set(l.name, l.value)
            }
            if !conflicts.isEmpty {
                // Shortest names first, each prefixed with exported_ until the name is free.
                let sorted = conflicts.enumerated().sorted { ($0.element.name.utf8.count, $0.offset) < ($1.element.name.utf8.count, $1.offset) }.map(\.element)
                var renamed: [Label] = []
                for c in sorted {
                    var name = c.name
                    repeat { name = "exported_" + name } while exposed[name] != nil || targetLabels[name] != nil || renamed.contains { $0.name == name }
                    renamed.append(Label(name, c.value))
                }
                for r in renamed { lb.set(r.name, r.value) }
            }
        }
        if !metricRules.isEmpty && !Relabel.process(&lb, metricRules) { return nil }
        let result = lb.labels
        if result.isEmpty { return nil }
        try checkLabelLimits(result)
        guard result.metricName != nil else {
            throw ScrapeProcessingError(message: "__name__ label is missing after relabeling for series \(result)")
        }
        return withExternalLabels(result)
    }
}

extension ScrapeProcessor {
    /// Prometheus' verifyLabelLimits, on the labels after relabeling (before external labels).
    func checkLabelLimits(_ l: Labels) throws {
        let name = l.metricName ?? ""
        if labelLimit > 0 && l.count > labelLimit {
            throw ScrapeProcessingError(message: "label_limit exceeded (metric: \(name), number of labels: \(l.count), limit: \(labelLimit))")
        }
        for p in l {
            if labelNameLengthLimit > 0 && p.name.utf8.count > labelNameLengthLimit {
                throw ScrapeProcessingError(message: "label_name_length_limit exceeded (metric: \(name), label name: \(p.name), length: \(p.name.utf8.count), limit: \(labelNameLengthLimit))")
            }
            if labelValueLengthLimit > 0 && p.value.utf8.count > labelValueLengthLimit {
                throw ScrapeProcessingError(message: "label_value_length_limit exceeded (metric: \(name), label name: \(p.name), value: \"\(p.value)\", length: \(p.value.utf8.count), limit: \(labelValueLengthLimit))")
            }
        }
    }
}

public struct ScrapeProcessingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
