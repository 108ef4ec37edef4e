import Foundation
import Storage

/// What an ingest token stands for: the cluster it writes as and the further labels bound
/// with it (`collector token create --label region=eu`). The collector sets all of them on
/// every series the token writes, so a cluster cannot move itself into another scope.
public struct IngestIdentity: Sendable, Equatable {
    public let cluster: String
    /// Sorted by name; never `cluster` (that is `cluster` above).
    public let labels: [Label]

    public init(cluster: String, labels: [Label] = []) {
        self.cluster = cluster
        self.labels = labels.sorted()
    }

    public func label(_ name: String) -> String? {
        name == TokenLabels.cluster ? cluster : labels.first { $0.name == name }?.value
    }
}

/// Rules for the labels a token may bind, and their storage form.
enum TokenLabels {
    static let cluster = "cluster"

    /// `region=eu` as given to `--label`.
    static func parse(_ arg: String) throws -> Label {
        guard let eq = arg.firstIndex(of: "=") else {
            throw AuthError(message: "invalid --label \"\(arg)\": expected NAME=VALUE, e.g. region=eu")
        }
        let l = Label(String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
        try check(l)
        return l
    }

    static func check(_ l: Label) throws {
        guard isValidLabelName(l.name), !l.name.hasPrefix("__") else {
            throw AuthError(message: "invalid label name \"\(l.name)\": use letters, digits and '_', not starting with a digit or \"__\"")
        }
        guard l.name != cluster else {
            throw AuthError(message: "the cluster is bound with --cluster, not --label cluster=...")
        }
        guard !l.name.hasPrefix("exported_") else {
            throw AuthError(message: "label name \"\(l.name)\" is reserved: exported_* keeps the sender's own value of a bound label")
        }
        guard !l.value.isEmpty else { throw AuthError(message: "label \(l.name) needs a non-empty value") }
        guard !l.value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AuthError(message: "label \(l.name): control characters are not allowed in values")
        }
    }

    static func encode(_ labels: [Label]) throws -> String {
        let dict = Dictionary(labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let data = try JSONSerialization.data(withJSONObject: dict, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) throws -> [Label] {
        if text.isEmpty { return [] }
        guard let dict = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw AuthError(message: "stored token labels are not a JSON object of strings: \(text)")
        }
        return dict.map { Label($0.key, $0.value) }.sorted()
    }
}
