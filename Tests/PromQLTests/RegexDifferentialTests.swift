import Foundation
import Testing
import Storage
@testable import PromQL

/// RE2 (libre2, through `RE2Regex`) against Go's regexp as Prometheus 2.42 runs it: the same
/// `label_replace` over a table of patterns and inputs, answers and errors compared.
@Suite(.serialized) struct RegexDifferentialTests {
    static let patterns = [
        "[a-c]+", "[^0-9]+", #"\d+"#, #"\w+"#, #"\s*x\S"#, "[[:alpha:]]+", #"\pL+"#, #"\p{Greek}+"#, #"\PL+"#,
        "a|b|c", "foo|foobar", "(foo|foobar)(bar)?", "a{2,3}", "(ab){1,2}", "(a+?)(a*)", "(a*)(a*)", "(a*)*", "(a|b)*",
        "(a*)+", "(a|ab)(c|bcd)(d*)", ".", "..", "(.)(.*)", "(?i)é", "(?i)k", "(?i)straße", "(?s).*", ".*", ".+", "a$", "(?m)^b",
        "(?U)(a+)(a*)", #"\bfoo\b.*"#, #"\Qa.b\E"#, "(?P<first>[a-z]+)-(?P<second>[0-9]+)", "", "a)|(b", "x*",
        "(a*)*b", "(", "a**", "(?=x)", #"(a)\1"#, "a++", "[z-a]", "a{1001}", "(?<n>a)", #"\C"#, #"\Z"#, "x{2}{3}",
    ]
    static let inputs = ["", "a", "aa", "aaa", "ab", "abcd", "abab", "foo", "foobar", "foo bar", "2024", "١٢", "é", "É", "e\u{301}",
                         "\u{212A}", "K", "STRASSE", "straße", "αβγ", "日本語", "a\nb", "a\n", "x\n", " xy", "a.b", "axb", "abc-123", "b",
                         String(repeating: "a", count: 30)]

    /// A PromQL double-quoted string literal for `s`.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    @Test(.timeLimit(.minutes(5)))
    func labelReplaceMatchesRealPrometheus() async throws {
        guard FileManager.default.isExecutableFile(atPath: DifferentialTests.prometheusPath) else {
            Issue.record("\(DifferentialTests.prometheusPath) is missing: install Prometheus 2.42 (Debian package `prometheus`)")
            return
        }
        let prom = try await PrometheusProcess.start()
        defer { prom.stop() }
        let storage = MemoryStorage()
        let engine = Engine()
        var failures: [String] = []
        var matched = 0, total = 0
        for p in Self.patterns {
            for s in Self.inputs {
                let q = "label_replace(label_replace(vector(1), \"x\", \(Self.quote(s)), \"\", \"\"), \"y\", \"[$0][$1][$2][$3]<${first}>\", \"x\", \(Self.quote(p)))"
                total += 1
                let want = await prom.instant(q, 0)
                let got: Outcome
                do { got = .ok(try await engine.instantQuery(q, at: 0, storage: storage)) } catch { got = .err(error.type.rawValue, error.message) }
                if case .ok(.vector(let v)) = want, v.first?.labels["y"] != nil { matched += 1 }
                if let d = compare(got, want, ordered: false) { failures.append("\(p.debugDescription) on \(s.debugDescription): \(d)") }
            }
        }
        print("regex differential: \(total - failures.count)/\(total) agree (\(matched) matches)")
        for f in failures.prefix(40) { print("DIFF " + f) }
        #expect(matched > 50, "the table should exercise matches, not only misses")
        #expect(failures.isEmpty, "\(failures.count) of \(total) differ from Prometheus; first: \(failures.first ?? "")")
    }
}
