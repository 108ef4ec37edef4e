import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Why talking to the directory failed: it is down, unreachable, too slow, speaks garbage,
/// or its certificate does not verify. Logins then answer 503, never grant access.
struct LDAPUnavailable: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One connection to an LDAP server: requests are written with a fresh message id and the
/// answer is the list of response messages ending with that operation's result.
final class LDAPConnection: Sendable {
    private let channel: any Channel
    private let timeout: TimeAmount
    private let failure: LDAPFailure
    private let nextID = Atomic<Int32>(1)

    private init(channel: any Channel, timeout: TimeAmount, failure: LDAPFailure) {
        self.channel = channel
        self.timeout = timeout
        self.failure = failure
    }

    /// Connects to `host:port`; with `tls` the connection is TLS from the first byte (`ldaps://`).
    static func connect(host: String, port: Int, tls: NIOSSLContext?, timeout: TimeAmount) async throws -> LDAPConnection {
        let serverName = Self.serverName(host)
        let failure = LDAPFailure()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try sync.addHandler(ByteToMessageHandler(LDAPFrameDecoder()))
                    try sync.addHandler(LDAPClientHandler(failure: failure))
                }
            }
        do {
            return LDAPConnection(channel: try await bootstrap.connect(host: host, port: port).get(), timeout: timeout, failure: failure)
        } catch {
            throw LDAPUnavailable(message: "cannot connect to the directory at \(host):\(port): \(error)")
        }
    }

    /// SNI and certificate name check use the host name; for an IP address NIOSSL checks the
    /// certificate's IP SANs against the peer address instead.
    private static func serverName(_ host: String) -> String? {
        let isIP = host.contains(":") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        return isIP ? nil : host
    }

    /// Sends `request` and waits for its final response (bounded by the timeout: a directory
    /// that stops answering closes the connection and fails the request).
    func send(_ request: LDAPRequest) async throws -> [LDAPResponse.Operation] {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let promise = channel.eventLoop.makePromise(of: [LDAPResponse.Operation].self)
        let timer = channel.eventLoop.scheduleTask(in: timeout) { [channel] in
            promise.fail(LDAPUnavailable(message: "the directory did not answer within \(Self.describe(self.timeout))"))
            channel.close(promise: nil)
        }
        // A write that fails (the connection is closing) fails the request once the connection
        // is closed, with the cause the handler recorded if there is one: "I/O on closed channel"
        // does not say how to fix anything, a failed TLS handshake does. The handshake can fail
        // before the request reaches the handler (the channel is already closed then, and the
        // handler never sees it) or after it (the buffered write fails first, errorCaught follows
        // before the close completes). The first failure of the promise wins.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { [channel, failure] error in
            channel.close(promise: nil)
            channel.closeFuture.whenComplete { _ in
                promise.fail(failure.first ?? LDAPUnavailable(message: "cannot write to the directory: \(error)"))
            }
        }
        channel.writeAndFlush(LDAPClientHandler.Outbound(id: id, bytes: request.encode(messageID: id), promise: promise), promise: written)
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    func bind(dn: String, password: String) async throws -> LDAPResult {
        for op in try await send(.simpleBind(dn: dn, password: password)) {
            if case .bind(let r) = op { return r }
        }
        throw LDAPUnavailable(message: "the directory answered a bind with something else")
    }

    func search(_ s: LDAPSearch) async throws -> (entries: [LDAPEntry], result: LDAPResult) {
        var entries: [LDAPEntry] = []
        for op in try await send(.search(s)) {
            switch op {
            case .searchEntry(let e): entries.append(e)
            case .searchDone(let r): return (entries, r)
            default: continue
            }
        }
        throw LDAPUnavailable(message: "the directory answered a search with something else")
    }

    /// The StartTLS extended operation (RFC 4511 §4.14), then the TLS handshake on the same
    /// connection before anything else is sent.
    func startTLS(context: NIOSSLContext, host: String) async throws {
        let ops = try await send(.startTLS)
        guard case .extended(let r, _)? = ops.last, r.isSuccess else {
            throw LDAPUnavailable(message: "the directory refused StartTLS: \(Self.resultText(ops.last))")
        }
        let name = Self.serverName(host)
        try await channel.eventLoop.submit { [channel] in
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name), position: .first)
        }.get()
    }

    /// Returns once the connection is closed, from either side.
    func closed() async {
        try? await channel.closeFuture.get()
    }

    func close() async {
        // Unbind is a courtesy; the connection is closed either way.
        // Unbind has no response: its promise is failed when the connection closes.
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let promise = channel.eventLoop.makePromise(of: [LDAPResponse.Operation].self)
        try? await channel.writeAndFlush(LDAPClientHandler.Outbound(id: id, bytes: LDAPRequest.unbind.encode(messageID: id), promise: promise)).get()
        try? await channel.close().get()
        promise.fail(LDAPUnavailable(message: "closed"))
    }

    static func resultText(_ op: LDAPResponse.Operation?) -> String {
        switch op {
        case .bind(let r)?, .searchDone(let r)?, .extended(let r, _)?:
            "result code \(r.code)" + (r.diagnostic.isEmpty ? "" : " (\(r.diagnostic))")
        default: "no result"
        }
    }

    private static func describe(_ t: TimeAmount) -> String {
        let ms = t.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}

