/// The remote query backend's requests: a form POST (or a GET with the form as query string,
/// where Prometheus serves only GET) through the collector's one-shot client. A fresh
/// connection per request costs one LAN handshake next to a query that takes milliseconds to
/// seconds; a pool is the first thing to add if that shows in latency.
enum RemoteHTTP {
    typealias Response = OneShotHTTP.Response
    typealias Failure = OneShotHTTP.Failure

    static func postForm(url: String, form: String, get: Bool = false, headers extra: [(String, String)], timeout: Duration,
                         maxBytes: Int) async throws -> Response {
        var headers = [("Accept", "application/json")]
        if !get { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        return try await OneShotHTTP.request(get ? .GET : .POST, url, query: get ? form : "", headers: headers + extra,
                                             body: get ? [] : Array(form.utf8), timeout: timeout, maxBytes: maxBytes)
    }

    /// `application/x-www-form-urlencoded` of name/value pairs (repeated names allowed, for `match[]`).
    static func formEncode(_ pairs: [(String, String)]) -> String { FormEncoding.encode(pairs) }
}
