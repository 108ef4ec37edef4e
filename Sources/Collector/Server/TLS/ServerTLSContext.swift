#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOSSL
import Synchronization

/// The listener's TLS context, rebuilt when `cert_file`, `key_file` or `client_ca_file` change
/// on disk, so certificates rotate (and a CA leaves the client bundle) without a restart.
/// Every new connection asks for the context; established connections keep theirs.
///
/// The check is a `stat` of each file per connection (a few microseconds beside a handshake),
/// as exporter-toolkit re-reads its web config per request. A half-finished rotation (new
/// certificate, old key) fails to build: the previous context stays in use, the failure is
/// logged once, and the next connection after the rotation completes picks up the new files.
final class ServerTLSContext: Sendable {
    let options: TLSOptions
    /// Shared by every connection's handshake-refusal log line.
    let refusalLog = LogBudget()
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var context: NIOSSLContext
        var stamps: [FileStamp]
        /// The file state that last failed to build, so a broken rotation is logged once.
        var failedStamps: [FileStamp]?
    }

    private var files: [String] { options.files }

    /// Builds the first context; a bad file here stops the start with a message naming it.
    init(options: TLSOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let stamps = options.files.map(FileStamp.init(path:))
        state = Mutex(State(context: try Self.makeContext(options), stamps: stamps))
    }

    /// Certificates a client presents are accepted without verification in these modes, as
    /// Go's RequestClientCert and RequireAnyClientCert do; such a certificate never names a cluster.
    var acceptsUnverifiedClientCertificates: Bool {
        options.clientAuth == .requestClientCert || options.clientAuth == .requireAnyClientCert
    }

    /// The context for a new connection, rebuilt first if a file changed.
    func current() -> NIOSSLContext {
        let stamps = files.map(FileStamp.init(path:))
        return state.withLock { s in
            if stamps == s.stamps || stamps == s.failedStamps { return s.context }
            do {
                s.context = try Self.makeContext(options)
                s.stamps = stamps
                s.failedStamps = nil
                logger.notice("TLS certificates reloaded from \(files.joined(separator: ", "))")
            } catch {
                s.failedStamps = stamps
                logger.error("TLS files changed but cannot be loaded, still serving the previous certificates: \(error)")
            }
            return s.context
        }
    }

    static func makeContext(_ o: TLSOptions) throws -> NIOSSLContext {
        let chain = try load("tls.cert_file", o.certFile) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !chain.isEmpty else { throw TLSSetupError("tls.cert_file \(o.certFile) holds no PEM certificate") }
        let key = try load("tls.key_file", o.keyFile) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        c.minimumTLSVersion = o.minVersion == .tls13 ? .tlsv13 : .tlsv12
        if let caFile = o.clientCAFile {
            let roots = try load("tls.client_ca_file", caFile) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !roots.isEmpty else { throw TLSSetupError("tls.client_ca_file \(caFile) holds no PEM certificate") }
            c.trustRoots = .certificates(roots)
            // Clients with several certificates (curl, Go) pick the one our CAs issued.
            c.sendCANameList = true
        }
        switch o.clientAuth {
        case .noClientCert: c.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven: c.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert: c.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: c)
        } catch {
            throw TLSSetupError("cannot use tls.cert_file \(o.certFile) with tls.key_file \(o.keyFile) (does the key belong to the certificate?): \(error)")
        }
    }

    private static func load<T>(_ key: String, _ path: String, _ read: (String) throws -> T) throws -> T {
        guard access(path, R_OK) == 0 else {
            throw TLSSetupError("cannot read \(key) \(path): \(String(cString: strerror(errno)))")
        }
        do { return try read(path) } catch {
            throw TLSSetupError("\(key) \(path) is not a valid PEM file: \(error)")
        }
    }
}

extension TLSOptions {
    var files: [String] { [certFile, keyFile] + (clientCAFile.map { [$0] } ?? []) }
}

/// What identifies a file's content cheaply: a rename over it changes the inode, an
/// in-place rewrite the mtime (nanoseconds) or size.
struct FileStamp: Equatable, Sendable {
    var inode: UInt64 = 0
    var size: Int64 = -1
    var mtimeSec: Int = 0
    var mtimeNsec: Int = 0

    init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        #if canImport(Darwin)
        mtimeSec = st.st_mtimespec.tv_sec
        mtimeNsec = st.st_mtimespec.tv_nsec
        #else
        mtimeSec = st.st_mtim.tv_sec
        mtimeNsec = st.st_mtim.tv_nsec
        #endif
    }
}

public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
