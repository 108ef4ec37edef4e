import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP(S) form POST (or GET) on SwiftNIO, as AlertPoster does, for the remote query backend.
/// SwiftNIO rather than async-http-client: it is already linked in (with BoringSSL for https),
/// so no new package enters Package.swift and the binary. A fresh connection per request
/// costs one loopback/LAN handshake next to a query that takes milliseconds to seconds;
/// a pool is the first thing to add if that shows in latency.
enum RemoteHTTP {
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

    /// POSTs `form` (already URL-encoded) to `url` with `headers`, or with `get` sends it as the
    /// query string (Prometheus takes label values by GET only); the whole exchange, connect
    /// included, is bounded by `timeout`, and the answer by `maxBytes`.
    static func postForm(url: String, form: String, get: Bool = false, headers extra: [(String, String)], timeout: Duration,
                         maxBytes: Int) async throws -> Response {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty else { throw Failure.invalidURL(url) }
        let started = ContinuousClock.now
        let https = scheme == "https"
        let port = u.port ?? (https ? 443 : 80)
        var target = u.path.isEmpty ? "/" : u.path
        if let q = u.query { target += "?" + q }
        if get && !form.isEmpty { target += (u.query == nil ? "?" : "&") + form }
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
        // Closing the channel ends the response stream below, so a silent backend costs at most the timeout.
        let timer = channel.channel.eventLoop.scheduleTask(in: .milliseconds(ms)) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }
        let body = get ? [] : Array(form.utf8)

        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: u.port.map { "\(host):\($0)" } ?? host)
                if !get {
                    headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                    headers.add(name: "Content-Length", value: String(body.count))
                }
                headers.add(name: "User-Agent", value: "Fleetscope")
                headers.add(name: "Accept", value: "application/json")
                headers.add(name: "Connection", value: "close")
                if let user = u.user {
                    let cred = Array("\(user):\(u.password ?? "")".utf8)
                    headers.add(name: "Authorization", value: "Basic " + Data(cred).base64EncodedString())
                }
                for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: get ? .GET : .POST, uri: target, headers: headers)))
                if !get { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))

                var status: Int?
                var text: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let h): status = Int(h.status.code)
                    case .body(let b):
                        guard text.count + b.readableBytes <= maxBytes else { throw Failure.tooLarge(maxBytes) }
                        text += b.readableBytesView
                    case .end:
                        guard let status else { throw Failure.closedEarly }
                        return Response(status: status, body: text)
                    }
                }
                throw ContinuousClock.now >= started + timeout ? Failure.timedOut(timeout) : Failure.closedEarly
            }
        } onCancel: {
            // Shutdown or a client gone: stop waiting for the backend now.
            channel.channel.close(promise: nil)
        }
    }

    /// `application/x-www-form-urlencoded` of name/value pairs (repeated names allowed, for `match[]`).
    static func formEncode(_ pairs: [(String, String)]) -> String {
        func enc(_ s: String) -> String {
            var out = ""
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    out.unicodeScalars.append(Unicode.Scalar(b))
                default:
                    out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
                }
            }
            return out
        }
        return pairs.map { enc($0.0) + "=" + enc($0.1) }.joined(separator: "&")
    }
}
