// A small YAML reader for prometheus.yml-shaped documents. The edge binary cannot afford
// Foundation or Yams, and configs only need one document of block/flow collections and
// scalars; every node keeps its position so config errors can point at the offending line.

public struct YAMLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

public enum YAMLScalarStyle: Sendable, Equatable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

public struct YAMLPair: Sendable, Equatable {
    public var key: YAMLNode
    public var value: YAMLNode
}

public struct YAMLNode: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case scalar(String, YAMLScalarStyle)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var kind: Kind
    /// 1-based position of the node's first character.
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// The scalar's text, nil for collections.
    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// `~`, `null` and an absent value are null; quoted "" is an empty string, not null.
    public var isNull: Bool {
        guard case .scalar(let s, let style) = kind, style == .plain else { return false }
        return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL"
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let s) = kind { return s }
        return nil
    }

    public var mapping: [YAMLPair]? {
        if case .mapping(let m) = kind { return m }
        return nil
    }

    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }

    public var kindName: String {
        switch kind {
        case .scalar: return isNull ? "null" : "scalar"
        case .sequence: return "sequence"
        case .mapping: return "mapping"
        }
    }
}

public enum YAML {
    /// Parses one document. Multiple documents, tags other than the standard `!!` ones and
    /// complex keys are not supported and are reported as errors.
    public static func parse(_ text: String) throws -> YAMLNode {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        var pendingCR = false
        while let c = it.next() {
            if pendingCR && c != 0x0A { bytes.append(0x0A) }
            pendingCR = false
            if c == 0x0D { pendingCR = true; continue }
            bytes.append(c)
        }
        if pendingCR { bytes.append(0x0A) }
        var p = YAMLParser(bytes)
        return try p.parseDocument()
    }
}

private let SP = UInt8(ascii: " ")
private let TAB = UInt8(ascii: "\t")
private let NL = UInt8(ascii: "\n")
private let HASH = UInt8(ascii: "#")
private let COLON = UInt8(ascii: ":")
private let DASH = UInt8(ascii: "-")
private let COMMA = UInt8(ascii: ",")
private let LBRACK = UInt8(ascii: "[")
private let RBRACK = UInt8(ascii: "]")
private let LBRACE = UInt8(ascii: "{")
private let RBRACE = UInt8(ascii: "}")
private let SQUOTE = UInt8(ascii: "'")
private let DQUOTE = UInt8(ascii: "\"")
private let BSLASH = UInt8(ascii: "\\")

struct YAMLParser {
    let b: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0
    var depth = 0
    var anchors: [String: YAMLNode] = [:]
    static let maxDepth = 64

    init(_ bytes: [UInt8]) { b = bytes }

    /// 0-based column of the current position (= indentation when at the first content of a line).
    var col: Int { i - lineStart }
    var atEOF: Bool { i >= b.count }

