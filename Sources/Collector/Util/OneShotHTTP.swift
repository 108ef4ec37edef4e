import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP(S) request on SwiftNIO over a fresh connection, for the collector's occasional
/// outbound calls: alert notifications, remote-backend queries, the OIDC provider. NIO and
/// BoringSSL are already linked in for the listener; URLSession on Linux would drag libcurl with
/// GnuTLS, Kerberos and LDAP into the binary. (The forward sender, which posts continuously,
/// uses async-http-client for its pooled connections.) The whole exchange, connect included,
/// is bounded by `timeout`, and task cancellation closes the connection at once.
enum OneShotHTTP {
    struct Response: Sendable {
        let status: Int
        let body: [UInt8]
    }

    enum Failure: Error, CustomStringConvertible {
        case invalidURL(String)
        /// Nothing answered: connection refused, no route, DNS.
        case unreachable(String)
        case timedOut(Duration)
        case closedEarly
        case tooLarge(Int)

        var description: String {
            switch self {
            case .invalidURL(let u): return "invalid URL \(u)"
            case .unreachable(let why): return "unreachable: \(why)"
            case .timedOut(let d): return "no answer within \(d)"
            case .closedEarly: return "connection closed before a complete response"
            case .tooLarge(let n): return "answer larger than \(n) bytes"
            }
        }
    }

    /// What happens to an answer longer than `maxBytes`: refused (a query result cut short
    /// would be wrong), or cut (a notifier's receiver answer is only logged).
    enum Overflow { case fail, truncate }

    /// `query` is appended to the URL's own query string. A URL's user info becomes Basic auth;
    /// `headers` replace same-named defaults.
    static func request(_ method: HTTPMethod, _ url: String, query: String = "", headers extra: [(String, String)] = [],
                        body: [UInt8] = [], timeout: Duration, maxBytes: Int, overflow: Overflow = .fail) async throws -> Response {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty else { throw Failure.invalidURL(url) }
        let started = ContinuousClock.now
        let https = scheme == "https"
        let port = u.port ?? (https ? 443 : 80)
        var target = u.path.isEmpty ? "/" : u.path
        if let q = u.query { target += "?" + q }
        if !query.isEmpty { target += (u.query == nil ? "?" : "&") + query }
        // IP literals are no valid SNI names; BoringSSL then verifies the certificate's IPs.
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let tls = https ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let ms = Swift.max(1, Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))

        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(ms))
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
        } catch {
            throw Failure.unreachable("\(error)")
        }
        // Closing the channel ends the response stream below, so a silent peer costs at most the timeout.
        let timer = channel.channel.eventLoop.scheduleTask(in: .milliseconds(ms)) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }

        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: u.port.map { "\(host):\($0)" } ?? host)
                if method != .GET { headers.add(name: "Content-Length", value: String(body.count)) }
                headers.add(name: "User-Agent", value: "Fleetscope")
                headers.add(name: "Connection", value: "close")
                if let user = u.user {
                    let cred = Array("\(user):\(u.password ?? "")".utf8)
                    headers.add(name: "Authorization", value: "Basic " + Data(cred).base64EncodedString())
                }
                for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)))
                if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))

                var status: Int?
                var data: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let h): status = Int(h.status.code)
                    case .body(let b):
                        if data.count + b.readableBytes <= maxBytes {
                            data += b.readableBytesView
                        } else if overflow == .truncate {
                            data += b.readableBytesView.prefix(maxBytes - data.count)
                        } else {
                            throw Failure.tooLarge(maxBytes)
                        }
                    case .end:
                        guard let status else { throw Failure.closedEarly }
                        return Response(status: status, body: data)
                    }
                }
                // The stream ended without `.end`: our timer closed it, or the peer hung up.
                throw ContinuousClock.now >= started + timeout ? Failure.timedOut(timeout) : Failure.closedEarly
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
