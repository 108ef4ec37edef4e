import DurableIO
import Logging
import RemoteWrite
import Storage
import TSDB

/// What the receiver answers. `status` follows the remote-write spec: 204 stored, 400 bad
/// input (do not retry), 413 too large, 415 wrong encoding, 429/503 retry later.
struct IngestOutcome: Sendable, Equatable {
    var status: Int
    var message: String
    var retryAfterSeconds: Int?

    static let stored = IngestOutcome(status: 204, message: "")
}

/// The remote-write receiver without HTTP: decode, validate, stamp the cluster, append
/// durably. A 2xx leaves here only after the TSDB has fsynced the samples into its WAL.
struct IngestService: Sendable {
    let tsdb: TSDB
    let metrics: CollectorMetrics
    let admission: Admission
    let validator = SeriesValidator()
    let maxDecodedBytes: Int
    /// Samples further than this ahead of `now` are refused (`ingest.max_future`).
    let maxFutureMs: Int64
    /// The collector's clock, milliseconds since the epoch (the TSDB's).
    let now: @Sendable () -> Int64
    let logger: Logger
    /// After a durable append: the batch as the TSDB got it (series found by their label bytes
    /// are spans of the `LabelBytes`, without `Labels`).
    let onAppended: @Sendable (_ identity: IngestIdentity?, _ series: [AppendSeries], _ labelBytes: LabelBytes?) -> Void
    /// A cluster sent samples from the future: how far ahead its newest one was.
    var onClockAhead: @Sendable (_ cluster: String, _ aheadMs: Int64) -> Void = { _, _ in }
    /// Where the TYPE/HELP/UNIT that requests carry are kept (nil: dropped).
    var metadata: MetadataStore? = nil
    /// `storage.remote`: validated batches go to this queue instead of the TSDB.
    var forward: ForwardQueue? = nil

