import Hummingbird
import HTTPTypes

/// What a known path answers to a method it does not take, as Prometheus does: 405 with an
/// `Allow` header, and OPTIONS 204 with the same header. Derived from the declared routes, so
/// a path's methods are listed in one place; open, because they carry no data.
enum MethodAnswers {
    /// Methods answered with 405 where a path has no route for them (others stay 404).
    static let answered: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .trace]

    /// `hints`: a fuller 405 message for some paths (by pattern), e.g. what remote-write expects.
    static func register(on group: RouterGroup<CollectorContext>, for declarations: RouteDeclarations, hints: [String: String] = [:]) {
        var methods: [String: Set<HTTPRequest.Method>] = [:]
        var order: [String] = []
        for r in declarations.routes {
            if methods[r.path] == nil { order.append(r.path) }
            methods[r.path, default: []].insert(r.method)
        }
        for path in order {
            guard let pattern = declarations.patterns[path], let taken = methods[path] else { continue }
            let allow = allowHeader(taken)
            if !taken.contains(.options) {
                group.on(pattern, method: .options) { _, _ in
                    var r = Response(status: .noContent)
                    r.headers[.allow] = allow
                    return r
                }
            }
            for method in answered where !taken.contains(method) {
                let message = hints[path] ?? "\(method.rawValue) is not allowed here; use \(allow)"
                group.on(pattern, method: method) { _, _ in
                    var r = AuthResponses.text(405, message)
                    r.headers[.allow] = allow
                    // A HEAD answer has headers only.
                    return method == .head ? r.createHeadResponse() : r
                }
            }
        }
    }

    /// Prometheus' form: the methods in alphabetical order, OPTIONS included.
    static func allowHeader(_ taken: Set<HTTPRequest.Method>) -> String {
        taken.union([.options]).map(\.rawValue).sorted().joined(separator: ", ")
    }
}
