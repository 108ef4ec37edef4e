#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Storage
import DurableIO

/// `meta.json` of a block. Times are the block's window `[minTime, maxTime)` like Prometheus.
struct BlockMeta: Codable, Sendable, Equatable {
    struct Stats: Codable, Sendable, Equatable {
        var numSamples: Int = 0
        var numSeries: Int = 0
        var numChunks: Int = 0
        /// Actual first and last sample times (the window can be much wider).
        var minSampleTime: Int64? = nil
        var maxSampleTime: Int64? = nil
    }
    struct Compaction: Codable, Sendable, Equatable {
        var level: Int
        var sources: [String]
    }
    var ulid: String
    var minTime: Int64
    var maxTime: Int64
    var stats = Stats()
    var compaction: Compaction
    var version = 1
    /// Write order. Where blocks overlap and disagree on a timestamp, the lower `seq` wins
    /// ("first written wins"); compaction output inherits the lowest seq of its sources.
    var seq: UInt64
}

enum ULID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    static func make() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
        var rng = SystemRandomNumberGenerator()
        let hi = ms << 16 | UInt64(rng.next() as UInt16)  // 48 time bits + 16 random
        let lo = rng.next() as UInt64                     // 64 random
        // 128 bits -> 26 base32 digits, most significant first.
        var out = [UInt8](repeating: 0, count: 26)
        var h = hi, l = lo
        for i in (0..<26).reversed() {
            out[i] = alphabet[Int(l & 31)]
            l = (l >> 5) | (h & 31) << 59
            h >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Writes a block directory: `chunks`, `index`, `meta.json`. Series must arrive in label order.
///
/// chunks: magic "FSCK", version u8, then records `uvarint len | encoding u8 | data | crc32c u32 BE`
/// (crc over encoding and data); a chunk reference is the record's file offset. Encodings: 1 XOR,
/// 2 decimal, 3 packed, 4 a shared timestamp column (never a chunk reference itself), 5 packed
/// values over a column of the same file (SharedTimestamps.swift).
final class BlockWriter {
    let parent: String
    let tmpDir: String
    var meta: BlockMeta
    private var chunksFD: Int32
    private var chunkBuf = ByteWriter(capacity: 1 << 20)
    private var chunkFileOffset = 0
    private var series: [(labels: Labels, chunks: [(minT: Int64, maxT: Int64, ref: UInt64)])] = []
    private var lastLabels: Labels? = nil

    /// Larger than head chunks: per-chunk headers and index entries are a visible share of
    /// bytes per sample at 120, and block chunks are never appended to.
    static let samplesPerChunk = 480
    static let encodingXOR: UInt8 = 1
    static let encodingDecimal: UInt8 = 2
    static let encodingPacked: UInt8 = 3
    static let encodingTimestamps: UInt8 = 4
    static let encodingSharedTimestamps: UInt8 = 5
    private var columns = TimestampColumns()
    static let chunksMagic: [UInt8] = Array("FSCK".utf8) + [1]
    static let indexMagic: [UInt8] = Array("FSIX".utf8) + [1]

    init(parent: String, meta: BlockMeta) throws {
        self.parent = parent
        self.meta = meta
        tmpDir = parent + "/" + meta.ulid + ".tmp"
        try? FS.removeAll(tmpDir)
        try FS.mkdirAll(tmpDir)
        let path = tmpDir + "/chunks"
        chunksFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard chunksFD >= 0 else { throw TSDBError.io(DurableIOError("cannot create", path)) }
        chunkBuf.putBytes(BlockWriter.chunksMagic)
    }

    deinit { if chunksFD >= 0 { close(chunksFD) } }

    /// Appends a record to the chunks file; its offset is its reference.
    private func writeRecord(_ encoding: UInt8, _ data: [UInt8]) throws -> UInt64 {
        let ref = UInt64(chunkFileOffset + chunkBuf.count)
        chunkBuf.putUVarint(UInt64(data.count))
        let recStart = chunkBuf.count
        chunkBuf.putByte(encoding)
        chunkBuf.putBytes(data)
        chunkBuf.putBE32(CRC32C.checksum(chunkBuf.bytes[recStart...]))
        if chunkBuf.count >= 1 << 20 { try flushChunks() }
        return ref
    }

    private func flushChunks() throws {
        try chunkBuf.bytes.withUnsafeBytes { try FS.writeAll(chunksFD, $0, path: tmpDir + "/chunks") }
        chunkFileOffset += chunkBuf.count
        chunkBuf.bytes.removeAll(keepingCapacity: true)
    }

    /// Adds a series with samples sorted by time, one per timestamp. Empty series are skipped.
    func add(_ labels: Labels, _ samples: [Sample]) throws {
        guard !samples.isEmpty else { return }
        if let last = lastLabels, !(last < labels) {
            throw TSDBError.internalError("block series out of order (\(last) then \(labels))")
        }
        lastLabels = labels
        var metas: [(minT: Int64, maxT: Int64, ref: UInt64)] = []
        var i = 0
        while i < samples.count {
            let end = Swift.min(i + BlockWriter.samplesPerChunk, samples.count)
            // Whichever encoding is smallest; decimal and packed need every value exactly decimal.
            let chunk = samples[i..<end]
            var data = XORChunk.encode(chunk)
            var encoding = BlockWriter.encodingXOR
            if let (header, ms) = DecimalChunk.mantissas(chunk) {
                let dec = DecimalChunk.encode(chunk, header: header, ms: ms)
                if dec.count < data.count {
                    data = dec
                    encoding = BlockWriter.encodingDecimal
                }
                if let packed = PackedChunk.encode(chunk, header: header, ms: ms), packed.count < data.count {
                    data = packed
                    encoding = BlockWriter.encodingPacked
                }
                if let column = TimestampColumn.encode(chunk) {
                    let ref: UInt64?
                    switch columns.meet(column) {
                    case .unseen: ref = nil
                    case .seenOnce:
                        ref = try writeRecord(BlockWriter.encodingTimestamps, column)
                        columns.written(column, at: ref!)
                    case .written(let at): ref = at
                    }
                    if let ref {
                        let shared = SharedTimestampChunk.encode(header: header, ms: ms, column: ref)
                        if shared.count < data.count {
                            data = shared
                            encoding = BlockWriter.encodingSharedTimestamps
                        }
                    }
                }
            }
            let ref = try writeRecord(encoding, data)
            metas.append((samples[i].t, samples[end - 1].t, ref))
            meta.stats.numChunks += 1
            i = end
        }
        meta.stats.numSamples += samples.count
        meta.stats.minSampleTime = min(meta.stats.minSampleTime ?? .max, samples.first!.t)
        meta.stats.maxSampleTime = max(meta.stats.maxSampleTime ?? .min, samples.last!.t)
        meta.stats.numSeries += 1
        series.append((labels, metas))
    }

    /// Index layout (integers big-endian or uvarint):
    /// magic "FSIX" v1 | symbols | series entries | postings lists | postings table | TOC.
    /// symbols: uvarint n, n × (uvarint len, bytes), crc32c. Strings sorted; id = position.
    /// series entry (ref = its offset): uvarint len | body | crc32c, body = uvarint nLabels,
    ///   (uvarint nameID, uvarint valueID)…, uvarint nChunks, (varint minT, uvarint maxT−minT, uvarint chunkRef)…
    /// postings list: uvarint len | (uvarint n, uvarint deltas of series refs) | crc32c
    /// postings table: uvarint n, (uvarint nameID, uvarint valueID, uvarint listOffset)… sorted, crc32c
    /// TOC (last 36 bytes): u64 symbols, series, postings, table offsets, crc32c of the 32 bytes.
    func finish() throws -> String {
        try flushChunks()
        if fsync(chunksFD) != 0 { throw TSDBError.io(DurableIOError("cannot fsync", tmpDir + "/chunks")) }
        close(chunksFD)
        chunksFD = -1

        var symSet = Set<String>()
        for s in series { for l in s.labels { symSet.insert(l.name); symSet.insert(l.value) } }
        let symbols = symSet.sorted()
        var symID: [String: UInt64] = [:]
        symID.reserveCapacity(symbols.count)
        for (i, s) in symbols.enumerated() { symID[s] = UInt64(i) }

        var w = ByteWriter(capacity: 1 << 16)
        w.putBytes(BlockWriter.indexMagic)
        let symbolsOff = w.count
        w.putUVarint(UInt64(symbols.count))
        for s in symbols { w.putString(s) }
        w.putBE32(CRC32C.checksum(w.bytes[symbolsOff...]))

        let seriesOff = w.count
        var postings: [UInt64: [UInt64: [UInt64]]] = [:]
        var body = ByteWriter()
        for s in series {
            let ref = UInt64(w.count)
            body.bytes.removeAll(keepingCapacity: true)
            body.putUVarint(UInt64(s.labels.count))
            for l in s.labels {
                let n = symID[l.name]!, v = symID[l.value]!
                body.putUVarint(n); body.putUVarint(v)
                postings[n, default: [:]][v, default: []].append(ref)
            }
            body.putUVarint(UInt64(s.chunks.count))
            for c in s.chunks {
                body.putVarint(c.minT)
                body.putUVarint(UInt64(bitPattern: c.maxT &- c.minT))
                body.putUVarint(c.ref)
            }
            w.putUVarint(UInt64(body.count))
            w.putBytes(body.bytes)
            w.putBE32(CRC32C.checksum(body.bytes))
        }

        let postingsOff = w.count
        var table: [(UInt64, UInt64, UInt64)] = []
        for n in postings.keys.sorted() {
            for v in postings[n]!.keys.sorted() {
                let refs = postings[n]![v]!
                table.append((n, v, UInt64(w.count)))
                body.bytes.removeAll(keepingCapacity: true)
                body.putUVarint(UInt64(refs.count))
                var prev: UInt64 = 0
                for r in refs { body.putUVarint(r - prev); prev = r }
                w.putUVarint(UInt64(body.count))
                w.putBytes(body.bytes)
                w.putBE32(CRC32C.checksum(body.bytes))
            }
        }

        let tableOff = w.count
        w.putUVarint(UInt64(table.count))
        for (n, v, o) in table { w.putUVarint(n); w.putUVarint(v); w.putUVarint(o) }
        w.putBE32(CRC32C.checksum(w.bytes[tableOff...]))

        let tocOff = w.count
        w.putBE64(UInt64(symbolsOff)); w.putBE64(UInt64(seriesOff)); w.putBE64(UInt64(postingsOff)); w.putBE64(UInt64(tableOff))
        w.putBE32(CRC32C.checksum(w.bytes[tocOff...]))

        try FS.writeFileAtomically(tmpDir + "/index", w.bytes)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FS.writeFileAtomically(tmpDir + "/meta.json", Array(try enc.encode(meta)))
        FS.syncDirectory(tmpDir)
        let final = parent + "/" + meta.ulid
        try FS.rename(tmpDir, final)
        FS.syncDirectory(parent)
        return final
    }

    func abort() {
        if chunksFD >= 0 { close(chunksFD); chunksFD = -1 }
        try? FS.removeAll(tmpDir)
    }
}

/// A persisted, immutable block. Index and chunks are memory-mapped; opening reads only the
/// table of contents, the symbol table and the postings table.
final class Block: Sendable, PostingsIndex {
    typealias Ref = UInt64

    let dir: String
    let meta: BlockMeta
    let sizeBytes: Int64
    private let index: MappedFile
    private let chunksFile: MappedFile
    private let symbols: [String]
    /// nameID -> sorted (valueID, postings list offset)
    private let table: [UInt32: [(value: UInt32, offset: Int)]]
    private let seriesStart: Int
    private let seriesEnd: Int

    init(dir: String) throws {
        self.dir = dir
        let metaPath = dir + "/meta.json"
        let metaBytes = try FS.readFile(metaPath)
        do {
            meta = try JSONDecoder().decode(BlockMeta.self, from: Data(metaBytes))
        } catch {
            throw TSDBError.corruption(file: metaPath, offset: 0, reason: "cannot parse: \(error); remove the block directory \(dir) if it is damaged")
        }
        index = try MappedFile(dir + "/index")
        chunksFile = try MappedFile(dir + "/chunks")
        sizeBytes = Int64(index.count + chunksFile.count + metaBytes.count)
        let file = dir + "/index"
        let buf = index.buffer
        guard buf.count >= BlockWriter.indexMagic.count + 36,
              Array(UnsafeRawBufferPointer(rebasing: buf[0..<5])) == BlockWriter.indexMagic else {
            throw TSDBError.corruption(file: file, offset: 0, reason: "not a Fleetscope index file (bad magic or too short)")
        }
        let tocOff = buf.count - 36
        var toc = ByteReader(buf, file: file, start: tocOff)
        let offs = try (0..<4).map { _ in Int(clamping: try toc.be64()) }
        let tocCRC = try toc.be32()
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[tocOff..<tocOff + 32])) == tocCRC else {
            throw TSDBError.corruption(file: file, offset: tocOff, reason: "table of contents checksum mismatch")
        }
        guard offs[0] >= 5, offs[0] <= offs[1], offs[1] <= offs[2], offs[2] <= offs[3], offs[3] <= tocOff else {
            throw TSDBError.corruption(file: file, offset: tocOff, reason: "table of contents offsets out of order")
        }
        seriesStart = offs[1]
        seriesEnd = offs[2]

        var r = ByteReader(buf, file: file, start: offs[0], end: offs[1])
        let n = try r.count(limit: r.remaining)
        var syms: [String] = []
        syms.reserveCapacity(n)
        for _ in 0..<n { syms.append(try r.string()) }
        let symEnd = r.pos
        guard try r.be32() == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[offs[0]..<symEnd])) else {
            throw TSDBError.corruption(file: file, offset: offs[0], reason: "symbol table checksum mismatch")
        }
        symbols = syms

        r = ByteReader(buf, file: file, start: offs[3], end: tocOff)
        let tn = try r.count(limit: r.remaining)
        var t: [UInt32: [(value: UInt32, offset: Int)]] = [:]
        for _ in 0..<tn {
            let nm = try r.count(limit: syms.count - 1)
            let v = try r.count(limit: syms.count - 1)
            let o = try r.count(limit: offs[3])
            guard o >= offs[2] else { throw r.fail("postings offset \(o) outside the postings section") }
            t[UInt32(nm), default: []].append((UInt32(v), o))
        }
        let tEnd = r.pos
        guard try r.be32() == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buf[offs[3]..<tEnd])) else {
            throw TSDBError.corruption(file: file, offset: offs[3], reason: "postings table checksum mismatch")
        }
        table = t
    }

    var ulid: String { meta.ulid }

    /// Whether the block may hold samples in [mint, maxt] (by its data bounds when known).
    func overlaps(_ mint: Int64, _ maxt: Int64) -> Bool {
        let lo = meta.stats.minSampleTime ?? meta.minTime
        let hi = meta.stats.maxSampleTime ?? (meta.maxTime - 1)
        return meta.stats.numSamples > 0 && lo <= maxt && hi >= mint
    }

    private func symbolID(_ s: String) -> UInt32? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid] < s { lo = mid + 1 } else { hi = mid }
        }
        return lo < symbols.count && symbols[lo] == s ? UInt32(lo) : nil
    }

    private func readPostings(at offset: Int) throws -> [UInt64] {
        let file = dir + "/index"
        var r = ByteReader(index.buffer, file: file, start: offset)
        let len = try r.count(limit: r.remaining)
        let body = try r.bytes(len)
        guard try r.be32() == CRC32C.checksum(body) else { throw TSDBError.corruption(file: file, offset: offset, reason: "postings list checksum mismatch") }
        var b = ByteReader(index.buffer, file: file, start: r.pos - 4 - len, end: r.pos - 4)
        let n = try b.count(limit: len)
        var out: [UInt64] = []
        out.reserveCapacity(n)
        var prev: UInt64 = 0
        for _ in 0..<n {
            let d = try b.uvarint()
            let (x, o) = prev.addingReportingOverflow(d)
            guard !o, x >= UInt64(seriesStart), x < UInt64(seriesEnd), out.isEmpty || x > prev else {
                throw b.fail("postings entry \(x) is not a series in this index")
            }
            out.append(x)
            prev = x
        }
        return out
    }

    // MARK: PostingsIndex

    /// Walks the series section: every entry's offset is its reference, already sorted.
    func allPostings() throws -> [UInt64] {
        var out: [UInt64] = []
        var r = ByteReader(index.buffer, file: dir + "/index", start: seriesStart, end: seriesEnd)
        while !r.isAtEnd {
            out.append(UInt64(r.pos))
            let len = try r.count(limit: r.remaining)
            _ = try r.bytes(len + 4)
        }
        return out
    }

    func values(of name: String) -> [String] {
        guard let n = symbolID(name), let vs = table[n] else { return [] }
        return vs.map { symbols[Int($0.value)] }
    }

    var labelNames: [String] { table.keys.map { symbols[Int($0)] }.sorted() }

    func postings(_ name: String, _ value: String) throws -> [UInt64] {
        guard let n = symbolID(name), let v = symbolID(value), let vs = table[n] else { return [] }
        var lo = 0, hi = vs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vs[mid].value < v { lo = mid + 1 } else { hi = mid }
        }
        guard lo < vs.count, vs[lo].value == v else { return [] }
        return try readPostings(at: vs[lo].offset)
    }

    typealias ChunkMeta = (minT: Int64, maxT: Int64, ref: UInt64)

    struct SeriesEntry {
        var labels: Labels
        var chunks: [ChunkMeta]
    }

    func series(_ ref: UInt64) throws -> SeriesEntry {
        let file = dir + "/index"
        guard ref >= UInt64(seriesStart), ref < UInt64(seriesEnd) else {
            throw TSDBError.corruption(file: file, offset: Int(clamping: ref), reason: "series reference outside the series section")
        }
        var r = ByteReader(index.buffer, file: file, start: Int(ref), end: seriesEnd)
        let len = try r.count(limit: r.remaining)
        let body = try r.bytes(len)
        guard try r.be32() == CRC32C.checksum(body) else { throw TSDBError.corruption(file: file, offset: Int(ref), reason: "series entry checksum mismatch") }
        var b = ByteReader(index.buffer, file: file, start: r.pos - 4 - len, end: r.pos - 4)
        let nl = try b.count(limit: len)
        var pairs: [Label] = []
        pairs.reserveCapacity(nl)
        for _ in 0..<nl {
            let n = try b.count(limit: symbols.count - 1), v = try b.count(limit: symbols.count - 1)
            pairs.append(Label(symbols[n], symbols[v]))
        }
        let nc = try b.count(limit: len)
        var chunks: [(minT: Int64, maxT: Int64, ref: UInt64)] = []
        chunks.reserveCapacity(nc)
        for _ in 0..<nc {
            let mint = try b.varint()
            let d = try b.uvarint()
            let cref = try b.uvarint()
            chunks.append((mint, mint &+ Int64(bitPattern: d), cref))
        }
        return SeriesEntry(labels: Labels(sortedUnchecked: pairs), chunks: chunks)
    }

    func samples(_ entry: SeriesEntry, mint: Int64, maxt: Int64) throws -> [Sample] {
        try samples(entry.chunks, mint: mint, maxt: maxt)
    }

    func samples(_ chunks: [ChunkMeta], mint: Int64, maxt: Int64) throws -> [Sample] {
        var out: [Sample] = [], columns = TimestampColumnCache()
        try samples(chunks, mint: mint, maxt: maxt, into: &out, columns: &columns)
        return out
    }

    /// Appends the samples of `chunks` (one series' chunks, in time order) in [mint, maxt],
    /// decoding straight from the mapped file after checking the chunk's checksum. Shared
    /// timestamp columns are decoded once into `columns`, which readers of many series keep.
    func samples(_ chunks: [ChunkMeta], mint: Int64, maxt: Int64, into out: inout [Sample],
                 columns: inout TimestampColumnCache) throws {
        let file = dir + "/chunks"
        for c in chunks where c.maxT >= mint && c.minT <= maxt {
            let (encoding, data) = try record(at: c.ref, file: file)
            do {
                switch encoding {
                case BlockWriter.encodingXOR: try XORChunk.decode(data, mint: mint, maxt: maxt, into: &out)
                case BlockWriter.encodingDecimal: try DecimalChunk.decode(data, mint: mint, maxt: maxt, into: &out)
                case BlockWriter.encodingPacked: try PackedChunk.decode(data, mint: mint, maxt: maxt, into: &out)
                case BlockWriter.encodingSharedTimestamps:
                    let at = try SharedTimestampChunk.columnRef(data)
                    let ts = try columns.timestamps(self, at: at) {
                        let (e, columnData) = try record(at: at, file: file)
                        guard e == BlockWriter.encodingTimestamps else {
                            throw TSDBError.corruption(file: file, offset: Int(clamping: c.ref), reason: "chunk refers to a record of encoding \(e) at \(at), not a timestamp column")
                        }
                        return columnData
                    }
                    try SharedTimestampChunk.decode(data, timestamps: ts, mint: mint, maxt: maxt, into: &out)
                default: throw TSDBError.corruption(file: file, offset: Int(c.ref), reason: "unknown chunk encoding \(encoding)")
                }
            } catch let e as ChunkDecodeError {
                throw TSDBError.corruption(file: file, offset: Int(c.ref), reason: "chunk does not decode at sample \(e.sampleIndex): \(e.reason)")
            }
        }
    }

    /// The record at `ref` in the chunks file, its checksum checked: encoding and data.
    /// `file`: the chunks file's path for errors (built once per series by the caller).
    private func record(at ref: UInt64, file: String) throws -> (UInt8, UnsafeRawBufferPointer) {
        let buf = chunksFile.buffer
        guard ref >= 5, ref < UInt64(buf.count) else {
            throw TSDBError.corruption(file: file, offset: Int(clamping: ref), reason: "chunk reference outside the file")
        }
        var r = ByteReader(buf, file: file, start: Int(ref))
        let len = try r.count(limit: r.remaining)
        let rec = try r.bytes(len + 1)
        guard try r.be32() == CRC32C.checksum(rec) else { throw TSDBError.corruption(file: file, offset: Int(ref), reason: "chunk checksum mismatch") }
        return (rec[rec.startIndex], UnsafeRawBufferPointer(rebasing: rec[(rec.startIndex + 1)...]))
    }
}
