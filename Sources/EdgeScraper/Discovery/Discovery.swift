import Logging
import Storage
import YAMLTree

/// A source of targets. `run` reports the complete current list whenever it may have changed
/// and returns when its task is cancelled (or at once for sources that never change).
public protocol DiscoveryProvider: Sendable {
    func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async
}

public struct StaticDiscovery: DiscoveryProvider {
    public let groups: [TargetGroup]

    public init(_ configs: [StaticConfig], job: String) {
        groups = configs.enumerated().map { i, c in
            TargetGroup(source: "\(job)/static/\(i)", targets: c.targets.map { Labels([Label("__address__", $0)]) }, labels: c.labels)
        }
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async { await update(groups) }
}

/// file_sd: JSON or YAML files of `[{targets: [...], labels: {...}}]`. Files are re-read when
/// the set of matching paths or a file's mtime changes (polled, no inotify), and at least
/// every refresh_interval. A file that fails to parse keeps its previous targets.
public struct FileDiscovery: DiscoveryProvider {
    public let config: FileSDConfig
    let logger: Logger
    let pollMillis: Int64

    public init(_ config: FileSDConfig, logger: Logger, pollMillis: Int64 = 5_000) {
        self.config = config
        self.logger = logger
        self.pollMillis = min(pollMillis, config.refreshInterval)
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async {
        var mtimes: [String: Int64] = [:]
        var groupsByFile: [String: [TargetGroup]] = [:]
        var lastFull: Int64 = 0
        var first = true
        while !Task.isCancelled {
            let paths = Set(config.files.flatMap { FileIO.glob($0) })
            let now = nowMillis()
            var changed = first || Set(mtimes.keys) != paths || now - lastFull >= config.refreshInterval
            var newMtimes: [String: Int64] = [:]
            for p in paths {
                newMtimes[p] = FileIO.mtime(p) ?? 0
                if mtimes[p] != newMtimes[p] { changed = true }
            }
            if changed {
                var next: [String: [TargetGroup]] = [:]
                for p in paths.sorted() {
                    do {
                        next[p] = try FileDiscovery.parse(try FileIO.readString(p), path: p)
                    } catch {
                        logger.error("file_sd: cannot read targets", metadata: ["file": "\(p)", "error": "\(error)"])
                        next[p] = groupsByFile[p] ?? []
                    }
                }
                groupsByFile = next
                mtimes = newMtimes
                lastFull = now
                first = false
                await update(paths.sorted().flatMap { groupsByFile[$0] ?? [] })
            }
            do { try await Task.sleep(nanoseconds: UInt64(pollMillis) * 1_000_000) } catch { return }
        }
    }

    /// One file's target groups, with `__meta_filepath` as Prometheus sets it.
    public static func parse(_ text: String, path: String) throws -> [TargetGroup] {
        let root: YAMLNode
        do { root = try YAML.parse(text) } catch let e as YAMLError {
            throw ConfigError(file: path, line: e.line, message: e.message)
        }
        if root.isNull { return [] }
        guard let list = root.sequence else {
            throw ConfigError(file: path, line: root.line, message: "expected a list of target groups ([{targets: [...], labels: {...}}])")
        }
        return try list.enumerated().map { i, g in
            let r = try MapReader(g, path: "[\(i)]", file: path, allowed: ["targets", "labels"])
            let targets = try r.stringList("targets") ?? []
            var labels = try r.labels("labels") ?? Labels()
            labels = labels.setting("__meta_filepath", path)
            return TargetGroup(source: "\(path):\(i)", targets: targets.map { Labels([Label("__address__", $0)]) }, labels: labels)
        }
    }
}

/// Fixed, already-built targets (the built-in collectors).
struct FixedTargets: Sendable {
    let targets: [ScrapeTarget]
}
