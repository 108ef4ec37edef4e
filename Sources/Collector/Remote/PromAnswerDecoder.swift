import Foundation
import PromQL
import Storage

/// Reads a Prometheus HTTP API answer from a remote backend into the values the collector's
/// own API writes, so that answers leave the collector in exactly the JSON the embedded
/// engine's answers have.
struct PromAnswerDecoder {
    /// Named in every error, so that an operator sees which backend failed.
    let backend: String

    /// The `data` of a success answer. A query error the backend reports (bad_data, execution,
    /// timeout) is the caller's and passes through as such; anything else is the backend's
    /// failure: 502 naming it.
    func data(_ r: RemoteHTTP.Response) throws(APIError) -> Any {
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body), options: [.fragmentsAllowed])) as? [String: Any]
        if let json, json["status"] as? String == "success", let data = json["data"] {
            guard (200..<300).contains(r.status) else { throw bad("HTTP \(r.status) with a success body") }
            return data
        }
        let message = json?["error"] as? String
        let type = json?["errorType"] as? String ?? ""
        switch (r.status, type) {
        // VictoriaMetrics puts the status code into errorType; Prometheus its own names.
        case (400, _): throw APIError.badData(message ?? "bad request")
        case (422, _): throw APIError.execution(message ?? "cannot execute query")
        case (503, "timeout"), (_, "timeout"): throw APIError(type: "timeout", message: message ?? "query timed out", status: 503)
        case (503, "canceled"): throw APIError(type: "canceled", message: message ?? "query canceled", status: 503)
        case (429, _), (503, _):
            throw APIError(type: "unavailable", message: "remote storage backend \(backend) is overloaded (HTTP \(r.status)): \(message ?? snippet(r.body))", status: 503)
        default:
            throw bad("HTTP \(r.status): \(message ?? snippet(r.body))")
        }
    }

    func bad(_ why: String) -> APIError {
        APIError(type: "unavailable", message: "remote storage backend \(backend) failed: \(why)", status: 502)
    }

    private func snippet(_ b: [UInt8]) -> String {
        let s = String(decoding: b.prefix(200), as: UTF8.self)
        return s.isEmpty ? "empty answer" : s
    }

    func queryValue(_ data: Any) throws(APIError) -> QueryValue {
        guard let d = data as? [String: Any], let type = d["resultType"] as? String else { throw bad("no resultType in the answer") }
        switch type {
        case "vector":
            guard let rs = d["result"] as? [[String: Any]] else { throw bad("vector result is not a list") }
            var out: [VectorElement] = []
            out.reserveCapacity(rs.count)
            for r in rs {
                let (t, v) = try point(r["value"])
                out.append(VectorElement(labels: try labels(r["metric"]), t: t, v: v))
            }
            return .vector(out)
        case "matrix":
            guard let rs = d["result"] as? [[String: Any]] else { throw bad("matrix result is not a list") }
            var out: [MatrixSeries] = []
            out.reserveCapacity(rs.count)
            for r in rs {
                guard let values = r["values"] as? [Any] else { throw bad("matrix series without values") }
                var samples: [Sample] = []
                samples.reserveCapacity(values.count)
                for p in values {
                    let (t, v) = try point(p)
                    samples.append(Sample(t: t, v: v))
                }
                out.append(MatrixSeries(labels: try labels(r["metric"]), samples: samples))
            }
            return .matrix(out)
        case "scalar":
            let (t, v) = try point(d["result"])
            return .scalar(t: t, v: v)
        case "string":
            guard let p = d["result"] as? [Any], p.count == 2, let s = p[1] as? String else { throw bad("malformed string result") }
            return .string(t: try millis(p[0]), v: s)
        default:
            throw bad("unknown resultType \(type)")
        }
    }

    func labelSets(_ data: Any) throws(APIError) -> [Labels] {
        guard let list = data as? [Any] else { throw bad("series answer is not a list") }
        var out: [Labels] = []
        for l in list { out.append(try labels(l)) }
        return out
    }

    func strings(_ data: Any) throws(APIError) -> [String] {
        if data is NSNull { return [] }
        guard let list = data as? [String] else { throw bad("answer is not a list of strings") }
        return list
    }

    private func labels(_ any: Any?) throws(APIError) -> Labels {
        guard let d = any as? [String: String] else { throw bad("labels are not an object of strings") }
        return Labels(d)
    }

    private func point(_ any: Any?) throws(APIError) -> (Int64, Double) {
        guard let p = any as? [Any], p.count == 2, let s = p[1] as? String else { throw bad("malformed sample") }
        guard let v = Self.value(s) else { throw bad("malformed sample value \(s)") }
        return (try millis(p[0]), v)
    }

    /// The API writes times as seconds with millisecond decimals.
    private func millis(_ any: Any) throws(APIError) -> Int64 {
        guard let n = any as? NSNumber else { throw bad("malformed timestamp") }
        let ms = (n.doubleValue * 1000).rounded()
        guard ms.isFinite, abs(ms) < 9.2e18 else { throw bad("timestamp out of range") }
        return Int64(ms)
    }

    static func value(_ s: String) -> Double? {
        switch s {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(s)
        }
    }
}
