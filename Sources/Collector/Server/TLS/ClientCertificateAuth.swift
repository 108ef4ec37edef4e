/// The write route's second credential beside ingest tokens: a client certificate verified
/// against `tls.client_ca_file` names the cluster (`tls.client_cluster_from`), so an edge
/// cluster with a certificate needs no bearer token.
struct CertificateRefusal: Error, CustomStringConvertible {
    let description: String
}

extension IngestAuthMiddleware {
    /// The principal the connection's verified client certificate stands for; nil when the
    /// connection has none (plain HTTP, no certificate, or one accepted unverified), a refusal
    /// when the certificate is verified but names no usable cluster.
    static func principalFromClientCertificate(_ context: CollectorContext) async -> Result<Principal, CertificateRefusal>? {
        switch await context.clientCertificateIdentity() {
        case .none: return nil
        case .cluster(let cluster, _): return .success(.cluster(IngestIdentity(cluster: cluster)))
        case .unusable(let why): return .failure(CertificateRefusal(description: why))
        }
    }
}
