import Foundation

/// The credentials an `Authorization` header carries, parsed in one place for both groups.
/// Not HummingbirdAuth's `headers.bearer` / `headers.basic`: those match the scheme
/// case-sensitively ("Bearer ", "Basic "; RFC 9110 §11.1 makes it case-insensitive, and Go's
/// and Prometheus' clients accept any case), keep spaces around the token, and refuse a Basic
/// pair whose user or password is empty, so requests accepted today would start failing.
enum AuthorizationHeader {
    /// The token of `Bearer <token>` (any case of the scheme, surrounding spaces dropped), or
    /// nil for any other scheme. An empty token is returned as "" and refused by the lookup.
    static func bearerToken(_ header: String) -> String? {
        guard header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// User and password of `Basic <base64(user:password)>`; the password may contain colons.
    static func basicCredentials(_ header: String) -> (String, String)? {
        guard header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return nil }
        return (String(pair[..<colon]), String(pair[pair.index(after: colon)...]))
    }
}
