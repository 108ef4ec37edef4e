import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core plus who is calling.
struct CollectorContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var principal: Principal = .anonymous
    /// The connection, for what its TLS handshake established (`clientCertificateIdentity()`).
    let channel: any Channel
    /// The peer's address: failed logins are throttled per source address.
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        remoteAddress = source.channel.remoteAddress
    }
}
