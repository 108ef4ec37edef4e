import PromQL
import Storage

/// Builds JSON by appending bytes. Query responses can hold millions of points, so this
/// avoids Codable's intermediate objects and writes Prometheus' exact number formats.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }
    mutating func raw(_ b: UInt8) { bytes.append(b) }

    mutating func string(_ s: String) {
        bytes.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            // '<', '>' and '&' are escaped like Go's encoder so responses are safe to embed in HTML.
            case 0x3C: raw("\\u003c")
            case 0x3E: raw("\\u003e")
            case 0x26: raw("\\u0026")
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    mutating func int(_ v: Int64) { appendDecimal(v, to: &bytes) }

    /// Prometheus' marshalTimestamp: seconds, with exactly three fraction digits when non-zero.
    mutating func timestamp(_ ms: Int64) {
        if ms < 0 { bytes.append(UInt8(ascii: "-")) }
        let t = ms.magnitude
        appendDecimal(t / 1000, to: &bytes)
        let frac = t % 1000
        if frac != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(truncatingIfNeeded: frac / 100) &+ 48)
            bytes.append(UInt8(truncatingIfNeeded: frac / 10 % 10) &+ 48)
            bytes.append(UInt8(truncatingIfNeeded: frac % 10) &+ 48)
        }
    }

    /// `[<seconds>,"<value>"]`, the Prometheus sample pair.
    mutating func point(_ t: Int64, _ v: Double) {
        bytes.append(UInt8(ascii: "["))
        timestamp(t)
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        appendPromValue(v, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func labels(_ l: Labels) {
        raw("{")
        var first = true
        for p in l {
            if !first { raw(",") }
            first = false
            string(p.name)
            raw(":")
            string(p.value)
        }
        raw("}")
    }

    mutating func stringArray(_ a: [String]) {
        raw("[")
        for (i, s) in a.enumerated() {
            if i > 0 { raw(",") }
            string(s)
        }
        raw("]")
    }
}
