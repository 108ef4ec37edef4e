import Dashboard
import Hummingbird
import HTTPTypes

/// The few pages of the login itself: no script, no style sheet, nothing from the fleet.
enum OIDCPages {
    static func page(status: Int, title: String, body: String, refreshTo: String? = nil) -> Response {
        let refresh = refreshTo.map { "<meta http-equiv=\"refresh\" content=\"0;url=\(escape($0))\">\n" } ?? ""
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">\(refresh)<title>\(escape(title)) · Fleetscope</title></head>
            <body><main><h1>\(escape(title))</h1>
            \(body)
            </main></body></html>

            """
        var r = Response(status: .init(code: status), headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                         body: .init(byteBuffer: ByteBuffer(string: html)))
        r.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        r.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return r
    }

    static func noAccess(_ message: String) -> Response {
        page(status: 403, title: "No access", body: """
            <p id="no-access">\(escape(message)).</p>
            <p>You are not signed in to Fleetscope. <a href="/oidc/login">Try again</a> after your groups have changed.</p>
            """)
    }

    static func failed(_ status: Int, _ message: String) -> Response {
        page(status: status, title: "Sign-in failed", body: """
            <p id="login-error">\(escape(message))</p><p><a href="/oidc/login">Sign in again</a></p>
            """)
    }

    /// After logout: straight on to the provider's end_session_endpoint when it has one.
    static func signedOut(continueTo: String?) -> Response {
        page(status: 200, title: "Signed out", body: continueTo.map {
            "<p id=\"signed-out\">Signed out of Fleetscope. <a href=\"\(escape($0))\">Sign out at the identity provider</a>.</p>"
        } ?? "<p id=\"signed-out\">Signed out of Fleetscope. <a href=\"/oidc/login\">Sign in again</a></p>", refreshTo: continueTo)
    }

    static func escape(_ s: String) -> String { htmlEscaped(s) }
}
