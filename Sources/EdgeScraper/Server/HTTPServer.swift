import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One request as the handler sees it: the whole body already read.
public struct ServerRequest: Sendable {
    public var method: String
    /// The request target as sent: path plus `?query`.
    public var uri: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var path: Substring { uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

public struct ServerResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> ServerResponse {
        ServerResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}

public typealias HTTPHandler = @Sendable (ServerRequest) async -> ServerResponse

/// A small HTTP/1.1 server: the scraper's own endpoints, and loopback peers in tests.
public final class HTTPServer: Sendable {
    public let host: String
    public let port: Int
    private let channel: any Channel

    private init(host: String, port: Int, channel: any Channel) {
        self.host = host
        self.port = port
        self.channel = channel
    }

    /// `port` 0 picks a free port; read it back from `port`.
    public static func start(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             maxBodyBytes: Int = 64 << 20, tls: NIOSSLContext? = nil,
                             handler: @escaping HTTPHandler) async throws -> HTTPServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // tcpOption, not socketOption: the latter means SOL_SOCKET, where 1 is SO_DEBUG,
            // which only root may set (connections failed with EACCES as any other user).
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        ServerConnectionHandler(maxBodyBytes: maxBodyBytes, handler: handler))
                }
            }
        let ch: any Channel
        do {
            ch = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw HTTPServerError.bind("\(host):\(port)", "\(error)")
        }
        return HTTPServer(host: host, port: ch.localAddress?.port ?? port, channel: ch)
    }

    /// Convenience for `HOST:PORT`, `[v6]:PORT`, `:PORT`.
    public static func start(listen: String, handler: @escaping HTTPHandler) async throws -> HTTPServer {
        let (h, p) = try parseListenAddress(listen)
        return try await start(host: h, port: p, handler: handler)
    }

    public var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    /// TLS server contexts for `start(tls:)` from PEM files.
    public static func tlsContext(certFile: String, keyFile: String) throws -> NIOSSLContext {
        let conf = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
        return try NIOSSLContext(configuration: conf)
    }

    public func stop() async {
        try? await channel.close()
    }
}

public enum HTTPServerError: Error, CustomStringConvertible, Sendable {
    case bind(String, String)
    case badListenAddress(String)

    public var description: String {
        switch self {
        case .bind(let a, let why): return "cannot listen on \(a): \(why) (is another process using the port?)"
        case .badListenAddress(let a): return "listen address \"\(a)\" is not HOST:PORT (e.g. 127.0.0.1:9491 or [::1]:9491)"
        }
    }
}

public func parseListenAddress(_ s: String) throws(HTTPServerError) -> (host: String, port: Int) {
    guard let colon = s.lastIndex(of: ":") else { throw .badListenAddress(s) }
    var host = String(s[..<colon])
    guard let port = Int(s[s.index(after: colon)...]), port >= 0, port < 65536 else { throw .badListenAddress(s) }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if host.isEmpty { host = "0.0.0.0" }
    return (host, port)
}

final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxBodyBytes: Int
    private let handler: HTTPHandler
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(maxBodyBytes: Int, handler: @escaping HTTPHandler) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
        case .body(var b):
            if body.count + b.readableBytes > maxBodyBytes { tooLarge = true; body = [] }
            if !tooLarge { body.append(contentsOf: b.readBytes(length: b.readableBytes) ?? []) }
        case .end:
            guard let h = head else { return }
            head = nil
            let keepAlive = h.isKeepAlive
            let channel = context.channel
            if tooLarge {
                Self.respond(channel, .text(413, "request body exceeds \(maxBodyBytes) bytes\n"), keepAlive: false, version: h.version)
                return
            }
            let req = ServerRequest(method: h.method.rawValue, uri: h.uri,
                                    headers: h.headers.map { (name: $0.name, value: $0.value) }, body: body)
            body = []
            Self.dispatch(handler, req, channel, keepAlive: keepAlive, version: h.version)
        }
    }

    private static func dispatch(_ handler: @escaping HTTPHandler, _ req: ServerRequest, _ channel: any Channel,
                                 keepAlive: Bool, version: HTTPVersion) {
        Task {
            let resp = await handler(req)
            // HEAD gets the GET headers (Content-Length included) without the body.
            var r = resp
            if req.method == "HEAD" {
                r.headers.append(("Content-Length", String(r.body.count)))
                r.body = []
            }
            respond(channel, r, keepAlive: keepAlive, version: version)
        }
    }

    private static func respond(_ channel: any Channel, _ resp: ServerResponse, keepAlive: Bool, version: HTTPVersion) {
        var headers = HTTPHeaders()
        for (n, v) in resp.headers { headers.add(name: n, value: v) }
        if !headers.contains(name: "Content-Length") { headers.add(name: "Content-Length", value: String(resp.body.count)) }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: resp.status), headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        if !resp.body.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: resp.body))), promise: nil)
        }
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
