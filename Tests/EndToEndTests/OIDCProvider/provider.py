"""A real OpenID Connect provider for the end-to-end tests: IdentityPython's idpyoidc server
(discovery, JWKS, authorization code flow with PKCE, token, userinfo, RP-initiated logout), with
its own username/password login form, behind Python's standard HTTP server on loopback.

    provider.py --port P --dir DIR --client-id ID --client-secret S --redirect-uri URI --logout-uri URI
                [--access-token-lifetime SECONDS] [--opaque-access-tokens]

DIR/users.json holds the users: {"name": {"password": "...", "groups": [...]}}.
Keys are kept in DIR/private/jwks.json: removing it and restarting rotates them.
"""
import argparse
import base64
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from idpyoidc.message.oidc import AuthorizationRequest
from idpyoidc.server import Server
from idpyoidc.server.configure import OPConfiguration

LOGIN_TEMPLATE = """<!doctype html><html><head><title>{{ page_header }}</title></head><body>
<h1>{{ page_header }}</h1>
<form action="{{ action }}" method="post" id="login">
<input type="hidden" name="token" value="{{ token }}">
<label>{{ user_label }} <input id="username" name="username" autocomplete="off"></label>
<label>{{ passwd_label }} <input id="password" name="password" type="password"></label>
<button type="submit" id="submit">{{ submit_btn }}</button>
</form></body></html>
"""


def config(args, issuer):
    users = json.load(open(os.path.join(args.dir, "users.json")))
    passwd = {u: v["password"] for u, v in users.items()}
    claims = {u: {"sub": u, "preferred_username": u, "name": u, "email": u + "@example.test", "groups": v["groups"]}
              for u, v in users.items()}
    json.dump(passwd, open(os.path.join(args.dir, "passwd.json"), "w"))
    json.dump(claims, open(os.path.join(args.dir, "claims.json"), "w"))
    os.makedirs(os.path.join(args.dir, "templates"), exist_ok=True)
    open(os.path.join(args.dir, "templates", "user_pass.jinja2"), "w").write(LOGIN_TEMPLATE)
    scopes = {"openid": ["sub"], "profile": ["name", "preferred_username"], "email": ["email"], "groups": ["groups"]}
    return {
        "issuer": issuer,
        "base_url": issuer,
        "httpc_params": {"verify": False, "timeout": 4},
        "key_conf": {"private_path": "private/jwks.json", "key_defs": [{"type": "RSA", "use": ["sig"]}, {"type": "EC", "crv": "P-256", "use": ["sig"]}],
                     "read_only": False, "uri_path": "jwks.json"},
        "add_on": {"pkce": {"function": "idpyoidc.server.oauth2.add_on.pkce.add_support",
                            "kwargs": {"essential": True, "code_challenge_method": "S256"}}},
        "authentication": {"user": {
            "acr": "urn:oasis:names:tc:SAML:2.0:ac:classes:InternetProtocolPassword",
            "class": "idpyoidc.server.user_authn.user.UserPassJinja2",
            "kwargs": {"verify_endpoint": issuer + "/verify/user", "template": "user_pass.jinja2",
                       "db": {"class": "idpyoidc.server.util.JSONDictDB", "kwargs": {"filename": "passwd.json"}},
                       "page_header": "Test provider sign-in"}}},
        "template_dir": "templates",
        # Signed and encrypted session cookies (the default encrypter config leaves the sign key unset).
        "cookie_handler": {"class": "idpyoidc.server.cookie_handler.CookieHandler", "kwargs": {
            "keys": {"key_defs": [{"type": "OCT", "use": ["enc"], "kid": "enc"}, {"type": "OCT", "use": ["sig"], "kid": "sig"}]},
            "name": {"session": "oidc_op", "register": "oidc_op_rp", "session_management": "sman"}}},
        "userinfo": {"class": "idpyoidc.server.user_info.UserInfo", "kwargs": {"db_file": "claims.json"}},
        "scopes_to_claims": scopes,
        "authz": {"class": "idpyoidc.server.authz.AuthzHandling", "kwargs": {"grant_config": {
            "usage_rules": {"authorization_code": {"supports_minting": ["access_token", "id_token"], "max_usage": 1},
                            "access_token": {}},
            "expires_in": 43200}}},
        "token_handler_args": {
            "jwks_def": {"private_path": "private/token_jwks.json", "read_only": False,
                         "key_defs": [{"type": "oct", "bytes": "24", "use": ["enc"], "kid": "code"},
                                      {"type": "oct", "bytes": "24", "use": ["enc"], "kid": "token"}]},
            "code": {"kwargs": {"lifetime": 600}},
            # JWT access tokens (RFC 9068 style, ES256; ID tokens are RS256) whose audience is the client, with the groups.
            "token": {"kwargs": {"lifetime": args.access_token_lifetime}} if args.opaque_access_tokens else
                     {"class": "idpyoidc.server.token.jwt_token.JWTToken",
                      "kwargs": {"lifetime": args.access_token_lifetime, "add_claims_by_scope": True, "aud": [args.client_id]}},
            "id_token": {"class": "idpyoidc.server.token.id_token.IDToken",
                         "kwargs": {"add_claims_by_scope": True}},
        },
        "endpoint": {
            "provider_info": {"path": ".well-known/openid-configuration",
                              "class": "idpyoidc.server.oidc.provider_config.ProviderConfiguration", "kwargs": {}},
            "authorization": {"path": "authorization", "class": "idpyoidc.server.oidc.authorization.Authorization",
                              "kwargs": {"response_types_supported": ["code"], "response_modes_supported": ["query"]}},
            "token": {"path": "token", "class": "idpyoidc.server.oidc.token.Token",
                      "kwargs": {"client_authn_method": ["client_secret_basic", "client_secret_post"]}},
            "userinfo": {"path": "userinfo", "class": "idpyoidc.server.oidc.userinfo.UserInfo", "kwargs": {}},
            "end_session": {"path": "session", "class": "idpyoidc.server.oidc.session.Session",
                            "kwargs": {"logout_verify_url": issuer + "/verify_logout", "post_logout_uri_path": "post_logout",
                                       "signing_alg": "RS256"}},
        },
        "session_params": {"encrypter": {"kwargs": {"keys": {"key_defs": [
            {"type": "OCT", "use": ["enc"], "kid": "password"}, {"type": "OCT", "use": ["enc"], "kid": "salt"}]}}},
            "sub_func": {"public": {"class": "idpyoidc.server.session.manager.PublicID", "kwargs": {"salt": "fleetscope"}}}},
    }


