import Crypto
import CryptoExtras
import Foundation

/// One public signing key of the provider, from its JWKS (RFC 7517), bound to the algorithms
/// its type allows. The algorithm a token names must fit the key: a token cannot choose `none`,
/// an HMAC keyed with the public key, or a curve the key is not on.
struct JWK: Sendable {
    enum Key: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    let keyID: String?
    let key: Key
    /// The key's own `alg`, when the provider pins it.
    let algorithm: String?

    static let rsaAlgorithms: Set<String> = ["RS256", "RS384", "RS512"]

    /// nil for keys we do not use: encryption keys (`use: enc`), symmetric or unknown types,
    /// other curves, RSA keys under 2048 bits. The others in the set still work.
    init?(_ json: [String: JSONValue]) {
        if let use = json["use"] { guard use == .string("sig") else { return nil } }
        algorithm = json["alg"]?.stringValue
        keyID = json["kid"]?.stringValue
        switch json["kty"]?.stringValue {
        case "RSA":
            guard let n = json["n"]?.stringValue.flatMap(Base64URL.decode), let e = json["e"]?.stringValue.flatMap(Base64URL.decode),
                  let k = try? _RSA.Signing.PublicKey(n: n, e: e) else { return nil }
            if let algorithm, !Self.rsaAlgorithms.contains(algorithm) { return nil }
            key = .rsa(k)
        case "EC":
            guard json["crv"]?.stringValue == "P-256", let x = json["x"]?.stringValue.flatMap(Base64URL.decode),
                  let y = json["y"]?.stringValue.flatMap(Base64URL.decode), x.count == 32, y.count == 32,
                  let k = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
            if let algorithm, algorithm != "ES256" { return nil }
            key = .p256(k)
        default:
            return nil
        }
    }

    /// Whether `signature` over `input` is valid under `alg` with this key. Any algorithm this
    /// key type does not do (none, HS*, PS*, another curve) is false, never a fallback.
    func verifies(alg: String, input: [UInt8], signature: [UInt8]) -> Bool {
        if let algorithm, algorithm != alg { return false }
        switch (key, alg) {
        case (.rsa(let k), "RS256"): return k.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let k), "RS384"): return k.isValidSignature(.init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let k), "RS512"): return k.isValidSignature(.init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.p256(let k), "ES256"):
            // JWS carries ECDSA signatures as r||s (RFC 7518 §3.4), not DER.
            guard signature.count == 64, let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(s, for: SHA256.hash(data: input))
        default: return false
        }
    }
}

/// A JWK Set document: `{"keys": [...]}`.
struct JWKSet: Sendable {
    let keys: [JWK]

    init(json bytes: [UInt8]) throws(JWTError) {
        guard case .object(let o)? = JSONValue.parse(bytes), case .array(let list)? = o["keys"] else {
            throw .malformed("the JWKS is not a JSON object with a keys array")
        }
        keys = list.compactMap { $0.objectValue.flatMap(JWK.init) }
    }

    /// Keys a token with this `kid` may be checked against: the one with that id or, when the
    /// token names none, every key (providers with one key often omit kids).
    func candidates(keyID: String?) -> [JWK] {
        guard let keyID else { return keys }
        return keys.filter { $0.keyID == keyID }
    }
}
