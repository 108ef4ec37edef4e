import CZlib
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// gzip for API answers, as Prometheus compresses its responses when the client (Grafana, the
/// Prometheus UI) sends `Accept-Encoding: gzip`. Small bodies go as they are: below about a kilobyte
/// the gzip header and a deflate block cost more than they save.
enum Gzip {
    static let minBytes = 1024

    /// Whether `Accept-Encoding` lists gzip with a non-zero quality.
    static func accepted(_ header: String?) -> Bool {
        guard let header else { return false }
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = fields.first, coding == "gzip" || coding == "x-gzip" else { continue }
            if let q = fields.dropFirst().first(where: { $0.hasPrefix("q=") }), (Double(q.dropFirst(2)) ?? 1) == 0 { return false }
            return true
        }
        return false
    }

    /// `bytes` as one gzip member (RFC 1952), or nil if zlib fails (then the body goes uncompressed).
    static func compress(_ bytes: [UInt8], level: Int32 = 5) -> [UInt8]? {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }

    /// A response with `body`, gzipped when `request` accepts it and the body is worth it.
    static func response(to request: Request, status: Int, headers: HTTPFields, body: [UInt8]) -> Response {
        var headers = headers
        var body = body
        if body.count >= minBytes {
            // Caches must not hand a gzipped answer to a client that did not ask for one.
            headers[.vary] = "Accept-Encoding"
            if accepted(request.headers[.acceptEncoding]), let z = compress(body) {
                headers[.contentEncoding] = "gzip"
                body = z
            }
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