def main():
    p = argparse.ArgumentParser()
    for a in ["port", "dir", "client-id", "client-secret", "redirect-uri", "logout-uri"]:
        p.add_argument("--" + a, required=True)
    p.add_argument("--access-token-lifetime", type=int, default=3600)
    # Opaque (encrypted, non-JWT) access tokens instead: the relying party must ask userinfo.
    p.add_argument("--opaque-access-tokens", action="store_true")
    args = p.parse_args()
    issuer = "http://127.0.0.1:%s" % args.port
    os.chdir(args.dir)
    server = Server(OPConfiguration(conf=config(args, issuer), base_path=args.dir), cwd=args.dir)
    context = server.context
    context.cdb[args.client_id] = {
        "client_id": args.client_id, "client_secret": args.client_secret, "client_salt": "salt",
        "redirect_uris": [(args.redirect_uri, {})], "post_logout_redirect_uri": [args.logout_uri],
        "token_endpoint_auth_method": "client_secret_basic", "response_types": ["code"],
        "allowed_scopes": ["openid", "profile", "email", "groups"], "client_secret_expires_at": 0,
    }
    # idpyoidc 5.0.0's end_session endpoint reads a bearer token from whatever client
    # authentication it finds (KeyError 'token' otherwise); RP-initiated logout is a browser
    # redirect that carries no client credentials (OpenID Connect RP-Initiated Logout 1.0 §2).
    server.get_endpoint("session").client_authentication = lambda *a, **k: {}
    Handler.server_ = server
    Handler.issuer = issuer
    httpd = ThreadingHTTPServer(("127.0.0.1", int(args.port)), Handler)
    print("provider listening on", issuer, flush=True)
    httpd.serve_forever()


