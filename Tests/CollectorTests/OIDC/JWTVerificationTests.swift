import Crypto
import CryptoExtras
import Foundation
import Logging
import Testing
@testable import Collector

@Suite struct JWTVerificationTests {
    let now = 1_800_000_000.0
    let verifier = TokenVerifier(issuer: TestSigner.issuer, clientID: TestSigner.client)
    let keys = try! JWKSet(json: TestSigner.jwks())

    func check(_ token: String, nonce: String? = nil) throws {
        let jwt = try JWT(compact: token)
        try verifier.checkSignature(jwt, keys: keys)
        try verifier.checkClaims(jwt, now: now, nonce: nonce)
    }

    @Test func rs256AndES256FromTheKeySetVerify() throws {
        try check(TestSigner.token(claims: TestSigner.claims(now: now)))
        try check(TestSigner.token(alg: "ES256", kid: "e1", claims: TestSigner.claims(now: now)))
        // No kid: every key is tried.
        try check(TestSigner.token(kid: nil, claims: TestSigner.claims(now: now)))
        #expect(keys.keys.count == 2, "the symmetric key in the set must be ignored")
    }

    @Test func algNoneIsRefused() {
        let t = TestSigner.part(["alg": "none"]) + "." + TestSigner.part(TestSigner.claims(now: now)) + "."
        #expect(throws: JWTError.refused("algorithm none is not accepted")) { try check(t) }
    }

