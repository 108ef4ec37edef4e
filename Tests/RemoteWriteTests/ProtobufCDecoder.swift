import RemoteWireC
import RemoteWrite
import Storage

/// Decodes through protobuf-c's generated code: the reference implementation that
/// `WireDecoder` is differentially tested against. It lives with the tests so that the shipped
/// binaries do not link protobuf-c.
enum ProtobufCDecoder {
    static func decode(_ bytes: [UInt8]) throws(RemoteWriteError) -> WriteRequest {
        let msg = bytes.withUnsafeBufferPointer { prometheus__write_request__unpack(nil, $0.count, $0.baseAddress) }
        guard let msg else { throw .protobuf("protobuf-c could not unpack WriteRequest (malformed or truncated)") }
        defer { prometheus__write_request__free_unpacked(msg, nil) }
        var req = WriteRequest()
        for i in 0..<msg.pointee.n_timeseries {
            let ts = msg.pointee.timeseries[i]!.pointee
            var out = TimeSeries(labels: [], samples: [],
                                 exemplarCount: ts.n_exemplars, histogramCount: ts.n_histograms)
            for j in 0..<ts.n_labels {
                let l = ts.labels[j]!.pointee
                guard let name = cString(l.name) else { out.problem = "label name is not valid UTF-8"; continue }
                guard let value = cString(l.value) else {
                    out.problem = "value of label \"\(name)\" is not valid UTF-8"; continue
                }
                out.labels.append(Label(name, value))
            }
            for j in 0..<ts.n_samples {
                let s = ts.samples[j]!.pointee
                out.samples.append(Sample(t: s.timestamp, v: s.value))
            }
            req.timeseries.append(out)
        }
        for i in 0..<msg.pointee.n_metadata {
            let m = msg.pointee.metadata[i]!.pointee
            req.metadata.append(MetricMetadata(
                type: MetricType(rawValue: Int(m.type.rawValue)) ?? .unknown,
                family: cString(m.metric_family_name) ?? "", help: cString(m.help) ?? "", unit: cString(m.unit) ?? ""))
        }
        return req
    }

    private static func cString(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return "" }
        return String(validatingCString: p)
    }
}