class Handler(BaseHTTPRequestHandler):
    server_ = None
    issuer = ""

    def log_message(self, fmt, *a):
        sys.stderr.write("provider: " + (fmt % a) + "\n")

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def handle_request(self, method):
        url = urllib.parse.urlsplit(self.path)
        body = ""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        query = url.query if method == "GET" else body
        path = url.path.strip("/")
        try:
            if path == "jwks.json":
                return self.send(200, "application/json", json.dumps(self.server_.keyjar.export_jwks(issuer_id="")))
            if path == "verify/user":
                return self.verify_user(dict(urllib.parse.parse_qsl(body)))
            names = {".well-known/openid-configuration": "provider_config", "authorization": "authorization",
                     "token": "token", "userinfo": "userinfo", "session": "session"}
            if path == "verify_logout":
                return self.endpoint_call("session", dict(urllib.parse.parse_qsl(query)), verify_logout=True)
            if path not in names:
                return self.send(404, "text/plain", "no such endpoint")
            # The end_session endpoint parses a dict, the others the query or form text.
            return self.endpoint_call(names[path], dict(urllib.parse.parse_qsl(query)) if path == "session" else query)
        except Exception as e:  # the test reads this in the log
            import traceback
            traceback.print_exc()
            return self.send(500, "text/plain", "provider error: %r" % e)

    def http_info(self):
        info = {"headers": {k.lower(): v for k, v in self.headers.items()}, "method": self.command,
                "url": self.issuer + self.path}
        if "authorization" in info["headers"]:
            info["headers"]["authorization"] = self.headers["Authorization"]
        # idpyoidc's cookie values are JSON with a signature; they travel base64url-encoded.
        info["cookie"] = []
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            try:
                info["cookie"].append({"name": name, "value": base64.urlsafe_b64decode(value.encode()).decode()})
            except Exception:
                pass
        return info

    def endpoint_call(self, name, request, verify_logout=False):
        endpoint = self.server_.get_endpoint(name)
        info = self.http_info()
        if verify_logout:
            # The page where a person would confirm the logout: confirmed at once, every
            # client's session of this browser ended, then on to post_logout_redirect_uri.
            payload = endpoint.unpack_signed_jwt(request["sjwt"])
            endpoint.do_verified_logout(sid=payload["sid"], alla=True)
            self.send_response(302)
            self.send_header("Location", payload["redirect_uri"])
            self.send_header("Set-Cookie", "oidc_op=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
            self.send_header("Content-Length", "0")
            return self.end_headers()
        req = endpoint.parse_request(request, http_info=info)
        if isinstance(req, dict) and "error" in req or getattr(req, "get", lambda k: None)("error"):
            return self.send(400, "application/json", json.dumps(dict(req)))
        args = endpoint.process_request(req, http_info=info)
        if "http_response" in args:
            return self.send(200, "text/html", args["http_response"])
        if "redirect_location" in args:
            return self.redirect(args["redirect_location"])
        resp = endpoint.do_response(request=req, **args)
        return self.reply(resp)

    def verify_user(self, form):
        authz = self.server_.get_endpoint("authorization")
        broker = self.server_.context.authn_broker
        method = broker.get_method_by_id("user")
        try:
            user = method.verify(**form)
        except Exception:
            return self.send(403, "text/html", "<p id='provider-error'>wrong user name or password</p>")
        auth_args = method.unpack_token(form["token"])
        request = AuthorizationRequest().from_urlencoded(auth_args["query"])
        session_id = authz.create_session(request, user, auth_args["authn_class_ref"], auth_args["iat"], method)
        args = authz.authz_part2(request=request, session_id=session_id)
        if hasattr(args, "get") and args.get("error"):
            return self.send(400, "application/json", json.dumps(dict(args)))
        resp = authz.do_response(request=request, **args)
        return self.reply(resp)

    def reply(self, resp):
        headers = resp.get("http_headers", [])
        location = None
        ctype = "application/json"
        for k, v in headers:
            if k.lower() == "location":
                location = v
            if k.lower() == "content-type":
                ctype = v
        cookies = resp.get("cookie") or []
        if location or resp.get("response", "").startswith("http"):
            return self.redirect(location or resp["response"], cookies)
        return self.send(200, ctype, resp.get("response", ""), cookies)

    def redirect(self, to, cookies=()):
        self.send_response(302)
        self.send_header("Location", to)
        self.cookies(cookies)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def cookies(self, cookies):
        for c in cookies or []:
            if isinstance(c, dict):
                value = base64.urlsafe_b64encode(c["value"].encode()).decode()
                self.send_header("Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Lax" % (c["name"], value))

    def send(self, status, ctype, text, cookies=()):
        data = text.encode() if isinstance(text, str) else text
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.cookies(cookies)
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    main()