    /// The classic confusion: HS256 keyed with the provider's public key (which anyone has).
    @Test func hmacWithThePublicKeyIsRefused() throws {
        let n = try TestSigner.rsa.publicKey.getKeyPrimitives().modulus
        for keyBytes in [Array(n), Array(TestSigner.rsa.publicKey.pemRepresentation.utf8), Array(TestSigner.jwks())] {
            for kid in ["r1", "h1"] {
                let input = TestSigner.part(["alg": "HS256", "kid": kid]) + "." + TestSigner.part(TestSigner.claims(now: now))
                let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: keyBytes))
                #expect(throws: JWTError.self) { try check(input + "." + Base64URL.encode(mac)) }
            }
        }
    }

    @Test func anAlgorithmTheKeyDoesNotDoIsRefused() {
        // An RS256 signature presented as ES256 under the RSA key's kid, and the other way round.
        let rs = TestSigner.token(claims: TestSigner.claims(now: now)).split(separator: ".")
        let relabelled = TestSigner.part(["alg": "ES256", "kid": "r1"]) + "." + rs[1] + "." + rs[2]
        #expect(throws: JWTError.refused("bad signature")) { try check(relabelled) }
        #expect(throws: JWTError.refused("bad signature")) { try check(TestSigner.token(alg: "ES256", kid: "r1", claims: TestSigner.claims(now: now))) }
    }

    @Test func aTamperedPayloadOrUnknownKeyIsRefused() {
        let t = TestSigner.token(claims: TestSigner.claims(now: now)).split(separator: ".").map(String.init)
        let forged = t[0] + "." + TestSigner.part(TestSigner.claims(now: now, ["groups": ["platform"]])) + "." + t[2]
        #expect(throws: JWTError.refused("bad signature")) { try check(forged) }
        #expect(throws: JWTError.self) { try check(TestSigner.token(kid: "rotated-away", claims: TestSigner.claims(now: now))) }
    }

    @Test func claimsAreChecked() {
        let cases: [([String: Any], String)] = [
            (["iss": "https://evil.example"], "issuer"), (["aud": ["grafana"]], "audience"), (["aud": "other"], "audience"),
            (["exp": Int(now) - 120], "expired"), (["iat": Int(now) + 600], "future"), (["iat": Int(now) - 90_000, "exp": Int(now) + 60], "too long ago"),
            (["nbf": Int(now) + 600], "not valid yet"), (["sub": ""], "sub"), (["aud": [TestSigner.client, "x"], "azp": "x"], "authorized party"),
        ]
        for (extra, why) in cases {
            #expect(throws: JWTError.self, "\(why)") { try check(TestSigner.token(claims: TestSigner.claims(now: now, extra))) }
        }
        var noExp = TestSigner.claims(now: now); noExp["exp"] = nil
        #expect(throws: JWTError.refused("no exp")) { try check(TestSigner.token(claims: noExp)) }
        // Within the clock skew is fine; a string aud is fine.
        #expect(throws: Never.self) { try check(TestSigner.token(claims: TestSigner.claims(now: now, ["exp": Int(now) - 30, "aud": TestSigner.client]))) }
    }

    /// Grafana's own client forwarding the user's token: taken on the API when listed, never at login.
    @Test func listedAudiencesOnlyForBearerTokens() throws {
        var v = verifier
        v.extraAudiences = ["grafana"]
        let jwt = try JWT(compact: TestSigner.token(claims: TestSigner.claims(now: now, ["aud": ["grafana"], "nonce": "n"])))
        try v.checkClaims(jwt, now: now, nonce: nil)
        #expect(throws: JWTError.self) { try v.checkClaims(jwt, now: now, nonce: "n") }
        #expect(throws: JWTError.self) { try verifier.checkClaims(jwt, now: now, nonce: nil) }
        let other = try JWT(compact: TestSigner.token(claims: TestSigner.claims(now: now, ["aud": [TestSigner.client, "x"], "azp": "grafana"])))
        try v.checkClaims(other, now: now, nonce: nil)
        #expect(throws: JWTError.self) { try verifier.checkClaims(other, now: now, nonce: nil) }
    }

    @Test func cookiesAreHttpOnlyLaxAndSecureUnderTLS() {
        let opts = OIDCOptions(issuer: TestSigner.issuer, clientID: TestSigner.client, clientSecret: "s")
        let tls = SingleSignOn(options: opts, groupRoles: GroupRoles(), secureCookies: true, externalURL: nil, logger: .init(label: "t"))
        let plain = SingleSignOn(options: opts, groupRoles: GroupRoles(), secureCookies: false, externalURL: nil, logger: .init(label: "t"))
        #expect(tls.setCookie("fs_session", "v", maxAge: nil) == "fs_session=v; Path=/; SameSite=Lax; HttpOnly; Secure")
        #expect(plain.setCookie("fs_session", "v", maxAge: nil) == "fs_session=v; Path=/; SameSite=Lax; HttpOnly")
        #expect(plain.setCookie("fs_signed_in", "", maxAge: 0, httpOnly: false) == "fs_signed_in=; Path=/; SameSite=Lax; Max-Age=0")
    }

    @Test func theNonceMustMatchTheLogin() throws {
        let t = TestSigner.token(claims: TestSigner.claims(now: now, ["nonce": "n-1"]))
        try check(t, nonce: "n-1")
        #expect(throws: JWTError.refused("nonce does not match the login")) { try check(t, nonce: "n-2") }
        #expect(throws: JWTError.refused("nonce does not match the login")) { try check(TestSigner.token(claims: TestSigner.claims(now: now)), nonce: "n-1") }
    }

    /// S256: base64url(SHA-256(verifier)) without padding; the value is Python hashlib's.
    @Test func pkceChallengeIsBase64URLOfSHA256() {
        #expect(CodeFlow.challenge(verifier: "dBjftJeZ4CVP-mJ92GsFj2x6oxCl0Rm7Kq5aVmbm8rw") == "_SRrFFPrEL9Hj6aXQf3Nw7CXoT54jMFQLktjkM1gzeU")
    }

    @Test func discoveryMustNameTheConfiguredIssuer() throws {
        let doc = """
            {"issuer":"https://idp.example.test","authorization_endpoint":"https://idp.example.test/auth","token_endpoint":"https://idp.example.test/token",
             "jwks_uri":"https://idp.example.test/jwks","end_session_endpoint":"https://idp.example.test/logout"}
            """
        let m = try ProviderMetadata(json: Array(doc.utf8), expectedIssuer: "https://idp.example.test")
        #expect(m.endSessionEndpoint == "https://idp.example.test/logout" && m.userinfoEndpoint == nil)
        #expect(throws: JWTError.self) { try ProviderMetadata(json: Array(doc.utf8), expectedIssuer: "https://idp.example.test/realm") }
        #expect(throws: JWTError.self) { try ProviderMetadata(json: Array("[]".utf8), expectedIssuer: "https://idp.example.test") }
    }
}
