import Hummingbird

extension CollectorServer {
    /// Remote-write: `POST /api/v1/write`, in the ingest group (tokens and client certificates only).
    func addWriteRoute(to group: RouterGroup<CollectorContext>) {
        group.post("/api/v1/write") { [ingest, metrics, options] request, context in
            let started = ContinuousClock.now
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: options.maxBodyBytes)
            } catch {
                metrics.request(code: 413, seconds: 0)
                return AuthResponses.text(413, "request body larger than \(options.maxBodyBytes) bytes; send smaller batches")
            }
            let identity: IngestIdentity?
            if case .cluster(let c) = context.principal { identity = c } else { identity = nil }
            let out = await ingest.ingest(body: Array(body.readableBytesView),
                                          contentEncoding: request.headers[.contentEncoding],
                                          contentType: request.headers[.contentType], identity: identity)
            metrics.request(code: out.status, seconds: (ContinuousClock.now - started).seconds)
            if out.status == 204 { return Response(status: .noContent) }
            var r = AuthResponses.text(out.status, out.message)
            if let ra = out.retryAfterSeconds { r.headers[.retryAfter] = String(ra) }
            return r
        }
    }

    /// What a write with another method hears (405), beside the `Allow` header.
    static let writeMethodHint = "remote-write takes POST (snappy-compressed protobuf WriteRequest)"
}
