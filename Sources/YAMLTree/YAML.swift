import CYAML

// YAML through libyaml (Debian's libyaml-dev), the parser PyYAML and Yams are built on: the edge
// and the collector accept exactly the same YAML, and the edge stays off Foundation.

public enum YAML {
    /// Deeper documents are an error, not a stack overflow in whoever walks the tree.
    static let maxDepth = 64

    /// Parses one document. An empty text (or only comments) is an empty plain scalar, i.e. null.
    public static func parse(_ text: String) throws -> YAMLNode {
        try compose(text) ?? YAMLNode(.scalar("", .plain), line: 1, column: 1)
    }

    /// Parses one document; nil when the text holds none (empty, or only comments). More than
    /// one document, collections as mapping keys and duplicate keys are errors; YAML 1.1 merge
    /// keys (`<<`) are applied; tags are ignored (a scalar stays text).
    public static func compose(_ text: String) throws -> YAMLNode? {
        let bytes = Array(text.utf8)
        do {
            return try YAMLTreeBuilder.read(bytes)
        } catch let e as YAMLError where e.message.contains("invalid Unicode character escape") {
            // JSON writes characters beyond the BMP as surrogate pairs (`\ud83d\ude00`), which
            // libyaml refuses; read them as the one character they stand for.
            guard let joined = SurrogateEscapes.join(bytes) else { throw e }
            return try YAMLTreeBuilder.read(joined)
        }
    }
}

/// Builds the node tree from libyaml's events with an explicit stack (no recursion, so deep
/// input cannot overflow the stack).
struct YAMLTreeBuilder {
    struct Frame {
        var isMapping: Bool
        var flow: Bool
        var line: Int
        var column: Int
        var anchor: String?
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var key: YAMLNode?
        var seen: Set<String> = []
    }

    let text: [UInt8]
    var stack: [Frame] = []
    var anchors: [String: YAMLNode] = [:]
    var root: YAMLNode?
    var documents = 0

    static func read(_ bytes: [UInt8]) throws -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else { throw YAMLError(line: 1, column: 1, message: "libyaml: out of memory") }
        defer { yaml_parser_delete(&parser) }
        var input = bytes
        input.append(0)  // a valid pointer even for an empty text; not part of the input
        return try input.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress, bytes.count)
            var builder = YAMLTreeBuilder(text: bytes)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) != 0 else { throw builder.parserError(parser) }
                defer { yaml_event_delete(&event) }
                if try builder.handle(event) { return builder.root }
            }
        }
    }

    /// True at the end of the stream.
    mutating func handle(_ event: yaml_event_t) throws -> Bool {
        let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw YAMLError(line: line, column: column, message: "multiple YAML documents are not supported; keep one document per file")
            }
        case YAML_ALIAS_EVENT:
            let name = Self.name(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else { throw YAMLError(line: line, column: column, message: "unknown alias *\(name)") }
            try add(YAMLNode(node.kind, line: line, column: column), anchor: nil, absent: false)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            // `key:` with nothing after it: an empty plain scalar of zero width.
            let absent = s.length == 0 && s.style == YAML_PLAIN_SCALAR_STYLE && event.start_mark.index == event.end_mark.index
            try add(YAMLNode(.scalar(value, Self.style(s.style)), line: line, column: column),
                    anchor: Self.name(s.anchor), absent: absent)
        case YAML_SEQUENCE_START_EVENT:
            let s = event.data.sequence_start
            try push(Frame(isMapping: false, flow: s.style == YAML_FLOW_SEQUENCE_STYLE, line: line, column: column, anchor: Self.name(s.anchor)))
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            try push(Frame(isMapping: true, flow: m.style == YAML_FLOW_MAPPING_STYLE, line: line, column: column, anchor: Self.name(m.anchor)))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let f = stack.removeLast()
            let kind: YAMLNode.Kind = f.isMapping ? .mapping(try Self.applyMerges(f.pairs)) : .sequence(f.items)
            try add(YAMLNode(kind, line: f.line, column: f.column), anchor: f.anchor, absent: false)
        default:
            break
        }
        return false
    }

    mutating func push(_ frame: Frame) throws {
        if stack.count >= YAML.maxDepth {
            throw YAMLError(line: frame.line, column: frame.column, message: "nesting deeper than \(YAML.maxDepth) levels")
        }
        stack.append(frame)
    }

    /// Places a finished node in the collection being read (or makes it the root).
    mutating func add(_ node: YAMLNode, anchor: String?, absent: Bool) throws {
        if let anchor { anchors[anchor] = node }
        let top = stack.count - 1
        guard top >= 0 else { root = node; return }
        guard stack[top].isMapping else { stack[top].items.append(node); return }
        if let key = stack[top].key {
            var value = node
            // An absent value is reported where its key is, where a user would look for it.
            if absent { value.line = key.line; value.column = key.column }
            stack[top].pairs.append(YAMLPair(key: key, value: value))
            stack[top].key = nil
        } else {
            guard let k = node.scalar else {
                throw YAMLError(line: node.line, column: node.column, message: "collections as mapping keys are not supported")
            }
            if !stack[top].seen.insert(k).inserted {
                throw YAMLError(line: node.line, column: node.column, message: "duplicate key \"\(k)\"")
            }
            stack[top].key = node
        }
    }

    /// YAML 1.1 merge keys (`<<: *base` or `<<: [*a, *b]`), which Prometheus' YAML library
    /// honours: merged pairs fill in keys the mapping does not set itself.
    static func applyMerges(_ pairs: [YAMLPair]) throws -> [YAMLPair] {
        let merge = YAMLNode.Kind.scalar("<<", .plain)
        guard pairs.contains(where: { $0.key.kind == merge }) else { return pairs }
        var own = pairs.filter { $0.key.kind != merge }
        var keys = Set(own.compactMap { $0.key.scalar })
        for p in pairs where p.key.kind == merge {
            let sources: [YAMLNode]
            switch p.value.kind {
            case .mapping: sources = [p.value]
            case .sequence(let s): sources = s
            default: throw YAMLError(line: p.value.line, column: p.value.column, message: "a merge key (<<) needs a mapping or a list of mappings")
            }
            for src in sources {
                guard let m = src.mapping else {
                    throw YAMLError(line: src.line, column: src.column, message: "a merge key (<<) needs a mapping or a list of mappings")
                }
                for q in m where keys.insert(q.key.scalar ?? "").inserted { own.append(q) }
            }
        }
        return own
    }

    static func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: $0) }
    }

    static func style(_ s: yaml_scalar_style_t) -> YAMLScalarStyle {
        switch s {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }
}
