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
    let targetLabels: Labels

    /// Raw `name{labels}` bytes → final labels (nil: dropped by relabeling). Keyed by hash
    /// with the bytes kept to rule out collisions, so a known series costs no allocation.
    private var cache: [UInt64: [CacheEntry]] = [:]
    private var iteration = 0
    /// Series written without explicit timestamps by the last scrape: staleness candidates.
    private var lastSeries: Set<Labels> = []
    private var knownSeries: Set<Labels> = []
    private var lastReportTime: Int64 = 0
    private var scrapedOnce = false

    struct CacheEntry: Sendable {
        var raw: [UInt8]
        var labels: Labels?
        var lastSeen: Int
    }

    public init(target: ScrapeTarget, config: ScrapeConfig, metricRules: [RelabelRule], externalLabels: Labels) {
        self.target = target
        self.honorLabels = config.honorLabels
        self.honorTimestamps = config.honorTimestamps
        self.metricRules = metricRules
        self.externalLabels = externalLabels
        self.sampleLimit = config.sampleLimit
        self.targetLabels = target.seriesLabels
    }

    /// Processes one scrape that started at `start` (ms) and took `duration` seconds.
    public mutating func process(_ outcome: ScrapeOutcome, start: Int64, duration: Double) -> (series: [TimeSeries], report: ScrapeReport) {
        iteration += 1
        var out: [TimeSeries] = []
        var report = ScrapeReport(up: true, error: nil, durationSeconds: duration, samplesScraped: 0, samplesPostRelabel: 0, seriesAdded: 0)
        var current: Set<Labels> = []
        switch outcome {
        case .failed(let e):
            report.up = false
            report.error = e
        case .body(let bytes, let contentType):
            do {
                let parsed = try ExpositionParser.parse(bytes, format: Exposition.format(contentType: contentType))
                report.samplesScraped = parsed.samples.count
                out.reserveCapacity(parsed.samples.count + 5)
                var seenThisScrape: Set<Labels> = []
                for s in parsed.samples {
                    guard let labels = try finalLabels(parsed, s) else { continue }
                    guard seenThisScrape.insert(labels).inserted else { continue }  // duplicate: first wins, as Prometheus
                    let t = (honorTimestamps ? s.timestamp : nil) ?? start
                    out.append(TimeSeries(labels: labels.pairs, samples: [Sample(t: t, v: s.value)]))
                    if s.timestamp == nil || !honorTimestamps { current.insert(labels) }
                    if !knownSeries.contains(labels) { report.seriesAdded += 1 }
                }
                report.samplesPostRelabel = out.count
                if sampleLimit > 0 && out.count > sampleLimit {
                    throw ScrapeProcessingError(message: "sample limit exceeded: \(out.count) samples after relabeling, limit \(sampleLimit)")
                }
                knownSeries = seenThisScrape
            } catch {
                report.up = false
                report.error = "\(error)"
                report.seriesAdded = 0
                report.samplesPostRelabel = 0
                out.removeAll()
                current.removeAll()
            }
        }
        if !report.up { knownSeries.removeAll() }
        // Series present last time and absent now end with a stale marker; a failed scrape
        // ends all of them, as Prometheus' empty append after a failure does.
        for l in lastSeries where !current.contains(l) {
            out.append(TimeSeries(labels: l.pairs, samples: [Sample(t: start, v: StaleNaN.value)]))
        }
        lastSeries = current
        out.append(contentsOf: reportSeries(report, at: start))
        lastReportTime = start
        scrapedOnce = true
        if iteration % 8 == 0 { cache = cache.filter { !$0.value.allSatisfy { $0.lastSeen < iteration - 8 } } }
        return (out, report)
    }

    public mutating func inheritStaleness(from old: ScrapeProcessor) {
        lastSeries = old.lastSeries
        knownSeries = old.knownSeries
        lastReportTime = old.lastReportTime
        scrapedOnce = old.scrapedOnce
    }

    /// Stale markers for everything this target wrote, for when the target goes away.
    public func staleMarkers(at t: Int64) -> [TimeSeries] {
        guard scrapedOnce else { return [] }
        let ts = max(t, lastReportTime + 1)
        var out = lastSeries.map { TimeSeries(labels: $0.pairs, samples: [Sample(t: ts, v: StaleNaN.value)]) }
        for name in ScrapeProcessor.reportNames {
            out.append(TimeSeries(labels: reportLabels(name).pairs, samples: [Sample(t: ts, v: StaleNaN.value)]))
        }
        return out
    }

    static let reportNames = ["up", "scrape_duration_seconds", "scrape_samples_scraped",
                              "scrape_samples_post_metric_relabeling", "scrape_series_added"]

    func reportLabels(_ name: String) -> Labels {
        var lb = LabelBuilder(targetLabels)
        lb.set(Labels.metricName, name)
        return withExternalLabels(lb.labels)
    }

    func reportSeries(_ r: ScrapeReport, at t: Int64) -> [TimeSeries] {
        let values: [Double] = [r.up ? 1 : 0, r.durationSeconds, Double(r.samplesScraped), Double(r.samplesPostRelabel), Double(r.seriesAdded)]
        return zip(ScrapeProcessor.reportNames, values).map { name, v in
            TimeSeries(labels: reportLabels(name).pairs, samples: [Sample(t: t, v: v)])
        }
    }

    func withExternalLabels(_ l: Labels) -> Labels {
        if externalLabels.isEmpty { return l }
        var pairs = l.pairs
        var added = false
        for e in externalLabels where l[e.name] == nil { pairs.append(e); added = true }
        return added ? Labels(pairs) : l
    }

    private mutating func finalLabels(_ parsed: ParsedExposition, _ s: ExpositionSample) throws -> Labels? {
        var h = FNV1a()
        let raw = parsed.bytes[s.series]
        h.add(bytes: raw)
        if let entries = cache[h.value], let k = entries.firstIndex(where: { $0.raw.elementsEqual(raw) }) {
            cache[h.value]![k].lastSeen = iteration
            return entries[k].labels
        }
        let exposed = parsed.labels(of: s)
        let labels = try mutate(Labels(exposed))
        cache[h.value, default: []].append(CacheEntry(raw: Array(raw), labels: labels, lastSeen: iteration))
        return labels
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
        guard result.metricName != nil else {
            throw ScrapeProcessingError(message: "__name__ label is missing after relabeling for series \(result)")
        }
        return withExternalLabels(result)
    }
}

public struct ScrapeProcessingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
