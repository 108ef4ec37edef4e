import Foundation
import Hummingbird
import HTTPTypes

/// The login, callback and logout routes. Open routes (no credentials yet); what they change
/// is guarded by `state` bound to the browser, and logout by the same-origin check.
extension SingleSignOn {
    func register(on group: RouterGroup<CollectorContext>) {
        group.get("/oidc/login") { request, _ in await self.startLogin(request) }
        group.get("/oidc/callback") { request, _ in await self.callback(request) }
        group.post("/logout") { request, _ in await self.logout(request) }
        group.get("/oidc/logged-out") { _, _ in OIDCPages.signedOut(continueTo: nil) }
    }

    private func startLogin(_ request: Request) async -> Response {
        let metadata: ProviderMetadata
        do { metadata = try await provider.discovered() } catch {
            logger.error("single sign-on: \(error)")
            return OIDCPages.failed(503, "The identity provider cannot be reached right now; retry in a moment.")
        }
        let next = request.uri.queryParameters["next"].map(String.init)
        let redirect = redirectURI(for: request)
        let (state, login) = pending.start(next: next ?? "/", redirectURI: redirect)
        let url = CodeFlow.authorizationURL(endpoint: metadata.authorizationEndpoint, clientID: options.clientID, redirectURI: redirect,
                                            scopes: options.scopes, state: state, nonce: login.nonce, verifier: login.verifier)
        var r = Response(status: .found, headers: [.location: url, .cacheControl: "no-store"])
        r.headers[.setCookie] = setCookie(Self.bindingCookie, login.binding, maxAge: Int(PendingLogins.lifetime))
        return r
    }

    private func callback(_ request: Request) async -> Response {
        let q = request.uri.queryParameters
        if let error = q["error"] {
            return OIDCPages.failed(401, "The identity provider refused the sign-in: \(error) \(q["error_description"].map(String.init) ?? "")")
        }
        guard let state = q["state"].map(String.init), let code = q["code"].map(String.init),
              let login = pending.finish(state: state, binding: Self.cookie(Self.bindingCookie, in: request)) else {
            return OIDCPages.failed(400, "This sign-in link is unknown, expired, already used, or was started in another browser.")
        }
        do {
            let tokens = try await provider.exchange(code: code, verifier: login.verifier, redirectURI: login.redirectURI)
            var claims = try await provider.verify(tokens.idToken, nonce: login.nonce).claims
            if provider.groups(in: claims) == nil, let access = tokens.accessToken,
               let info = try await provider.userinfo(accessToken: access), info["sub"] == claims["sub"] {
                claims.merge(info) { own, _ in own }
            }
            let name = OIDCProvider.userName(claims)
            let groups = provider.groups(in: claims) ?? []
            guard let grant = groupRoles.grant(groups: groups) else {
                logger.warning("single sign-on: \(LogText.quoted(name)) is in no mapped group (\(groups.map(LogText.quoted).joined(separator: ", ")))")
                return OIDCPages.noAccess(Self.noGroupMessage(user: name, groups: groups, claim: options.groupsClaim))
            }
            let id = sessions.create(user: name, groups: groups, principal: grant.principal(name: name), idToken: tokens.idToken)
            logger.info("single sign-on: \(LogText.quoted(name)) signed in as \(grant.role.rawValue)")
            var r = Response(status: .seeOther, headers: [.location: login.next, .cacheControl: "no-store"])
            r.headers.append(HTTPField(name: .setCookie, value: setCookie(Self.sessionCookie, id, maxAge: nil)))
            r.headers.append(HTTPField(name: .setCookie, value: setCookie(Self.markerCookie, "1", maxAge: nil, httpOnly: false)))
            r.headers.append(HTTPField(name: .setCookie, value: setCookie(Self.bindingCookie, "", maxAge: 0)))
            return r
        } catch let e as JWTError {
            logger.warning("single sign-on refused: \(e)")
            return OIDCPages.failed(401, "The identity provider's answer was refused: \(e)")
        } catch {
            logger.error("single sign-on: \(error)")
            return OIDCPages.failed(503, "The identity provider cannot be reached right now; retry in a moment.")
        }
    }

    private func logout(_ request: Request) async -> Response {
        if isCrossSite(request) { return AuthResponses.text(403, "cross-site request refused") }
        let ended = Self.cookie(Self.sessionCookie, in: request).flatMap { sessions.end($0) }
        var next: String?
        if let ended, let end = try? await provider.discovered().endSessionEndpoint {
            let callback = redirectURI(for: request)
            let back = (callback.hasSuffix("/oidc/callback") ? String(callback.dropLast("/oidc/callback".count)) : origin(of: request))
                + "/oidc/logged-out"
            next = end + (end.contains("?") ? "&" : "?") + FormEncoding.encode([
                ("id_token_hint", ended.idToken), ("client_id", options.clientID), ("post_logout_redirect_uri", back),
            ])
        }
        var r = OIDCPages.signedOut(continueTo: next)
        for c in [Self.sessionCookie, Self.markerCookie] {
            r.headers.append(HTTPField(name: .setCookie, value: setCookie(c, "", maxAge: 0, httpOnly: c != Self.markerCookie)))
        }
        return r
    }
}
