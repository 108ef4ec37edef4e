import Hummingbird

/// Per-request context: Hummingbird's core plus who is calling.
struct CollectorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var principal: Principal = .anonymous

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
