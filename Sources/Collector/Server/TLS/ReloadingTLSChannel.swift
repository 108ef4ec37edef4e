import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Wraps Hummingbird's HTTP/1 child channel in TLS like HummingbirdTLS's `TLSChannel`, but
/// takes the context from `ServerTLSContext` per connection (so rotated files apply to new
/// connections) and adds `ClientCertificateHandler`, which records who the client
/// certificate names and says why a handshake failed.
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let tls: ServerTLSContext
    let logger: Logger

    func setup(channel: any Channel, logger childLogger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let context = tls.current()
            let ssl: NIOSSLServerHandler
            if tls.acceptsUnverifiedClientCertificates {
                // RequestClientCert / RequireAnyClientCert: take any certificate, as Go does.
                ssl = NIOSSLServerHandler(context: context, customVerificationCallback: { _, promise in
                    promise.succeed(.certificateVerified)
                }, configuration: .init())
            } else {
                ssl = NIOSSLServerHandler(context: context)
            }
            try channel.pipeline.syncOperations.addHandler(ssl)
            try channel.pipeline.syncOperations.addHandler(ClientCertificateHandler(options: tls.options, logger: logger, budget: tls.refusalLog))
        }.flatMap {
            base.setup(channel: channel, logger: childLogger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 over TLS with certificates reloaded from disk.
    static func reloadingTLS(_ tls: ServerTLSContext, logger: Logger) -> HTTPServerBuilder {
        .init { responder in
            ReloadingTLSChannel(base: HTTP1Channel(responder: responder, configuration: RequestParams.http1), tls: tls, logger: logger)
        }
    }
}

/// Sits right after the TLS handler: when the handshake completes it decides what the client
/// certificate stands for (read by the auth middleware through `CollectorContext`); when it
/// fails, it logs the reason in words.
final class ClientCertificateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let options: TLSOptions
    let logger: Logger
    let budget: LogBudget
    /// Set once on the event loop at handshake completion, read only there.
    private(set) var identity: ClientCertificateIdentity = .none
    private var handshakeDone = false

    init(options: TLSOptions, logger: Logger, budget: LogBudget) {
        self.options = options
        self.logger = logger
        self.budget = budget
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshakeDone = true
            if options.clientAuth.verifies,
               let cert = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate {
                identity = .of(cert, from: options.clusterFrom)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeDone, let e = error as? NIOSSLError, case .handshakeFailed = e {
            let peer = context.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown address"
            let cert = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
            let reason = CertificateText.handshakeFailure(error, peerCertificate: cert, options: options)
            // A client that hangs up mid-handshake (port scans, health probes) is noise.
            if "\(error)".contains("eofDuringHandshake") || "\(error)".contains("EOF") {
                logger.debug("TLS handshake with \(peer) ended early: \(reason)")
            } else if let left = budget.take() {
                let note = left > 0 ? " (\(left) more refusals before this one were not logged)" : ""
                logger.warning("TLS handshake with \(peer) refused: \(reason)\(note)")
            }
        }
        context.fireErrorCaught(error)
    }
}

extension CollectorContext {
    /// What this connection's client certificate names (`.none` without TLS or certificate).
    /// One hop to the connection's event loop, where the handshake left the answer.
    func clientCertificateIdentity() async -> ClientCertificateIdentity {
        let channel = self.channel
        let found = try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ClientCertificateHandler.self).identity
        }.get()
        return found ?? .none
    }
}
