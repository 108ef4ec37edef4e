/// A string compared and hashed by its UTF-8 bytes, as RE2 and Go compare. Swift's `==` treats
/// canonically equivalent strings as equal ("\u{212A}" KELVIN SIGN == "K"), which a regex's
/// literal shortcut must not: `K` does not match the Kelvin sign in Prometheus.
public struct ExactString: Hashable, Sendable {
    public let string: String
    public init(_ s: String) { string = s }

    public static func == (a: ExactString, b: ExactString) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
