import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core plus who is calling.
struct CollectorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var principal: Principal = .anonymous
    /// The connection, for what its TLS handshake established (`clientCertificateIdentity()`).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
