/// The `tls:` section of collector.yml, with the names and values of Prometheus's
/// exporter-toolkit (`cert_file`, `key_file`, `client_ca_file`, `client_auth_type`), plus
/// `client_cluster_from`: which part of a verified client certificate names the edge cluster.
public struct TLSOptions: Sendable, Equatable {
    public var certFile: String
    public var keyFile: String
    public var clientCAFile: String?
    public var clientAuth: ClientAuthType = .noClientCert
    public var clusterFrom: ClusterSource = .commonName
    public var minVersion: MinVersion = .tls12

    public init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// Go's `crypto/tls.ClientAuthType` names, as exporter-toolkit spells them.
    public enum ClientAuthType: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        /// Asks for a certificate, accepts none, and does not verify one given.
        case requestClientCert = "RequestClientCert"
        /// Requires a certificate but does not verify it.
        case requireAnyClientCert = "RequireAnyClientCert"
        /// Accepts no certificate; one given must verify against `client_ca_file`.
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        /// A certificate that verifies against `client_ca_file` on every connection.
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Only a certificate checked against `client_ca_file` may stand for an identity.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// Where the cluster name comes from in a client certificate.
    public enum ClusterSource: String, Sendable, CaseIterable {
        case commonName = "cn"
        case sanDNS = "san_dns"
        case sanURI = "san_uri"
    }

    public enum MinVersion: String, Sendable, CaseIterable {
        case tls12 = "TLS12"
        case tls13 = "TLS13"
    }

    /// The combinations exporter-toolkit refuses, refused here too, before the listener opens.
    public func validate() throws {
        if clientAuth.verifies && clientCAFile == nil {
            throw OptionsError("tls.client_auth_type \(clientAuth.rawValue) needs tls.client_ca_file (the CA bundle client certificates must chain to)")
        }
        if clientAuth == .noClientCert && clientCAFile != nil {
            throw OptionsError("tls.client_ca_file is set but tls.client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert to check client certificates")
        }
    }
}

extension TLSOptions {
    static let configKeys: Set<String> = ["cert_file", "key_file", "client_ca_file", "client_auth_type", "client_cluster_from", "min_version"]

    /// Builds the options from the `tls:` section's scalar values (key → value and line);
    /// relative file names are relative to the config file, as rule files are.
    init(configValues v: [String: (value: String, line: Int)], file: String, baseDir: String) throws {
        func path(_ key: String) throws -> String? {
            guard let (value, line) = v[key] else { return nil }
            guard !value.isEmpty else { throw OptionsError("\(file):\(line): tls.\(key) is empty") }
            return value.hasPrefix("/") || baseDir.isEmpty ? value : baseDir + "/" + value
        }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
            guard let (value, line) = v[key] else { return nil }
            guard let c = T(rawValue: value) else {
                throw OptionsError("\(file):\(line): tls.\(key): unknown value \"\(value)\" (known: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return c
        }
        guard let cert = try path("cert_file"), let key = try path("key_file") else {
            throw OptionsError("\(file): tls needs both cert_file and key_file (PEM files: the server certificate chain and its private key)")
        }
        self.init(certFile: cert, keyFile: key)
        clientCAFile = try path("client_ca_file")
        clientAuth = try choice("client_auth_type", ClientAuthType.self) ?? .noClientCert
        clusterFrom = try choice("client_cluster_from", ClusterSource.self) ?? .commonName
        minVersion = try choice("min_version", MinVersion.self) ?? .tls12
        do { try validate() } catch let e as OptionsError { throw OptionsError("\(file): \(e.description)") }
    }
}
