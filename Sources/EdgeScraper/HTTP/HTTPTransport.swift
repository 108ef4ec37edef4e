import RemoteWrite

/// The edge scraper's one way to speak HTTP, so scraping, discovery and remote-write
/// share a client and tests can substitute loopback servers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var tls: TLSConfig
    /// Whole-request deadline, milliseconds.
    public var timeout: Int64

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], tls: TLSConfig = TLSConfig(), timeout: Int64 = 10_000) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.tls = tls
        self.timeout = timeout
    }
}

public protocol HTTPTransport: Sendable {
    /// Throws for transport failures (refused, reset, timeout); any HTTP status is a response.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// Samples leaving the scrape side: the persistent queue implements this.
public protocol SampleSink: Sendable {
    /// Durably enqueue relabelled series (external labels already applied).
    func enqueue(_ batch: EncodedBatch) async throws
    /// The metric metadata of a scrape (latest wins per family); sinks that send none ignore it.
    func recordMetadata(_ metadata: [MetricMetadata])
}

extension SampleSink {
    public func recordMetadata(_ metadata: [MetricMetadata]) {}
}
