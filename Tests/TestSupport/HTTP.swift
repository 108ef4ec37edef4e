import Foundation
import RemoteWrite

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// URLSession calls against loopback servers, in the shape the tests assert on.
public enum HTTP {
    /// GET returning status and body; nil when the connection fails.
    public static func get(_ url: String, timeout: TimeInterval = 10) async -> (Int, Data)? {
        var r = URLRequest(url: URL(string: url)!)
        r.timeoutInterval = timeout
        guard let (data, resp) = try? await URLSession.shared.data(for: r) else { return nil }
        return ((resp as! HTTPURLResponse).statusCode, data)
    }

    public static func getJSON(_ url: String) async throws -> [String: Any] {
        guard let (code, data) = await get(url) else { throw TestError("GET \(url) failed to connect") }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestError("GET \(url): \(code), not JSON: \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return json
    }

    public static func post(_ url: String, body: Data, headers: [String: String]) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = "POST"
        r.httpBody = body
        r.timeoutInterval = 30
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let (data, resp) = try await URLSession.shared.data(for: r)
        return ((resp as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// The headers a remote-write 1.0 sender puts on every request.
    public static let remoteWriteHeaders: [String: String] = [
        "Content-Encoding": RemoteWriteProtocol.contentEncoding,
        "Content-Type": RemoteWriteProtocol.contentType,
        RemoteWriteProtocol.versionHeader: RemoteWriteProtocol.version,
    ]

    /// POSTs `req` as a remote-write 1.0 body (snappy-compressed protobuf); status and body text.
    public static func remoteWrite(_ url: String, _ req: WriteRequest) async throws -> (Int, String) {
        try await post(url, body: Data(WireEncoder.encodeCompressed(req)), headers: remoteWriteHeaders)
    }
}
