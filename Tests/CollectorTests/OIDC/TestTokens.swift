import Crypto
import CryptoExtras
import Foundation
@testable import Collector

/// Keys and signed tokens for the verifier's unit tests. The end-to-end test gets its tokens
/// from a real provider (idpyoidc); these make the edge cases a provider never sends.
struct TestSigner {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let ec = P256.Signing.PrivateKey()
    static let issuer = "https://idp.example.test"
    static let client = "fleetscope"

    static func jwks(rsaKid: String = "r1", ecKid: String = "e1") -> [UInt8] {
        let pub = rsa.publicKey
        let p = try! pub.getKeyPrimitives(); let (n, e) = (p.modulus, p.publicExponent)
        let raw = ec.publicKey.rawRepresentation
        let json = """
            {"keys":[{"kty":"RSA","use":"sig","kid":"\(rsaKid)","n":"\(Base64URL.encode(n))","e":"\(Base64URL.encode(e))"},
            {"kty":"EC","crv":"P-256","kid":"\(ecKid)","x":"\(Base64URL.encode(raw.prefix(32)))","y":"\(Base64URL.encode(raw.suffix(32)))"},
            {"kty":"oct","kid":"h1","k":"c2VjcmV0"}]}
            """
        return Array(json.utf8)
    }

    static func claims(now: Double, _ extra: [String: Any] = [:]) -> [String: Any] {
        var c: [String: Any] = ["iss": issuer, "aud": [client], "sub": "u1", "iat": Int(now), "exp": Int(now) + 300,
                                "preferred_username": "ana", "groups": ["eu-ops"]]
        for (k, v) in extra { c[k] = v }
        return c
    }

    static func part(_ o: [String: Any]) -> String {
        Base64URL.encode(try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]))
    }

    static func token(alg: String = "RS256", kid: String? = "r1", claims: [String: Any]) -> String {
        var header: [String: Any] = ["alg": alg, "typ": "JWT"]
        if let kid { header["kid"] = kid }
        let input = part(header) + "." + part(claims)
        let sig: [UInt8]
        switch alg {
        case "RS256": sig = Array(try! rsa.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5).rawRepresentation)
        case "ES256": sig = Array(try! ec.signature(for: SHA256.hash(data: Array(input.utf8))).rawRepresentation)
        default: sig = []
        }
        return input + "." + Base64URL.encode(sig)
    }
}