/// Cuts the byte stream into whole `LDAPMessage`s using the BER length, refusing oversized
/// or malformed headers before buffering them.
struct LDAPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let head = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 6)) else { return .needMoreData }
        switch BERReader.header(head[...]) {
        case nil: return .needMoreData
        case .invalid(let why)?: throw BER.DecodeError(message: why)
        case .complete(let tag, let headerLength, let length)?:
            guard tag == .sequence else { throw BER.DecodeError(message: "a message must be a SEQUENCE") }
            let total = headerLength + length
            guard buffer.readableBytes >= total, let bytes = buffer.readBytes(length: total) else { return .needMoreData }
            context.fireChannelRead(wrapInboundOut(bytes))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// The first reason a connection failed, kept for the requests that are written after it
/// closed: they fail with this cause rather than "I/O on closed channel".
final class LDAPFailure: Sendable {
    private let cause = Mutex<LDAPUnavailable?>(nil)

    var first: LDAPUnavailable? { cause.withLock { $0 } }

    func record(_ error: LDAPUnavailable) {
        cause.withLock { if $0 == nil { $0 = error } }
    }
}

/// Matches responses to requests by message id. Runs on the channel's event loop only.
final class LDAPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundIn = Outbound
    typealias OutboundOut = ByteBuffer

    struct Outbound: Sendable {
        var id: Int32
        var bytes: [UInt8]
        var promise: EventLoopPromise<[LDAPResponse.Operation]>
    }

    private var pending: [Int32: (promise: EventLoopPromise<[LDAPResponse.Operation]>, ops: [LDAPResponse.Operation])] = [:]
    private let failure: LDAPFailure

    init(failure: LDAPFailure) {
        self.failure = failure
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let out = unwrapOutboundIn(data)
        pending[out.id] = (out.promise, [])
        context.write(wrapOutboundOut(ByteBuffer(bytes: out.bytes)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response: LDAPResponse
        do {
            response = try LDAPResponse.decode(unwrapInboundIn(data))
        } catch {
            failAll(LDAPUnavailable(message: "the directory sent a malformed message: \(error)"))
            context.close(promise: nil)
            return
        }
        guard response.messageID != 0 else {
            // Unsolicited notification (RFC 4511 §4.4.1, Notice of Disconnection).
            failAll(LDAPUnavailable(message: "the directory closed the connection: \(LDAPConnection.resultText(response.operation))"))
            context.close(promise: nil)
            return
        }
        guard var p = pending[response.messageID] else { return }
        p.ops.append(response.operation)
        if response.operation.isFinal {
            pending[response.messageID] = nil
            p.promise.succeed(p.ops)
        } else if p.ops.count > 10_000 {
            failAll(LDAPUnavailable(message: "the directory sent more than 10000 entries for one search"))
            context.close(promise: nil)
        } else {
            pending[response.messageID] = p
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(LDAPUnavailable(message: "directory connection failed: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(LDAPUnavailable(message: "the directory closed the connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: LDAPUnavailable) {
        failure.record(error)
        let all = pending
        pending = [:]
        for p in all.values { p.promise.fail(error) }
    }
}
