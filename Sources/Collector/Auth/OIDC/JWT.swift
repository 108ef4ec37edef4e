import Foundation

/// A JWS in compact serialization (`header.payload.signature`), parsed but not yet trusted:
/// `TokenVerifier` checks the signature against the provider's keys and then the claims.
struct JWT: Sendable {
    /// The protected header's `alg` and `kid`.
    let algorithm: String
    let keyID: String?
    /// The payload's claims as JSON values (strings, numbers, arrays, objects).
    let claims: [String: JSONValue]
    /// `header.payload` as sent: what the signature covers.
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// Tokens from providers are a few KiB; anything far larger is not one.
    static let maxLength = 64 * 1024

    init(compact token: String) throws(JWTError) {
        guard token.utf8.count <= Self.maxLength else { throw .malformed("longer than \(Self.maxLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        // Five parts would be a JWE (encrypted): not accepted here.
        guard parts.count == 3 else { throw .malformed("a JWS has three dot-separated parts, this has \(parts.count)") }
        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]) else { throw .malformed("a part is not base64url") }
        guard case .object(let header)? = JSONValue.parse(headerBytes) else { throw .malformed("the header is not a JSON object") }
        guard case .object(let claims)? = JSONValue.parse(payloadBytes) else { throw .malformed("the payload is not a JSON object") }
        guard case .string(let alg)? = header["alg"] else { throw .malformed("the header has no alg") }
        // `crit` names extensions the verifier must understand; we understand none.
        guard header["crit"] == nil else { throw .malformed("the header has crit extensions") }
        if let kid = header["kid"] {
            guard case .string(let k) = kid else { throw .malformed("kid is not a string") }
            keyID = k
        } else {
            keyID = nil
        }
        algorithm = alg
        self.claims = claims
        signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        self.signature = signature
    }

    func string(_ name: String) -> String? {
        if case .string(let s)? = claims[name] { return s }
        return nil
    }

    /// NumericDate claims (`exp`, `iat`, `nbf`): seconds since the epoch, fractions allowed.
    func date(_ name: String) -> Double? {
        if case .number(let n)? = claims[name], n.isFinite { return n }
        return nil
    }

    /// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
    var audiences: [String] {
        switch claims["aud"] {
        case .string(let s)?: return [s]
        case .array(let a)?: return a.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        default: return []
        }
    }
}

enum JWTError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case refused(String)

    var description: String {
        switch self {
        case .malformed(let why): return "malformed token: \(why)"
        case .refused(let why): return "token refused: \(why)"
        }
    }
}

/// JSON as the token and key formats need it: `Sendable`, exhaustively switchable, decoded by
/// Foundation's strict JSONDecoder (a bool is never read as a number or the other way round).
enum JSONValue: Sendable, Equatable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
}
