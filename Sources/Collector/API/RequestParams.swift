import Hummingbird
import HummingbirdCore
import NIOCore

/// How the query API reads its parameters, with Prometheus' sizes: Go's net/http takes request
/// lines and headers up to 1 MiB (`http.DefaultMaxHeaderBytes`) and `ParseForm` bodies up to
/// 10 MB. Fleet-sized selectors (thousands of `instance=~"a|b|…"` alternatives) need both.
enum RequestParams {
    /// Longest request URI taken; longer gets 414 with a message.
    static let maxURIBytes = 1 << 20
    /// Largest form body taken; larger gets 413 with a message.
    static let maxFormBytes = 10 << 20
    /// What the HTTP decoder buffers for a request head: above `maxURIBytes` so that a URI just
    /// over the limit still reaches `RequestLimitsMiddleware` and gets its 414 in words; beyond
    /// this NIO refuses the head itself (empty 400, connection closed).
    static let maxHeadBytes = 2 << 20

    /// The HTTP/1 server's configuration with those head limits (plain and TLS alike).
    static var http1: HTTP1Channel.Configuration {
        .init(httpDecoderConfiguration: .init(maxHeaderFieldSize: maxHeadBytes, maxHeaderListSize: maxHeadBytes))
    }

    /// Form values first, then the URL's, as Go's `Request.FormValue` reads them: when `query`
    /// is in both, the body wins, as in Prometheus.
    static func parse(_ request: Request) async -> Result<Params, APIError> {
        var params = Params()
        if request.method == .post,
           (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded") {
            var req = request
            do {
                let body = try await req.collectBody(upTo: maxFormBytes)
                params.add(String(decoding: body.readableBytesView, as: UTF8.self))
            } catch {
                return .failure(APIError(type: "bad_data", message: "request body larger than \(maxFormBytes) bytes (Prometheus' form limit)", status: 413))
            }
        }
        if let q = request.uri.query { params.add(q) }
        return .success(params)
    }
}

/// 414 in words for request URIs over `RequestParams.maxURIBytes` (Prometheus' header limit),
/// instead of a bare 400 from the HTTP decoder.
struct RequestLimitsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.uri.string.utf8.count
        guard length <= RequestParams.maxURIBytes else {
            return Response(status: .uriTooLong, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string:
                                "request URI of \(length) bytes is over the limit of \(RequestParams.maxURIBytes) bytes; send the parameters as a POST form body (up to \(RequestParams.maxFormBytes) bytes)\n")))
        }
        return try await next(request, context)
    }
}
