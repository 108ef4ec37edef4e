import DurableIO

extension TSDB {
    /// Rewrites the WAL segments and checkpoint of a store that is not open in the record
    /// format written before compression (types 1 and 2), same records, same order. Only for
    /// bench/ (`fleetbench wal-first-format`): replay of both formats timed on the same data.
    public static func rewriteWALInFirstFormat(directory: String) throws {
        let walDir = directory + "/wal"
        var files = try WAL.segments(in: walDir).map { walDir + "/" + WAL.segmentName($0) }
        files += try WAL.checkpoints(in: walDir).map { walDir + "/" + WAL.checkpointName($0) }
        for path in files {
            var out: [UInt8] = []
            let (damaged, reason) = WALRecord.scan(try FS.readFile(path), file: path) { rec in
                switch rec {
                case .series(let ss):
                    var w = ByteWriter()
                    WALRecord.encodeSeries(ss, into: &w)
                    WALRecord.frame(type: .series, payload: w.bytes, into: &out)
                case .samples(let ss):
                    var w = WALRecord.SamplesWriter()
                    for s in ss { w.add(s.ref, s.t, s.v) }
                    if !w.isEmpty { WALRecord.frame(type: .samples, payload: w.w.bytes, into: &out) }
                }
            }
            if let damaged { throw TSDBError.corruption(file: path, offset: damaged, reason: reason ?? "") }
            try FS.writeFileAtomically(path, out)
        }
    }
}
