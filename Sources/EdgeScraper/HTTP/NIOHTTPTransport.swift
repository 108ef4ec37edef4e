import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// HTTP/1.1 client on SwiftNIO. Idle keep-alive connections are pooled per host:port so a
/// scrape loop or a remote-write shard does not pay a TCP handshake per request.
public final class NIOHTTPTransport: HTTPTransport {
    private let group: any EventLoopGroup
    private let pool = Mutex<[String: [any Channel]]>([:])
    /// Building a TLS context loads CA bundles and keys: once per distinct `tls_config` and
    /// state of its files, so a rotated client certificate or CA bundle is used from the next
    /// new connection on (pooled connections keep the session they authenticated).
    private let tlsContexts = Mutex<[String: (files: String, context: NIOSSLContext)]>([:])
    private let maxIdlePerHost: Int
    private let maxResponseBytes: Int
    private let userAgent: String

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                maxIdlePerHost: Int = 8, maxResponseBytes: Int = 64 << 20,
                userAgent: String = "fleetscope-edge-scraper/\(EdgeScraperVersion.current)") {
        self.group = group
        self.maxIdlePerHost = maxIdlePerHost
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
    }

    deinit {
        for channels in pool.withLock({ $0.values }) { for c in channels { c.close(promise: nil) } }
    }

    /// Closes the idle connections; requests in flight finish on their own.
    public func shutdown() async {
        let all = pool.withLock { p in let v = p.values.flatMap { $0 }; p.removeAll(); return v }
        for c in all { try? await c.close() }
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let url = try HTTPURL(parsing: request.url)
        let tls = url.scheme == "https" ? try tlsContext(request.tls, url) : nil
        let key = poolKey(url, request.tls)
        let deadline = NIODeadline.now() + .milliseconds(max(request.timeout, 1))
        let head = makeHead(request, url)
        var body = ByteBuffer()
        body.writeBytes(request.body)

        // A pooled connection may have been closed by the peer while idle; that shows up
        // as a failure before any response byte. Retry such a failure once on a fresh
        // connection, as Go's net/http does.
        if let channel = takeIdle(key) {
            do {
                return try await exchange(channel, head, body, url, key, deadline, request.timeout)
            } catch let e as ExchangeFailure where e.beforeResponse && e.reused {
                // fall through to a fresh connection
            } catch let e as ExchangeFailure {
                throw e.error
            }
        }
        let channel = try await connect(url, tls: tls, tlsConfig: request.tls, deadline: deadline, timeoutMs: request.timeout)
        do {
            return try await exchange(channel, head, body, url, key, deadline, request.timeout, reused: false)
        } catch let e as ExchangeFailure {
            throw e.error
        }
    }

    private func makeHead(_ request: HTTPRequest, _ url: HTTPURL) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        var hasUA = false, hasAuth = false
        for h in request.headers {
            let n = h.name.lowercased()
            if n == "host" || n == "content-length" { continue }
            if n == "user-agent" { hasUA = true }
            if n == "authorization" { hasAuth = true }
            headers.add(name: h.name, value: h.value)
        }
        if !hasUA { headers.add(name: "User-Agent", value: userAgent) }
        if !hasAuth, let user = url.user {
            headers.add(name: "Authorization", value: "Basic " + base64("\(user):\(url.password ?? "")"))
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            headers.add(name: "Content-Length", value: String(request.body.count))
        }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: url.target, headers: headers)
    }

    private func takeIdle(_ key: String) -> (any Channel)? {
        pool.withLock { p in
            while var list = p[key], let c = list.popLast() {
                p[key] = list.isEmpty ? nil : list
                if c.isActive { return c }
            }
            return nil
        }
    }

    private func release(_ channel: any Channel, _ key: String) {
        let keep = pool.withLock { p -> Bool in
            var list = p[key] ?? []
            guard list.count < maxIdlePerHost else { return false }
            list.append(channel)
            p[key] = list
            return true
        }
        if !keep { channel.close(promise: nil) }
    }

    private func poolKey(_ url: HTTPURL, _ tls: TLSConfig) -> String {
        url.scheme == "https" ? "https|\(url.authority)|" + tlsKey(tls) : url.authority
    }

    private func tlsKey(_ c: TLSConfig) -> String {
        "\(c.caFile ?? "")|\(c.certFile ?? "")|\(c.keyFile ?? "")|\(c.serverName ?? "")|\(c.insecureSkipVerify)"
    }

    private func tlsContext(_ c: TLSConfig, _ url: HTTPURL) throws -> NIOSSLContext {
        let k = tlsKey(c)
        let files = fileStamps([c.caFile, c.certFile, c.keyFile])
        if let cached = tlsContexts.withLock({ $0[k] }), cached.files == files { return cached.context }
        var conf = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = c.caFile { conf.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let cert = c.certFile {
                conf.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            }
            if let key = c.keyFile { conf.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)) }
            if c.insecureSkipVerify { conf.certificateVerification = .none }
            let ctx = try NIOSSLContext(configuration: conf)
            tlsContexts.withLock { $0[k] = (files, ctx) }
            return ctx
        } catch {
            throw HTTPTransportError.tls(url: url.description, "\(error) (check tls_config: ca_file, cert_file, key_file)")
        }
    }

    /// Inode, size and mtime of each file: a rename over it or a rewrite changes them. A few
    /// `stat`s per request are nothing beside the request.
    private func fileStamps(_ paths: [String?]) -> String {
        paths.map { p -> String in
            guard let p else { return "-" }
            var st = stat()
            guard stat(p, &st) == 0 else { return "missing" }
            #if canImport(Darwin)
            let m = st.st_mtimespec
            #else
            let m = st.st_mtim
            #endif
            return "\(st.st_ino):\(st.st_size):\(m.tv_sec).\(m.tv_nsec)"
        }.joined(separator: "|")
    }

    private func connect(_ url: HTTPURL, tls: NIOSSLContext?, tlsConfig: TLSConfig, deadline: NIODeadline,
                         timeoutMs: Int64) async throws -> any Channel {
        let remaining = deadline - .now()
        let limit = maxResponseBytes
        // SNI and hostname verification use server_name when set, else the URL's host; IP
        // literals are not valid SNI names, so they are verified against the certificate's IPs.
        let sni = tlsConfig.serverName ?? (url.isIPv6Literal || url.host.allSatisfy { $0.isNumber || $0 == "." } ? nil : url.host)
        let bootstrap = ClientBootstrap(group: group)
            // tcpOption: `.socketOption(.tcp_nodelay)` sets SO_DEBUG, refused to non-root users.
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(max(remaining, .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ClientExchangeHandler(maxBodyBytes: limit))
                }
            }
        do {
            return try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch ChannelError.connectTimeout {
            throw HTTPTransportError.timeout(url: url.description, milliseconds: timeoutMs)
        } catch {
            throw HTTPTransportError.connect(url: url.description, "\(error)")
        }
    }

    private func exchange(_ channel: any Channel, _ head: HTTPRequestHead, _ body: ByteBuffer, _ url: HTTPURL, _ key: String,
                          _ deadline: NIODeadline, _ timeoutMs: Int64, reused: Bool = true) async throws -> HTTPResponse {
        let promise = channel.eventLoop.makePromise(of: ClientExchangeResult.self)
        let timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(ClientExchangeError.timeout)
            channel.close(promise: nil)
        }
        channel.writeAndFlush(ClientExchange(head: head, body: body, promise: promise), promise: nil)
        let result: ClientExchangeResult
        do {
            result = try await promise.futureResult.get()
            timeout.cancel()
        } catch {
            timeout.cancel()
            channel.close(promise: nil)
            switch error {
            case ClientExchangeError.timeout:
                throw ExchangeFailure(error: .timeout(url: url.description, milliseconds: timeoutMs), beforeResponse: false, reused: reused)
            case ClientExchangeError.closed(let gotHead):
                throw ExchangeFailure(error: .connectionClosed(url: url.description), beforeResponse: !gotHead, reused: reused)
            case ClientExchangeError.tooLarge:
                throw ExchangeFailure(error: .responseTooLarge(url: url.description, limit: maxResponseBytes), beforeResponse: false, reused: reused)
            default:
                let failure: HTTPTransportError = TLSAlerts.explain(error).map { .tls(url: url.description, $0) }
                    ?? .io(url: url.description, "\(error)")
                throw ExchangeFailure(error: failure, beforeResponse: false, reused: reused)
            }
        }
        if result.keepAlive && head.isKeepAlive { release(channel, key) } else { channel.close(promise: nil) }
        return HTTPResponse(status: Int(result.head.status.code),
                            headers: result.head.headers.map { (name: $0.name, value: $0.value) },
                            body: result.body)
    }
}

