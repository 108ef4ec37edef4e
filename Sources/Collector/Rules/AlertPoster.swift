/// A notification POST through the collector's one-shot client: a few small JSON bodies a
/// minute, so pooling would buy nothing. The receiver's answer is kept only for the log.
enum AlertPoster {
    struct Response: Sendable {
        let status: Int
        let body: String
    }

    /// POSTs `body` to an http(s) URL and returns the status and the first bytes of the answer.
    /// The whole exchange, connect included, is bounded by `timeoutSeconds`.
    static func post(url: String, body: [UInt8], contentType: String, timeoutSeconds: Int = 10) async throws -> Response {
        let r = try await OneShotHTTP.request(.POST, url, headers: [("Content-Type", contentType)], body: body,
                                              timeout: .seconds(timeoutSeconds), maxBytes: 300, overflow: .truncate)
        return Response(status: r.status, body: String(decoding: r.body, as: UTF8.self))
    }
}
