/// One reply of the dashboard: what the HTTP layer sends, kept free of Hummingbird types so
/// routing, escaping and headers are testable as plain values.
public struct DashboardReply: Sendable, Equatable {
    public let status: Int
    public let contentType: String
    public let cacheControl: String
    public let body: String
}

public enum DashboardSite {
    /// Everything the pages load comes from this origin; inline scripts are refused, so a
    /// cluster name that slipped into markup could not run even if escaping failed.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    public struct Asset: Sendable {
        public let name: String
        public let contentType: String
        public let body: String
        /// Content hash in the URL lets the browser cache an asset forever and still see a new build.
        public let version: String
        public var path: String { "/assets/\(name)?v=\(version)" }

        init(_ name: String, _ contentType: String, _ body: String) {
            self.name = name
            self.contentType = contentType
            self.body = body
            version = fnv1a(body)
        }
    }

    public static let assets: [String: Asset] = DashboardAssets.table

    // MARK: replies, each bound to its route in DashboardRoutes.swift

    /// `admin`: the caller may open the admin page, so the nav links to it.
    public static func overview(admin: Bool = false) -> DashboardReply { page(DashboardPages.overview(admin: admin)) }
    public static func alerts(admin: Bool = false) -> DashboardReply { page(DashboardPages.alerts(admin: admin)) }
    public static func explore(admin: Bool = false) -> DashboardReply { page(DashboardPages.explore(admin: admin)) }
    /// Tokens, users and the audit log; served to admins only (the collector's admin route group).
    public static func admin() -> DashboardReply { page(DashboardPages.admin()) }

    /// `/clusters/<name>`: `encodedName` is the path segment as the router hands it over.
    public static func cluster(encodedName: String, admin: Bool = false) -> DashboardReply {
        guard !encodedName.isEmpty, !encodedName.contains("/") else { return notFound("/clusters/" + encodedName) }
        return page(DashboardPages.cluster(name: percentDecoded(encodedName), admin: admin))
    }

    /// `/assets/<file>`: an asset, or the 404 page.
    public static func asset(_ file: String) -> DashboardReply {
        guard let asset = assets[file] else { return notFound("/assets/" + file) }
        return DashboardReply(status: 200, contentType: asset.contentType,
                              cacheControl: "public, max-age=31536000, immutable", body: asset.body)
    }

    static func page(_ html: String) -> DashboardReply {
        // Shells are tiny and name the current asset versions: always revalidate.
        DashboardReply(status: 200, contentType: "text/html; charset=utf-8", cacheControl: "no-cache", body: html)
    }

    static func notFound(_ path: String) -> DashboardReply {
        DashboardReply(status: 404, contentType: "text/html; charset=utf-8", cacheControl: "no-cache",
                       body: DashboardPages.notFound(path: percentDecoded(path)))
    }

    /// The router hands us the raw path; `%3C` must become `<` before it is HTML-escaped,
    /// or the page would show the encoded form. Invalid escapes stay as they are.
    static func percentDecoded(_ s: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
public func htmlEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

func fnv1a(_ s: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h &*= 0x100_0000_01b3
    }
    let hexString = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hexString.count) + hexString
}