public enum EdgeScraperVersion {
    public static let current = "0.1.0"
}

private struct ExchangeFailure: Error {
    var error: HTTPTransportError
    var beforeResponse: Bool
    var reused: Bool
}

struct ClientExchangeResult: Sendable {
    var head: HTTPResponseHead
    var body: [UInt8]
    var keepAlive: Bool
}

enum ClientExchangeError: Error {
    case timeout
    case closed(gotHead: Bool)
    case tooLarge
}

/// One request and the promise its response completes; written into the channel so the
/// handler, which lives on the event loop, owns all per-exchange state.
struct ClientExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var promise: EventLoopPromise<ClientExchangeResult>
}

final class ClientExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ClientExchange
    typealias OutboundOut = HTTPClientRequestPart

    private let maxBodyBytes: Int
    private var pending: EventLoopPromise<ClientExchangeResult>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ex = unwrapOutboundIn(data)
        pending = ex.promise
        head = nil
        body = []
        context.write(wrapOutboundOut(.head(ex.head)), promise: nil)
        if ex.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(ex.body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            // 1xx informational responses precede the real one.
            if h.status.code >= 100 && h.status.code < 200 { return }
            head = h
            // One allocation of the announced size instead of doubling through it (a scrape body
            // is ~100 KB; every outgrown buffer was a large malloc and free).
            if let n = h.headers.first(name: "Content-Length").flatMap({ Int($0) }), n > 0, n <= maxBodyBytes {
                body.reserveCapacity(n)
            }
        case .body(let b):
            guard head != nil else { return }
            if body.count + b.readableBytes > maxBodyBytes {
                fail(ClientExchangeError.tooLarge)
                context.close(promise: nil)
                return
            }
            // Straight from NIO's buffer, without an intermediate array per chunk.
            b.withUnsafeReadableBytes { body.append(contentsOf: $0) }
        case .end:
            guard let h = head, let p = pending else { return }
            pending = nil
            head = nil
            let result = ClientExchangeResult(head: h, body: body, keepAlive: h.isKeepAlive)
            body = []
            p.succeed(result)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ClientExchangeError.closed(gotHead: head != nil))
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error) {
        if let p = pending {
            pending = nil
            p.fail(error)
        }
    }
}

private let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

func base64(_ s: String) -> String {
    let bytes = Array(s.utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i < bytes.count {
        let b0 = UInt32(bytes[i])
        let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
        let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
        let n = b0 << 16 | b1 << 8 | b2
        out.append(base64Alphabet[Int(n >> 18 & 63)])
        out.append(base64Alphabet[Int(n >> 12 & 63)])
        out.append(i + 1 < bytes.count ? base64Alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
        out.append(i + 2 < bytes.count ? base64Alphabet[Int(n & 63)] : UInt8(ascii: "="))
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}
