/// The remote query backend's requests: a form POST (or a GET with the form as query string,
/// where Prometheus serves only GET) through the collector's one-shot client. A fresh
/// connection per request costs one LAN handshake next to a query that takes milliseconds to
/// seconds; a pool is the first thing to add if that shows in latency.
enum RemoteHTTP {
    typealias Response = OneShotHTTP.Response
    typealias Failure = OneShotHTTP.Failure

    /// Queries are idempotent, so a connection that fails before any answer (the backend or a
    /// proxy closed or reset it: "I/O on closed channel", connection reset) is tried once more
    /// on a fresh one, as HTTP clients do for idempotent requests. A timeout, an oversized
    /// answer or an answer with an error status is not retried.
    static func postForm(url: String, form: String, get: Bool = false, headers extra: [(String, String)], timeout: Duration,
                         maxBytes: Int) async throws -> Response {
        var headers = [("Accept", "application/json")]
        if !get { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        func once() async throws -> Response {
            try await OneShotHTTP.request(get ? .GET : .POST, url, query: get ? form : "", headers: headers + extra,
                                          body: get ? [] : Array(form.utf8), timeout: timeout, maxBytes: maxBytes)
        }
        do {
            return try await once()
        } catch let e as OneShotHTTP.Failure {
            guard case .closedEarly = e, !Task.isCancelled else { throw e }
            return try await once()
        } catch {
            // NIO's channel errors and resets: the connection broke before an answer.
            guard !Task.isCancelled else { throw error }
            return try await once()
        }
    }

    /// `application/x-www-form-urlencoded` of name/value pairs (repeated names allowed, for `match[]`).
    static func formEncode(_ pairs: [(String, String)]) -> String { FormEncoding.encode(pairs) }
}
