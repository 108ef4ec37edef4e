/// Writes Prometheus text exposition: what the built-in collectors hand to the scrape loop,
/// so they get exactly the same processing as scraped targets.
public struct MetricWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var lastFamily = ""

    public init() { bytes.reserveCapacity(32 * 1024) }

    /// Starts a family; repeated calls for the same name are ignored.
    public mutating func family(_ name: String, _ type: String, _ help: String) {
        guard name != lastFamily else { return }
        lastFamily = name
        append("# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n")
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                append(k)
                append("=\"")
                for b in v.utf8 {
                    switch b {
                    case UInt8(ascii: "\\"): append("\\\\")
                    case UInt8(ascii: "\""): append("\\\"")
                    case UInt8(ascii: "\n"): append("\\n")
                    default: bytes.append(b)
                    }
                }
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(formatValue(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

public func formatValue(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == .infinity { return "+Inf" }
    if v == -.infinity { return "-Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return v.description
}
