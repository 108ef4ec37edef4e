import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP(S) POST on SwiftNIO, a fresh connection each time: the notifier sends a few small
/// JSON bodies a minute, so pooling would buy nothing. It replaces URLSession, whose Linux
/// implementation (FoundationNetworking) drags libcurl with GnuTLS, Kerberos and LDAP into the
/// collector binary; BoringSSL (NIOSSL) is already linked in for the listener.
enum AlertPoster {
    struct Response: Sendable {
        let status: Int
        let body: String
    }

    enum PostError: Error, CustomStringConvertible {
        case invalidURL(String)
        case timedOut(Int)
        case closedEarly

        var description: String {
            switch self {
            case .invalidURL(let u): return "invalid URL \(u)"
            case .timedOut(let s): return "no answer within \(s) s"
            case .closedEarly: return "connection closed before a complete response"
            }
        }
    }

    /// POSTs `body` to an http(s) URL and returns the status and the first bytes of the answer.
    /// The whole exchange, connect included, is bounded by `timeoutSeconds`.
    static func post(url: String, body: [UInt8], contentType: String, timeoutSeconds: Int = 10) async throws -> Response {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty else { throw PostError.invalidURL(url) }
        let started = ContinuousClock.now
        let https = scheme == "https"
        let port = u.port ?? (https ? 443 : 80)
        var target = u.path.isEmpty ? "/" : u.path
        if let q = u.query { target += "?" + q }
        // IP literals are no valid SNI names; BoringSSL then verifies the certificate's IPs.
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let tls = https ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil

        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(Int64(timeoutSeconds)))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        // Closing the channel ends the response stream below, so a silent receiver costs at most the timeout.
        let timer = channel.channel.eventLoop.scheduleTask(in: .seconds(Int64(timeoutSeconds))) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }

        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: u.port.map { "\(host):\($0)" } ?? host)
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "User-Agent", value: "Fleetscope")
            headers.add(name: "Connection", value: "close")
            if let user = u.user {
                let cred = Array("\(user):\(u.password ?? "")".utf8)
                headers.add(name: "Authorization", value: "Basic " + Data(cred).base64EncodedString())
            }
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))

            var status: Int?
            var text: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let h): status = Int(h.status.code)
                case .body(let b): if text.count < 300 { text += b.readableBytesView.prefix(300 - text.count) }
                case .end:
                    guard let status else { throw PostError.closedEarly }
                    return Response(status: status, body: String(decoding: text, as: UTF8.self))
                }
            }
            // The stream ended without `.end`: our timer closed it, or the peer hung up.
            throw ContinuousClock.now >= started + .seconds(timeoutSeconds) ? PostError.timedOut(timeoutSeconds) : PostError.closedEarly
        }
    }
}
