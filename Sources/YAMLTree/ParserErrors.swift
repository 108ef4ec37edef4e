import CYAML

// libyaml's errors with the position a user needs (1-based line and column) and, for the
// mistakes people make in configs, the wording that says what to do.
extension YAMLTreeBuilder {
    func parserError(_ p: yaml_parser_t) -> YAMLError {
        let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        let context = p.context.map { String(cString: $0) }
        if p.error == YAML_READER_ERROR {
            // Reader errors (control characters) carry a byte offset, not a mark.
            let (line, column) = position(ofByte: Int(p.problem_offset))
            let value = p.problem_value >= 0 ? " (0x\(String(p.problem_value, radix: 16)))" : ""
            return YAMLError(line: line, column: column, message: problem + value)
        }
        let line = Int(p.problem_mark.line) + 1, column = Int(p.problem_mark.column) + 1
        let at = byte(line: line, column: column)
        if at == nil, let open = stack.last(where: \.flow) {
            // The input ended inside `[` or `{`: point at the bracket that was never closed.
            return YAMLError(line: open.line, column: open.column,
                             message: open.isMapping ? "unterminated flow mapping; add '}'" : "unterminated flow sequence; add ']'")
        }
        if at == UInt8(ascii: "\t") {
            return YAMLError(line: line, column: column, message: "tab character used for indentation; indent with spaces")
        }
        if at == nil, context == "while scanning a quoted scalar" {
            return YAMLError(line: Int(p.context_mark.line) + 1, column: Int(p.context_mark.column) + 1,
                             message: "unterminated quoted string; add the closing quote")
        }
        var message = problem
        if let context { message += " (\(context))" }
        if problem.hasPrefix("mapping values are not allowed") {
            message += "; quote a value that holds ': ', or fix the indentation"
        }
        return YAMLError(line: line, column: column, message: message)
    }

    /// The first byte of the character at a 1-based line and column (columns count characters,
    /// as libyaml's do); nil at the end of the input.
    func byte(line: Int, column: Int) -> UInt8? {
        var i = 0, l = 1
        while l < line {
            guard let nl = text[i...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            i = nl + 1
            l += 1
        }
        var c = 1
        while c < column {
            guard i < text.count, text[i] != UInt8(ascii: "\n") else { return i < text.count ? text[i] : nil }
            i += 1
            while i < text.count, text[i] & 0xC0 == 0x80 { i += 1 }  // UTF-8 continuation bytes
            c += 1
        }
        return i < text.count ? text[i] : nil
    }

    func position(ofByte offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for b in text[..<min(offset, text.count)] {
            if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }
}

/// JSON writes characters beyond the BMP as UTF-16 surrogate pairs (`\ud83d\ude00`); YAML's
/// `\u` cannot express those, its `\U0001f600` can.
enum SurrogateEscapes {
    /// The text with every escaped surrogate pair rewritten; nil when there is none.
    static func join(_ b: [UInt8]) -> [UInt8]? {
        let backslash = UInt8(ascii: "\\"), u = UInt8(ascii: "u")
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var changed = false
        var i = 0
        while i < b.count {
            guard b[i] == backslash else { out.append(b[i]); i += 1; continue }
            if i + 12 <= b.count, b[i + 1] == u, let hi = hex4(b, i + 2), (0xD800...0xDBFF).contains(hi),
               b[i + 6] == backslash, b[i + 7] == u, let lo = hex4(b, i + 8), (0xDC00...0xDFFF).contains(lo) {
                let v = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                let digits = String(v, radix: 16)
                out += Array("\\U".utf8) + Array(repeatElement(UInt8(ascii: "0"), count: 8 - digits.count)) + Array(digits.utf8)
                i += 12
                changed = true
                continue
            }
            // Any other escape is copied whole, so `\\u…` is never read as an escape.
            out.append(b[i])
            if i + 1 < b.count { out.append(b[i + 1]) }
            i += 2
        }
        return changed ? out : nil
    }

    static func hex4(_ b: [UInt8], _ at: Int) -> Int? {
        var v = 0
        for k in at..<(at + 4) {
            let c = b[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | Int(d)
        }
        return v
    }
}