    /// - Parameter identity: the sender's ingest token (cluster and bound labels, set on every
    ///   series); nil when auth is off.
    func ingest(body: [UInt8], contentEncoding: String?, contentType: String?, identity: IngestIdentity?) async -> IngestOutcome {
        let cluster = identity?.cluster
        // The spec requires the header; guessing would turn a plain protobuf body into a
        // confusing snappy error.
        guard let enc = contentEncoding?.lowercased() else {
            metrics.requestRejected("unsupported_encoding")
            return IngestOutcome(status: 415, message: "missing Content-Encoding header: remote-write 1.0 bodies must be snappy block-compressed and sent with \"Content-Encoding: snappy\"")
        }
        if enc != "snappy" {
            metrics.requestRejected("unsupported_encoding")
            return IngestOutcome(status: 415, message: "unsupported Content-Encoding \"\(enc)\": remote-write 1.0 bodies must be snappy block-compressed")
        }
        if let ct = contentType?.lowercased(), !ct.hasPrefix("application/x-protobuf") {
            metrics.requestRejected("unsupported_content_type")
            return IngestOutcome(status: 415, message: "unsupported Content-Type \"\(ct)\": expected application/x-protobuf")
        }
        let declared: Int
        do {
            declared = try body.withUnsafeBytes { raw in Result { () throws(RemoteWriteError) in try Snappy.decodedLength(raw) } }.get()
        } catch {
            metrics.requestRejected("bad_snappy")
            return IngestOutcome(status: 400, message: "\(error)")
        }
        guard declared <= maxDecodedBytes else {
            metrics.requestRejected("too_large")
            return IngestOutcome(status: 413, message: "\(RemoteWriteError.tooLarge(decoded: declared, limit: maxDecodedBytes))")
        }
        guard admission.admit(bytes: declared + body.count) else {
            metrics.requestRejected("overloaded")
            return IngestOutcome(status: 429, message: "collector is saturated (too many bytes in flight); retry later", retryAfterSeconds: 5)
        }
        defer { admission.release(bytes: declared + body.count) }
        // With a token the cluster is known before decoding, so a busy cluster costs no decode.
        var entered: [String] = []
        defer { admission.leave(clusters: entered) }
        if let cluster {
            if let busy = admission.enter(clusters: [cluster]) { return clusterBusy(busy) }
            entered = [cluster]
        }

        var bytes: [UInt8]
        let request: RawWriteRequest
        do {
            bytes = try Snappy.decompress(body, limit: maxDecodedBytes)
            request = try RawWriteRequest.decode(bytes)
        } catch {
            metrics.requestRejected(error.isSnappy ? "bad_snappy" : "bad_protobuf")
            return IngestOutcome(status: 400, message: "\(error)")
        }

        metadata?.record(request.metadata, cluster: cluster)
        // The fast path: series whose labels are plainly valid as sent reach the head as bytes
        // (`validator.plainLabels`); `String`s are built only for the series the head does not
        // have yet. Everything else, and everything for the forward queue (which stores
        // `Labels`), goes through `validate` as before.
        let injection = forward == nil ? validator.injection(cluster: cluster, bound: identity?.labels ?? [], into: &bytes) : nil
        var ranges: [UInt32] = []
        if injection != nil { ranges.reserveCapacity(request.labels.count + request.series.count * 4 * (identity.map { $0.labels.count + 1 } ?? 0)) }
        var batch: [AppendSeries] = []
        batch.reserveCapacity(request.series.count)
        var rejected: [RejectReason: (count: Int, first: String)] = [:]
        var rejectedSamples = 0
        var ignoredHistograms = 0, ignoredExemplars = 0
        let nowMs = now()
        let futureLimit = nowMs.addingReportingOverflow(maxFutureMs).overflow ? Int64.max : nowMs + maxFutureMs
        var future = FutureSamples()
        for (i, raw) in request.series.enumerated() {
            ignoredHistograms += raw.histogramCount
            ignoredExemplars += raw.exemplarCount
            if raw.samples.isEmpty { continue }
            let inFuture = raw.samples.contains(where: { $0.t > futureLimit })
            if let injection, !inFuture {
                let first = UInt32(ranges.count / 4)
                if validator.plainLabels(request, i, injection: injection, bytes: bytes, into: &ranges) {
                    batch.append(AppendSeries(span: LabelBytes.Span(first: first, count: UInt32(ranges.count / 4) - first), samples: raw.samples))
                    continue
                }
            }
            let ts = request.timeSeries(i, in: bytes)
            switch validator.validate(ts, cluster: cluster, bound: identity?.labels ?? []) {
            case .success(let labels):
                var samples = ts.samples
                if inFuture {
                    let ahead = samples.reduce(Int64.min) { max($0, $1.t) } &- nowMs
                    samples.removeAll { $0.t > futureLimit }
                    future.add(cluster: labels[SeriesValidator.clusterLabel] ?? "", series: labels,
                               samples: ts.samples.count - samples.count, aheadMs: ahead)
                    if samples.isEmpty { continue }
                }
                batch.append(AppendSeries(labels: labels, samples: samples))
            case .failure(let r):
                rejectedSamples += ts.samples.count
                if let e = rejected[r.reason] { rejected[r.reason] = (e.count + 1, e.first) } else { rejected[r.reason] = (1, r.message) }
            }
        }
        let labelBytes = ranges.isEmpty ? nil : LabelBytes(bytes: bytes, ranges: ranges)
        if ignoredHistograms > 0 { metrics.ignored("native_histogram", ignoredHistograms) }
        if ignoredExemplars > 0 { metrics.ignored("exemplar", ignoredExemplars) }
        for (reason, e) in rejected { metrics.samplesRejected(reason.rawValue, 0, series: e.count) }
        if rejectedSamples > 0 { metrics.samplesRejectedTotal(rejectedSamples) }

        for (c, f) in future.byCluster {
            metrics.futureSamplesRejected(cluster: c, f.samples)
            if !c.isEmpty { onClockAhead(c, f.aheadMs) }
        }
        if cluster == nil {
            // Series of one cluster come in runs: a series whose `cluster` bytes equal the
            // previous series' cluster adds nothing, and costs no `String` and no set insertion
            // (building and hashing one per series was ~5 % of `--no-auth` ingest CPU).
            var clusters = Set<String>()
            var last: String? = nil
            for s in batch {
                if s.labels == nil, let lb = labelBytes, let l = last,
                   lb.withValue(of: SeriesValidator.clusterLabel, in: s.span, { $0.map { LabelBytes.equal(l, $0) } ?? l.isEmpty }) {
                    continue
                }
                let c = s.labels.map { $0[SeriesValidator.clusterLabel] ?? "" } ?? labelBytes?.value(of: SeriesValidator.clusterLabel, in: s.span) ?? ""
                clusters.insert(c)
                last = c
            }
            if let busy = admission.enter(clusters: clusters) { return clusterBusy(busy) }
            entered = Array(clusters)
        }

        var report = AppendReport()
        if !batch.isEmpty {
            do {
                if let forward {
                    if let refused = try await Self.forward(batch, to: forward, nowMs: nowMs, metrics: metrics) { return refused }
                    report.accepted = batch.reduce(0) { $0 + $1.samples.count }
                } else {
                    report = try await tsdb.append(batch, labelBytes: labelBytes)
                }
            } catch {
                logger.error("storage failure while appending \(batch.count) series: \(error)")
                metrics.requestRejected("storage_error")
                return IngestOutcome(status: 503, message: "storage failure: \(error); the samples were not stored, retry", retryAfterSeconds: 5)
            }
            onAppended(identity, batch, labelBytes)
        }
        metrics.appended(report)

        var problems: [String] = rejected.sorted { $0.key.rawValue < $1.key.rawValue }.map { reason, e in
            "\(e.count) series rejected (\(reason.rawValue)), e.g. \(e.first)"
        }
        if report.tooOld > 0 {
            problems.append("\(report.tooOld) samples older than the retention period were dropped")
        }
        problems += future.problems(limitMs: maxFutureMs)
        if problems.isEmpty { return .stored }
        let total = request.series.count
        let bad = rejected.values.reduce(0) { $0 + $1.count }
        return IngestOutcome(status: 400, message: "stored \(total - bad) of \(total) series; " + problems.joined(separator: "; "))
    }

    /// Appends to the forward queue; a full queue is a 503 with Retry-After (every remote-write
    /// sender retries 5xx, not all retry 429), so the sender keeps the batch in its own backlog.
    private static func forward(_ batch: [AppendSeries], to q: ForwardQueue, nowMs: Int64, metrics: CollectorMetrics) async throws -> IngestOutcome? {
        do {
            // Without the fast path (see `ingest`), every series has its `Labels`.
            try await q.append(batch.compactMap { s in s.labels.map { SeriesSamples(labels: $0, samples: Array(s.samples)) } }, nowMs: nowMs)
            return nil
        } catch let e as DurableQueueError where e.isFull {
            metrics.requestRejected("forward_queue_full")
            return IngestOutcome(status: 503, message: "the forward queue to the remote storage is full (storage.remote.queue.max_bytes); the samples were not accepted, retry later", retryAfterSeconds: 10)
        }
    }

    private func clusterBusy(_ cluster: String) -> IngestOutcome {
        metrics.requestRejected("cluster_busy")
        return IngestOutcome(status: 429, message: "too many concurrent writes from cluster \"\(cluster)\"; retry later", retryAfterSeconds: 2)
    }
}

extension Error {
    fileprivate var isSnappy: Bool {
        if let e = self as? RemoteWriteError, case .snappy = e { return true }
        return false
    }
}
