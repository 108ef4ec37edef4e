/// Turns the TLS alert a server answered with into words an edge operator can act on.
/// BoringSSL reports alerts as e.g. `TLSV1_ALERT_UNKNOWN_CA`; which of our files to look at
/// (the client certificate, its CA, the key) is not obvious from that.
enum TLSAlerts {
    static func explain(_ error: any Error) -> String? {
        let raw = "\(error)"
        let known: [(String, String)] = [
            ("ALERT_UNKNOWN_CA", "the server does not trust the CA that issued our client certificate (tls_config.cert_file)"),
            ("ALERT_CERTIFICATE_EXPIRED", "the server refused our client certificate as expired: renew tls_config.cert_file"),
            ("ALERT_CERTIFICATE_REVOKED", "the server refused our client certificate as revoked (tls_config.cert_file)"),
            ("ALERT_CERTIFICATE_REQUIRED", "the server requires a client certificate: set tls_config.cert_file and key_file"),
            ("ALERT_HANDSHAKE_FAILURE", "the server refused the handshake (no client certificate, or no common TLS version or cipher)"),
            ("ALERT_BAD_CERTIFICATE", "the server refused our client certificate (tls_config.cert_file)"),
            ("ALERT_CERTIFICATE_UNKNOWN", "the server refused our client certificate (tls_config.cert_file)"),
            ("ALERT_PROTOCOL_VERSION", "the server and we share no TLS version (tls_config.min_version)"),
        ]
        guard let (_, words) = known.first(where: { raw.contains($0.0) }) else { return nil }
        return "\(words) [\(raw)]"
    }
}
