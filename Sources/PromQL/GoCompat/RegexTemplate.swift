/// label_replace's replacement: Go's `regexp.Expand` (`$1`, `${1}`, `$name`, `${name}`, `$$`).
/// `groups` are the match's capture groups (0 = the whole match, nil = did not participate);
/// `names` maps a group name to its first index.
func expandTemplate(_ template: String, _ groups: [String?], _ names: [String: Int]) -> String {
    var out = ""
    var chars = Array(template.unicodeScalars)[...]
    while let i = chars.firstIndex(of: "$") {
        out.unicodeScalars.append(contentsOf: chars[chars.startIndex..<i])
        chars = chars[(i + 1)...]
        if chars.first == "$" { out += "$"; chars = chars.dropFirst(); continue }
        var name = ""
        var braced = false
        if chars.first == "{" {
            braced = true
            var j = chars.index(after: chars.startIndex)
            var ok = false
            while j < chars.endIndex {
                let c = chars[j]
                if c == "}" { ok = true; break }
                if !(c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_") { break }
                j += 1
            }
            if !ok || j == chars.index(after: chars.startIndex) { out += "$"; continue }
            name = String(String.UnicodeScalarView(chars[chars.index(after: chars.startIndex)..<j]))
            chars = chars[(j + 1)...]
        } else {
            var j = chars.startIndex
            while j < chars.endIndex, chars[j].properties.isAlphabetic || ("0"..."9").contains(chars[j]) || chars[j] == "_" { j += 1 }
            if j == chars.startIndex { out += "$"; continue }
            name = String(String.UnicodeScalarView(chars[chars.startIndex..<j]))
            chars = chars[j...]
        }
        _ = braced
        if let num = Int(name), name.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if num < groups.count, let g = groups[num] { out += g }
        } else if let idx = names[name], idx < groups.count, let g = groups[idx] {
            out += g
        }
    }
    out.unicodeScalars.append(contentsOf: chars)
    return out
}