    func peek(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    func error(_ message: String, line l: Int? = nil, column c: Int? = nil) -> YAMLError {
        YAMLError(line: l ?? line, column: c ?? (col + 1), message: message)
    }

    mutating func advance() {
        if b[i] == NL { line += 1; lineStart = i + 1 }
        i += 1
    }

    func isBlank(_ c: UInt8?) -> Bool { c == nil || c == SP || c == TAB || c == NL }

    /// Skips spaces, tabs, comments and line breaks up to the next content. Tabs before the
    /// first content of a line are indentation, which YAML forbids.
    mutating func skipBlank() throws {
        while i < b.count {
            let c = b[i]
            if c == SP || c == NL { advance() }
            else if c == TAB {
                var j = i
                while j < b.count, b[j] == SP || b[j] == TAB { j += 1 }
                if j < b.count, b[j] != NL, b[j] != HASH, b[lineStart..<i].allSatisfy({ $0 == SP }) {
                    throw error("tab character used for indentation; indent with spaces")
                }
                advance()
            } else if c == HASH { skipToEOL() }
            else { return }
        }
    }

    /// Skips spaces and tabs on the current line, and a trailing comment.
    mutating func skipInline() {
        while i < b.count, b[i] == SP || b[i] == TAB { i += 1 }
        if i < b.count, b[i] == HASH, i == lineStart || b[i - 1] == SP || b[i - 1] == TAB { skipToEOL() }
    }

    mutating func skipToEOL() { while i < b.count, b[i] != NL { i += 1 } }

    var atEOL: Bool { i >= b.count || b[i] == NL }

    func isDocumentMarker() -> Bool {
        guard col == 0, i + 3 <= b.count else { return false }
        let c = b[i]
        guard c == DASH || c == UInt8(ascii: "."), b[i + 1] == c, b[i + 2] == c else { return false }
        return isBlank(peek(3))
    }

    func isSeqIndicator() -> Bool { peek() == DASH && isBlank(peek(1)) }

    mutating func parseDocument() throws -> YAMLNode {
        try skipBlank()
        while peek() == UInt8(ascii: "%") { skipToEOL(); try skipBlank() }
        if isDocumentMarker() && b[i] == DASH {
            i += 3
            skipInline()
            try skipBlank()
        }
        let root: YAMLNode
        if atEOF || isDocumentMarker() {
            root = YAMLNode(.scalar("", .plain), line: line, column: col + 1)
        } else {
            root = try parseBlockNode(parent: -1, compact: true)
        }
        try skipBlank()
        if isDocumentMarker() {
            if b[i] == DASH { throw error("multiple YAML documents are not supported; keep one document per file") }
            i += 3
            try skipBlank()
        }
        if !atEOF { throw error("unexpected content after the document; check indentation") }
        return root
    }

    /// Parses the node at the current position. `parent` is the indentation of the enclosing
    /// block collection; `compact` allows a block mapping to start mid-line (after `- `).
    mutating func parseBlockNode(parent: Int, compact: Bool) throws -> YAMLNode {
        depth += 1
        defer { depth -= 1 }
        if depth > YAMLParser.maxDepth { throw error("nesting deeper than \(YAMLParser.maxDepth) levels") }
        guard let c = peek() else { return YAMLNode(.scalar("", .plain), line: line, column: col + 1) }
        let startLine = line, startCol = col

        if c == UInt8(ascii: "&") {
            let name = readName()
            if name.isEmpty { throw error("anchor without a name") }
            skipInline()
            var node: YAMLNode
            if atEOL {
                try skipBlank()
                if atEOF || col <= parent {
                    node = YAMLNode(.scalar("", .plain), line: startLine, column: startCol + 1)
                } else {
                    node = try parseBlockNode(parent: parent, compact: true)
                }
            } else {
                node = try parseBlockNode(parent: parent, compact: compact)
            }
            anchors[name] = node
            return node
        }
        if c == UInt8(ascii: "*") {
            let name = readName()
            guard let node = anchors[name] else { throw error("unknown alias *\(name)", line: startLine, column: startCol + 1) }
            skipInline()
            return YAMLNode(node.kind, line: startLine, column: startCol + 1)
        }
        if c == UInt8(ascii: "!") {
            while let d = peek(), !isBlank(d) { i += 1 }
            skipInline()
            if atEOL {
                try skipBlank()
                if atEOF || col <= parent { return YAMLNode(.scalar("", .plain), line: startLine, column: startCol + 1) }
            }
            return try parseBlockNode(parent: parent, compact: compact)
        }
        if isSeqIndicator() {
            if !compact && startLine == line && i != lineStart && !b[lineStart..<i].allSatisfy({ $0 == SP }) {
                throw error("a block sequence cannot start on the same line as its key; put it on the next line")
            }
            return try parseBlockSequence(indent: col)
        }
        if c == UInt8(ascii: "|") || c == UInt8(ascii: ">") {
            return try parseBlockScalar(parent: parent)
        }
        if c == LBRACK || c == LBRACE {
            let node = try parseFlow()
            skipInline()
            if peek() == COLON { throw error("flow collections as mapping keys are not supported") }
            if !atEOL { throw error("unexpected text after a flow collection") }
            return node
        }
        // A key followed by ':' starts a block mapping at this column.
        let save = (i, line, lineStart)
        if (try? tryParseKey()) != nil {
            (i, line, lineStart) = save
            if !compact && !b[lineStart..<i].allSatisfy({ $0 == SP }) {
                throw error("mapping values are not allowed here; put the nested mapping on the next line")
            }
            return try parseBlockMapping(indent: col)
        }
        (i, line, lineStart) = save
        if c == SQUOTE || c == DQUOTE {
            let node = try parseQuoted()
            skipInline()
            if !atEOL { throw error("unexpected text after a quoted string") }
            return node
        }
        return try parsePlain(parent: parent)
    }

    mutating func readName() -> String {
        i += 1
        let s = i
        while let d = peek(), !isBlank(d), d != COMMA, d != LBRACK, d != RBRACK, d != LBRACE, d != RBRACE { i += 1 }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    /// Reads `key:` (quoted or plain, on one line) and consumes through the colon.
    mutating func tryParseKey() throws -> YAMLNode? {
        guard let c = peek() else { return nil }
        let keyLine = line, keyCol = col
        var key: YAMLNode
        if c == SQUOTE || c == DQUOTE {
            key = try parseQuoted()
            if line != keyLine { return nil }
            while peek() == SP || peek() == TAB { i += 1 }
        } else {
            if c == HASH || c == NL || c == COLON && isBlank(peek(1)) { return nil }
            if c == LBRACK || c == LBRACE || c == UInt8(ascii: "|") || c == UInt8(ascii: ">") { return nil }
            let s = i
            var end = -1
            while i < b.count {
                let d = b[i]
                if d == NL { break }
                if d == COLON && isBlank(peek(1)) { end = i; break }
                if d == HASH && i > s && (b[i - 1] == SP || b[i - 1] == TAB) { break }
                i += 1
            }
            guard end >= 0 else { return nil }
            var e = end
            while e > s, b[e - 1] == SP || b[e - 1] == TAB { e -= 1 }
            key = YAMLNode(.scalar(String(decoding: b[s..<e], as: UTF8.self), .plain), line: keyLine, column: keyCol + 1)
        }
        guard peek() == COLON, isBlank(peek(1)) else { return nil }
        i += 1
        return key
    }

    mutating func parseBlockMapping(indent n: Int) throws -> YAMLNode {
        let startLine = line, startCol = col
        var pairs: [YAMLPair] = []
        var seen: Set<String> = []
        while true {
            if isSeqIndicator() { throw error("a sequence item where a mapping key was expected; check indentation") }
            guard let key = try tryParseKey() else {
                throw error("expected 'key: value' at this indentation (a mapping entry), found something else")
            }
            let keyText = key.scalar ?? ""
            if !seen.insert(keyText).inserted {
                throw error("duplicate key \"\(keyText)\"", line: key.line, column: key.column)
            }
            skipInline()
            var value: YAMLNode
            if atEOL {
                try skipBlank()
                if !atEOF && col > n && !isDocumentMarker() {
                    value = try parseBlockNode(parent: n, compact: true)
                } else if !atEOF && col == n && isSeqIndicator() {
                    value = try parseBlockSequence(indent: n)
                } else {
                    value = YAMLNode(.scalar("", .plain), line: key.line, column: key.column)
                }
            } else {
                value = try parseBlockNode(parent: n, compact: false)
            }
            pairs.append(YAMLPair(key: key, value: value))
            try skipBlank()
            if atEOF || col < n || isDocumentMarker() { break }
            if col > n { throw error("unexpected indentation (expected column \(n + 1) for the next key of this mapping)") }
        }
        return YAMLNode(.mapping(try applyMerges(pairs)), line: startLine, column: startCol + 1)
    }

    mutating func parseBlockSequence(indent n: Int) throws -> YAMLNode {
        let startLine = line, startCol = col
        var items: [YAMLNode] = []
        while true {
            guard isSeqIndicator() else { throw error("expected '- ' (a sequence item)") }
            let itemLine = line, itemCol = col
            i += 1
            skipInline()
            if atEOL {
                try skipBlank()
                if !atEOF && col > n && !isDocumentMarker() {
                    items.append(try parseBlockNode(parent: n, compact: true))
                } else {
                    items.append(YAMLNode(.scalar("", .plain), line: itemLine, column: itemCol + 1))
                }
            } else {
                items.append(try parseBlockNode(parent: n, compact: true))
            }
            try skipBlank()
            if atEOF || col < n || isDocumentMarker() { break }
            if col == n {
                if isSeqIndicator() { continue }
                break
            }
            throw error("unexpected indentation (expected column \(n + 1) for the next '- ' item)")
        }
        return YAMLNode(.sequence(items), line: startLine, column: startCol + 1)
    }

    /// A plain scalar in block context, possibly continued on more-indented lines.
    mutating func parsePlain(parent: Int) throws -> YAMLNode {
        let startLine = line, startCol = col
        var out: [UInt8] = []
        var first = true
        while true {
            // One line of text.
            let s = i
            while i < b.count {
                let d = b[i]
                if d == NL { break }
                if d == HASH && i > s && (b[i - 1] == SP || b[i - 1] == TAB) { break }
                if d == COLON && isBlank(peek(1)) {
                    throw error("mapping values are not allowed here (a ': ' inside a value); quote the value or fix the indentation")
                }
                i += 1
            }
            var e = i
            while e > s, b[e - 1] == SP || b[e - 1] == TAB { e -= 1 }
            if !first { out.append(SP) }
            out.append(contentsOf: b[s..<e])
            first = false
            skipInline()
            // Continuation lines must be indented deeper than the parent collection.
            let save = (i, line, lineStart)
            var breaks = 0
            while i < b.count, b[i] == SP || b[i] == TAB || b[i] == NL {
                if b[i] == NL { breaks += 1 }
                advance()
            }
            if breaks == 0 || atEOF || col <= parent || b[i] == HASH || isDocumentMarker() {
                (i, line, lineStart) = save
                break
            }
            // Blank lines inside a multi-line plain scalar become newlines.
            if breaks > 1 {
                out.append(contentsOf: repeatElement(NL, count: breaks - 1))
                first = true
            }
        }
        return YAMLNode(.scalar(String(decoding: out, as: UTF8.self), .plain), line: startLine, column: startCol + 1)
    }

    mutating func parseQuoted() throws -> YAMLNode {
        let startLine = line, startCol = col
        let q = b[i]
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else {
                throw error("unterminated \(q == SQUOTE ? "single" : "double")-quoted string", line: startLine, column: startCol + 1)
            }
            let c = b[i]
            if q == SQUOTE && c == SQUOTE {
                if peek(1) == SQUOTE { out.append(SQUOTE); i += 2; continue }
                i += 1
                break
            }
            if q == DQUOTE && c == DQUOTE { i += 1; break }
            if c == NL {
                // Line folding: a single break becomes a space, further blank lines newlines.
                while let l = out.last, l == SP || l == TAB { out.removeLast() }
                var breaks = 0
                while i < b.count, b[i] == NL || b[i] == SP || b[i] == TAB {
                    if b[i] == NL { breaks += 1 }
                    advance()
                }
                if breaks == 1 { out.append(SP) } else { out.append(contentsOf: repeatElement(NL, count: breaks - 1)) }
                continue
            }
            if q == DQUOTE && c == BSLASH {
                i += 1
                guard let e = peek() else { continue }
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(NL)
                case UInt8(ascii: "t"), TAB: out.append(TAB)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "0"): out.append(0)
                case UInt8(ascii: "a"): out.append(7)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "e"): out.append(0x1B)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "v"): out.append(0x0B)
                case UInt8(ascii: "/"), DQUOTE, BSLASH, SP: out.append(e)
                case UInt8(ascii: "N"): out.append(contentsOf: [0xC2, 0x85])
                case UInt8(ascii: "_"): out.append(contentsOf: [0xC2, 0xA0])
                case UInt8(ascii: "L"): out.append(contentsOf: [0xE2, 0x80, 0xA8])
                case UInt8(ascii: "P"): out.append(contentsOf: [0xE2, 0x80, 0xA9])
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
                    var v: UInt32 = 0
                    for _ in 0..<n {
                        guard let h = peek(), let d = hexValue(h) else {
                            throw error("invalid \\\(Character(Unicode.Scalar(e))) escape: expected \(n) hex digits")
                        }
                        v = v << 4 | UInt32(d)
                        i += 1
                    }
                    // JSON spells astral characters as a UTF-16 surrogate pair: \ud83d\ude00.
                    if v >= 0xD800 && v < 0xDC00 && e == UInt8(ascii: "u") && peek() == BSLASH && peek(1) == UInt8(ascii: "u") {
                        var lo: UInt32 = 0
                        var ok = true
                        for k in 0..<4 {
                            guard let h = peek(2 + k), let d = hexValue(h) else { ok = false; break }
                            lo = lo << 4 | UInt32(d)
                        }
                        if ok && lo >= 0xDC00 && lo < 0xE000 {
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                            i += 6
                        }
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw error("escape \\\(Character(Unicode.Scalar(e))) names an invalid code point") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                case NL:
                    // Escaped line break: join without a space, dropping leading indentation.
                    line += 1; lineStart = i
                    while i < b.count, b[i] == SP || b[i] == TAB { i += 1 }
                default:
                    throw error("unknown escape sequence \\\(Character(Unicode.Scalar(e)))")
                }
                continue
            }
            out.append(c)
            i += 1
        }
        return YAMLNode(.scalar(String(decoding: out, as: UTF8.self), q == SQUOTE ? .singleQuoted : .doubleQuoted),
                        line: startLine, column: startCol + 1)
    }

    mutating func parseBlockScalar(parent: Int) throws -> YAMLNode {
        let startLine = line, startCol = col
        let folded = b[i] == UInt8(ascii: ">")
        i += 1
        var chomp: UInt8 = 0  // 0 clip, '-' strip, '+' keep
        var explicit = 0
        while let c = peek(), !isBlank(c) {
            if c == DASH || c == UInt8(ascii: "+") { chomp = c }
            else if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") { explicit = Int(c - UInt8(ascii: "0")) }
            else if c == HASH { break }
            else { throw error("invalid block scalar indicator '\(Character(Unicode.Scalar(c)))'") }
            i += 1
        }
        skipInline()
        guard atEOL else { throw error("text after a block scalar indicator; start the content on the next line") }
        if i < b.count { advance() }
        let base = max(parent, 0)
        var indent = explicit > 0 ? base + explicit : -1
        var lines: [ArraySlice<UInt8>] = []
        var trailingBlank = 0
        while i < b.count {
            let ls = i
            var sp = 0
            while i < b.count, b[i] == SP { i += 1; sp += 1 }
            let isEmpty = i >= b.count || b[i] == NL
            if indent < 0 && !isEmpty {
                if sp <= parent { i = ls; break }
                indent = sp
            }
            if !isEmpty && sp < indent { i = ls; break }
            if isEmpty && indent >= 0 && sp > indent {
                // Whitespace-only line with content beyond the indentation is kept.
            }
            var e = i
            while e < b.count, b[e] != NL { e += 1 }
            let contentStart = indent >= 0 ? min(ls + indent, e) : e
            let content = b[contentStart..<e]
            if content.isEmpty { trailingBlank += 1 } else { trailingBlank = 0 }
            lines.append(content)
            i = e
            if i < b.count { advance() }
        }
        // Leave the position at the start of the line that ended the scalar.
        let body = lines.dropLast(trailingBlank)
        var out: [UInt8] = []
        if folded {
            var prevNormal = false
            var pending = 0
            var first = true
            for l in body {
                if l.isEmpty { pending += 1; continue }
                let more = l.first == SP || l.first == TAB
                if first { out.append(contentsOf: repeatElement(NL, count: pending)) }
                else if prevNormal && !more && pending == 0 { out.append(SP) }
                else if prevNormal && !more { out.append(contentsOf: repeatElement(NL, count: pending)) }
                else { out.append(contentsOf: repeatElement(NL, count: pending + 1)) }
                out.append(contentsOf: l)
                prevNormal = !more
                pending = 0
                first = false
            }
        } else {
            for (k, l) in body.enumerated() {
                if k > 0 { out.append(NL) }
                out.append(contentsOf: l)
            }
        }
        if !body.isEmpty {
            switch chomp {
            case DASH: break
            case UInt8(ascii: "+"): out.append(contentsOf: repeatElement(NL, count: 1 + trailingBlank))
            default: out.append(NL)
            }
        } else if chomp == UInt8(ascii: "+") {
            out.append(contentsOf: repeatElement(NL, count: trailingBlank))
        }
        return YAMLNode(.scalar(String(decoding: out, as: UTF8.self), folded ? .folded : .literal),
                        line: startLine, column: startCol + 1)
    }

    /// YAML 1.1 merge keys (`<<: *base` or `<<: [*a, *b]`), which Prometheus' YAML library
    /// honours: merged pairs fill in keys the mapping does not set itself.
    func applyMerges(_ pairs: [YAMLPair]) throws -> [YAMLPair] {
        guard pairs.contains(where: { $0.key.scalar == "<<" && $0.key.kind == .scalar("<<", .plain) }) else { return pairs }
        var own = pairs.filter { $0.key.kind != .scalar("<<", .plain) }
        var keys = Set(own.compactMap { $0.key.scalar })
        for p in pairs where p.key.kind == .scalar("<<", .plain) {
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

    // MARK: flow collections

    mutating func skipFlowBlank() throws {
        while i < b.count {
            let c = b[i]
            if c == SP || c == TAB || c == NL { advance() }
            else if c == HASH { skipToEOL() }
            else { return }
        }
    }

    mutating func parseFlow() throws -> YAMLNode {
        depth += 1
        defer { depth -= 1 }
        if depth > YAMLParser.maxDepth { throw error("nesting deeper than \(YAMLParser.maxDepth) levels") }
        let startLine = line, startCol = col
        let open = b[i]
        i += 1
        if open == LBRACK {
            var items: [YAMLNode] = []
            while true {
                try skipFlowBlank()
                guard let c = peek() else { throw error("unterminated flow sequence; add ']'", line: startLine, column: startCol + 1) }
                if c == RBRACK { i += 1; break }
                var item = try parseFlowNode()
                try skipFlowBlank()
                if peek() == COLON {
                    // `[a: b]` is a sequence holding a one-pair mapping.
                    i += 1
                    try skipFlowBlank()
                    let v: YAMLNode
                    if peek() == COMMA || peek() == RBRACK { v = YAMLNode(.scalar("", .plain), line: line, column: col + 1) }
                    else { v = try parseFlowNode() }
                    item = YAMLNode(.mapping([YAMLPair(key: item, value: v)]), line: item.line, column: item.column)
                    try skipFlowBlank()
                }
                items.append(item)
                guard let d = peek() else { throw error("unterminated flow sequence; add ']'", line: startLine, column: startCol + 1) }
                if d == COMMA { i += 1; continue }
                if d == RBRACK { i += 1; break }
                throw error("expected ',' or ']' in a flow sequence")
            }
            return YAMLNode(.sequence(items), line: startLine, column: startCol + 1)
        }
        var pairs: [YAMLPair] = []
        var seen: Set<String> = []
        while true {
            try skipFlowBlank()
            guard let c = peek() else { throw error("unterminated flow mapping; add '}'", line: startLine, column: startCol + 1) }
            if c == RBRACE { i += 1; break }
            let key = try parseFlowNode()
            guard key.scalar != nil else { throw error("flow collections as mapping keys are not supported", line: key.line, column: key.column) }
            if !seen.insert(key.scalar!).inserted {
                throw error("duplicate key \"\(key.scalar!)\"", line: key.line, column: key.column)
            }
            try skipFlowBlank()
            var value = YAMLNode(.scalar("", .plain), line: line, column: col + 1)
            if peek() == COLON {
                i += 1
                try skipFlowBlank()
                if peek() != COMMA && peek() != RBRACE { value = try parseFlowNode() }
                try skipFlowBlank()
            }
            pairs.append(YAMLPair(key: key, value: value))
            guard let d = peek() else { throw error("unterminated flow mapping; add '}'", line: startLine, column: startCol + 1) }
            if d == COMMA { i += 1; continue }
            if d == RBRACE { i += 1; break }
            throw error("expected ',' or '}' in a flow mapping")
        }
        return YAMLNode(.mapping(try applyMerges(pairs)), line: startLine, column: startCol + 1)
    }

    mutating func parseFlowNode() throws -> YAMLNode {
        guard let c = peek() else { throw error("unexpected end of input in a flow collection") }
        if c == LBRACK || c == LBRACE { return try parseFlow() }
        if c == SQUOTE || c == DQUOTE { return try parseQuoted() }
        if c == UInt8(ascii: "*") {
            let l = line, cl = col
            let name = readName()
            guard let node = anchors[name] else { throw error("unknown alias *\(name)", line: l, column: cl + 1) }
            return YAMLNode(node.kind, line: l, column: cl + 1)
        }
        if c == COMMA || c == RBRACK || c == RBRACE { throw error("missing value in a flow collection") }
        let startLine = line, startCol = col
        var out: [UInt8] = []
        while i < b.count {
            let d = b[i]
            if d == COMMA || d == RBRACK || d == RBRACE || d == LBRACK || d == LBRACE { break }
            if d == COLON {
                let n = peek(1)
                if isBlank(n) || n == COMMA || n == RBRACK || n == RBRACE { break }
            }
            if d == HASH && (i == lineStart || b[i - 1] == SP || b[i - 1] == TAB) { break }
            if d == NL {
                // Multi-line plain scalars in flow context fold to a space.
                while let l = out.last, l == SP || l == TAB { out.removeLast() }
                advance()
                while i < b.count, b[i] == SP || b[i] == TAB { i += 1 }
                if let n = peek(), n != COMMA, n != RBRACK, n != RBRACE, n != HASH, n != NL, n != COLON { out.append(SP) }
                continue
            }
            out.append(d)
            i += 1
        }
        while let l = out.last, l == SP || l == TAB { out.removeLast() }
        return YAMLNode(.scalar(String(decoding: out, as: UTF8.self), .plain), line: startLine, column: startCol + 1)
    }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}
