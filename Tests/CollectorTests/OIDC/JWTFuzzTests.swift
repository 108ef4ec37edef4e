import Foundation
import Testing
import TestSupport
@testable import Collector

/// Malformed tokens and key sets never crash the parsers, and no mutation of a signed token
/// is accepted: each case is checked with a fixed seed, so a failure reproduces.
@Suite struct JWTFuzzTests {
    let now = 1_800_000_000.0

    @Test func mutatedTokensAreRefusedNeverCrash() throws {
        var rng = SplitMix(seed: 14)
        let verifier = TokenVerifier(issuer: TestSigner.issuer, clientID: TestSigner.client)
        let keys = try JWKSet(json: TestSigner.jwks())
        let good = TestSigner.token(claims: TestSigner.claims(now: now))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/{}\" \u{0}é")
        var accepted = 0
        for i in 0..<3000 {
            var chars = Array(good)
            switch i % 4 {
            case 0: chars[rng.int(chars.count)] = alphabet[rng.int(alphabet.count)]
            case 1: chars.removeSubrange(rng.int(chars.count)..<chars.count)
            case 2: chars.insert(alphabet[rng.int(alphabet.count)], at: rng.int(chars.count))
            default: chars = (0..<rng.int(200)).map { _ in alphabet[rng.int(alphabet.count)] }
            }
            let token = String(chars)
            guard let jwt = try? JWT(compact: token) else { continue }
            if (try? verifier.checkSignature(jwt, keys: keys)) != nil, (try? verifier.checkClaims(jwt, now: now, nonce: nil)) != nil {
                // Only a mutation that decodes to the same bytes (base64 slack in the last character) may pass.
                #expect(jwt.signingInput == Array(good.split(separator: ".").prefix(2).joined(separator: ".").utf8) || token == good,
                        "accepted a changed token: \(token)")
                accepted += 1
            }
        }
        #expect(accepted < 3000)
    }

    @Test func randomAndMutatedJSONNeverCrash() {
        var rng = SplitMix(seed: 7)
        let seeds = [String(decoding: TestSigner.jwks(), as: UTF8.self),
                     #"{"issuer":"x","jwks_uri":"http://a/b","authorization_endpoint":1,"keys":[{"kty":"RSA","n":"","e":""}]}"#,
                     #"{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"},{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#]
        let pieces = Array("{}[]\",:0123456789.eE-+truefalsnl \\u\u{0}abcxyz")
        for i in 0..<3000 {
            var text = Array(seeds[i % seeds.count])
            for _ in 0..<(1 + rng.int(4)) {
                let at = rng.int(text.count + 1)
                switch rng.int(3) {
                case 0 where at < text.count: text[at] = pieces[rng.int(pieces.count)]
                case 1 where at < text.count: text.remove(at: at)
                default: text.insert(pieces[rng.int(pieces.count)], at: at)
                }
            }
            let bytes = Array(String(text).utf8)
            _ = try? JWKSet(json: bytes)
            _ = try? ProviderMetadata(json: bytes, expectedIssuer: "x")
            let token = Base64URL.encode(Array(#"{"alg":"RS256"}"#.utf8)) + "." + Base64URL.encode(bytes) + ".AAAA"
            _ = try? JWT(compact: token)
        }
        // Deep nesting and huge inputs are refused, not a stack overflow.
        let deep = Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        _ = JSONValue.parse(deep)
        #expect(throws: JWTError.self) { try JWT(compact: String(repeating: "a", count: JWT.maxLength + 1)) }
        #expect(Base64URL.decode("a") == nil && Base64URL.decode("ab==") == nil && Base64URL.decode("a+b/") == nil)
    }
}
