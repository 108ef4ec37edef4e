#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `edge-scraper check config FILE`, as `promtool check config`: the config parses as the agent
/// reads it, and (unless `syntaxOnly`) every file it names can be read, so a token or
/// certificate missing from a mount shows before the rollout. The report lists each named path
/// with its role (`file credentials_file /etc/...`), which lets a deployment test compare the
/// paths with the volumes a manifest or unit provides.
public enum EdgeConfigCheck {
    public struct NamedPath: Sendable, Equatable {
        public var role: String
        public var path: String
        /// A directory the agent reads (node paths) or creates (queue), not a file.
        public var isDirectory: Bool
    }

    public static func check(path: String, syntaxOnly: Bool) throws -> [String] {
        let cfg = try ConfigLoader.load(path: path)
        let paths = namedPaths(cfg)
        if !syntaxOnly {
            for p in paths where !p.isDirectory && access(p.path, R_OK) != 0 {
                throw ConfigError(file: path, line: 0, message: "\(p.role) \(p.path) cannot be read")
            }
        }
        var lines = ["scrape_configs: \(cfg.scrapeConfigs.count), remote_write: \(cfg.remoteWrite.map(\.url).joined(separator: ", "))",
                     "node: \(cfg.node.enabled ? "enabled" : "disabled"), pods: \(cfg.pods.enabled ? "enabled" : "disabled")"]
        lines += paths.map { "\($0.isDirectory ? "dir" : "file") \($0.role) \($0.path)" }
        return lines
    }

    /// Every path the config makes the agent read or write.
    public static func namedPaths(_ cfg: EdgeConfig) -> [NamedPath] {
        var out: [NamedPath] = []
        func auth(_ a: HTTPAuth, _ at: String) {
            switch a {
            case .bearer(_, let f?, _): out.append(.init(role: "\(at).authorization.credentials_file", path: f, isDirectory: false))
            case .basic(_, _, let f?): out.append(.init(role: "\(at).basic_auth.password_file", path: f, isDirectory: false))
            default: break
            }
        }
        func tls(_ t: TLSConfig, _ at: String) {
            for (k, f) in [("ca_file", t.caFile), ("cert_file", t.certFile), ("key_file", t.keyFile)] {
                if let f { out.append(.init(role: "\(at).tls_config.\(k)", path: f, isDirectory: false)) }
            }
        }
        for (i, rw) in cfg.remoteWrite.enumerated() {
            auth(rw.auth, "remote_write[\(i)]")
            tls(rw.tls, "remote_write[\(i)]")
        }
        for sc in cfg.scrapeConfigs {
            auth(sc.auth, "scrape_configs[\(sc.jobName)]")
            tls(sc.tls, "scrape_configs[\(sc.jobName)]")
            for k in sc.kubernetesSDConfigs {
                auth(k.auth, "scrape_configs[\(sc.jobName)].kubernetes_sd_configs")
                tls(k.tls, "scrape_configs[\(sc.jobName)].kubernetes_sd_configs")
            }
        }
        if cfg.pods.enabled {
            auth(cfg.pods.kubelet.auth, "pods.kubelet")
            tls(cfg.pods.kubelet.tls, "pods.kubelet")
            if let c = cfg.pods.cgroupRoot, !cfg.pods.kubelet.enabled { out.append(.init(role: "pods.cgroup_root", path: c, isDirectory: true)) }
        }
        if cfg.node.enabled {
            out.append(.init(role: "node.proc_path", path: cfg.node.procPath, isDirectory: true))
            out.append(.init(role: "node.sys_path", path: cfg.node.sysPath, isDirectory: true))
            out.append(.init(role: "node.rootfs_path", path: cfg.node.rootfsPath, isDirectory: true))
        }
        out.append(.init(role: "queue.dir", path: cfg.queue.dir, isDirectory: true))
        return out
    }
}
