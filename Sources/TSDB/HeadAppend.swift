import Storage

extension Head {
    struct Appended {
        var report: AppendReport
        /// Where the batch ends in the WAL (0: nothing logged), for `WAL.waitDurable`.
        var walPosition: UInt64
        var outOfOrder: Int
    }

    /// Appends a batch: samples before `minValid` are counted as too old, the rest are logged to
    /// the WAL and then added, series created as needed. Samples are logged before they touch the
    /// head, in the same order, so replay reproduces exactly the same first-wins decisions; a
    /// failed WAL write leaves the head as it was (the series created for it are dropped again).
    /// A series given as `span` of `labelBytes` is found by its bytes; `Labels` are built only when
    /// that finds nothing, and then it goes the way of a series given as `Labels`.
    func append(_ batch: [AppendSeries], labelBytes: LabelBytes?, minValid: Int64, wal: WAL) throws -> Appended {
        var report = AppendReport()
        var batchMax = maxT
        for ss in batch { for s in ss.samples where s.t > batchMax { batchMax = s.t } }
        var newSeries: [MemSeries] = []
        var work: [(MemSeries, ArraySlice<Sample>)] = []
        work.reserveCapacity(batch.count)
        var records = HeadWALBatch(batchSize: batch.count)
        var guess: HeadRef = 0, guessed = 0
        for ss in batch {
            if ss.samples.isEmpty { continue }
            var samples = ss.samples  // shares storage unless something is too old
            if minValid != .min, ss.samples.contains(where: { $0.t < minValid }) {
                samples.removeAll { $0.t < minValid }
                report.tooOld += ss.samples.count - samples.count
                if samples.isEmpty { continue }
            }
            let s: MemSeries
            if ss.labels == nil, let lb = labelBytes, let g = find(lb, ss.span, guess: guess) {
                s = g
                guessed += 1
            } else if ss.labels == nil, let lb = labelBytes, let existing = find(lb, ss.span) {
                s = existing
            } else {
                // A span without its LabelBytes is a caller's mistake; storing the samples
                // under an empty label set would be worse than dropping them.
                guard let labels = ss.labels ?? labelBytes?.labels(ss.span) else { continue }
                if let existing = find(labels) {
                    s = existing
                } else {
                    s = create(labels)
                    newSeries.append(s)
                    records.addSeries(s.ref, labels)
                }
            }
            // Series come in the order of the previous scrape, whose new series got consecutive
            // refs: the next one is most likely this one's successor (a wrong guess only costs
            // the compare, see `find(_:_:guess:)`).
            guess = s.ref &+ 1
            for x in samples {
                records.addSample(s.ref, x.t, x.v)
            }
            work.append((s, samples))
        }
        seriesFoundByGuess += guessed
        guard !work.isEmpty else { return Appended(report: report, walPosition: 0, outOfOrder: 0) }
        let pos: UInt64
        do {
            pos = try wal.log(records.framed())
        } catch {
            gc(newSeries.map(\.ref))
            throw error
        }
        var ooo = 0
        var batchMin = Int64.max
        for (s, samples) in work {
            for x in samples {
                switch append(x.t, x.v, to: s) {
                case .inOrder: report.accepted += 1
                case .outOfOrder: report.accepted += 1; ooo += 1
                case .duplicate: report.duplicates += 1
                case .conflict: report.conflicts += 1
                }
                if x.t < batchMin { batchMin = x.t }
            }
        }
        widenBounds(min: batchMin, max: batchMax)
        return Appended(report: report, walPosition: pos, outOfOrder: ooo)
    }

    /// A failed head cut puts the data it took out back (the WAL still holds it: nothing is
    /// logged). `maxT` already covers these samples.
    func reinsert(_ frozen: [FrozenSeries]) {
        for f in frozen {
            let s = find(f.labels) ?? create(f.labels)
            for x in SampleMerge.decode(f.chunks, mint: .min, maxt: .max) {
                _ = append(x.t, x.v, to: s)
                widenBounds(min: x.t, max: .min)
            }
        }
    }
}
