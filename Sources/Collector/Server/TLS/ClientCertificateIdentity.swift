import Foundation
import NIOSSL

/// What a connection's client certificate says about who is calling. Decided once per
/// connection, at the end of the TLS handshake.
enum ClientCertificateIdentity: Sendable, Equatable {
    /// No TLS, no certificate, or one accepted without verification (RequestClientCert,
    /// RequireAnyClientCert): the certificate stands for nobody.
    case none
    /// A certificate verified against `client_ca_file` that names a cluster.
    case cluster(String, subject: String)
    /// A verified certificate the cluster cannot be taken from; the reason goes to the client.
    case unusable(String)

    /// Takes the cluster from `cert` as `tls.client_cluster_from` says.
    static func of(_ cert: NIOSSLCertificate, from source: TLSOptions.ClusterSource) -> ClientCertificateIdentity {
        let subject = CertificateText.subject(cert)
        let candidate: String?
        switch source {
        case .commonName:
            candidate = cert.subjectName.last { $0.type == .commonName }?.value
        case .sanDNS, .sanURI:
            let type: _SubjectAlternativeName.NameType = source == .sanDNS ? .dnsName : .uri
            candidate = cert._subjectAlternativeNames().first { $0.nameType == type }
                .map { String(decoding: Array($0.contents), as: UTF8.self) }
        }
        let what = source == .commonName ? "subject CN" : source == .sanDNS ? "DNS subject alternative name" : "URI subject alternative name"
        guard let c = candidate, !c.isEmpty else {
            return .unusable("client certificate \(subject) has no \(what) to take the cluster from (tls.client_cluster_from: \(source.rawValue)); send an ingest token or a certificate that has one")
        }
        // The value becomes the `cluster` label and shows on every page: no control characters.
        guard c.utf8.count <= 256, !c.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .unusable("client certificate \(subject): \(source.rawValue) is not a usable cluster name (control characters or longer than 256 bytes)")
        }
        return .cluster(c, subject: subject)
    }
}

/// Human-readable pieces of a certificate for errors and logs.
enum CertificateText {
    static func subject(_ cert: NIOSSLCertificate) -> String { name(cert.subjectName) }
    static func issuer(_ cert: NIOSSLCertificate) -> String { name(cert.issuerName) }

    private static func name(_ parts: [SSLCertificateName]) -> String {
        let short: [SSLCertificateNameType: String] = [.commonName: "CN", .organization: "O", .organizationalUnit: "OU",
                                                       .country: "C", .state: "ST", .city: "L"]
        let s = parts.compactMap { p in short[p.type].map { "\($0)=\(p.value)" } }.joined(separator: ",")
        return "\"\(s.isEmpty ? "(empty subject)" : s)\""
    }

    static func utc(_ t: time_t) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }

    /// Why a handshake failed, in words an operator can act on. BoringSSL's error stack only
    /// says CERTIFICATE_VERIFY_FAILED; the certificate the client sent says whether it expired
    /// or comes from a CA outside `client_ca_file`.
    static func handshakeFailure(_ error: any Error, peerCertificate: NIOSSLCertificate?, options: TLSOptions, now: time_t = time(nil)) -> String {
        let raw = "\(error)"
        if raw.contains("CERTIFICATE_VERIFY_FAILED"), let cert = peerCertificate {
            let subject = subject(cert)
            if now > cert.notValidAfter {
                return "client certificate \(subject) expired at \(utc(cert.notValidAfter))"
            }
            if now < cert.notValidBefore {
                return "client certificate \(subject) is not valid before \(utc(cert.notValidBefore))"
            }
            return "client certificate \(subject) issued by \(issuer(cert)) does not chain to a CA in tls.client_ca_file \(options.clientCAFile ?? "")"
        }
        if raw.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") {
            return "the client sent no certificate; tls.client_auth_type \(options.clientAuth.rawValue) requires one"
        }
        return raw
    }
}
