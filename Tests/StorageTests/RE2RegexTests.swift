import Testing
@testable import Storage

/// `RE2Regex` (libre2 through the CRE2 shim) against the answers Go's regexp gives for
/// Prometheus' `^(?:re)$`: RE2 syntax, whole-string matches, leftmost-first submatches.
@Suite struct RE2RegexTests {
    /// (pattern, input, expected submatches; nil = no match). Index 0 is the whole input.
    static let cases: [(String, String, [String?]?)] = [
        // Character classes (Perl classes are ASCII, \p classes Unicode, as in Go).
        ("[a-c]+", "abcab", ["abcab"]), ("[a-c]+", "abd", nil),
        ("[^0-9]", "x", ["x"]), ("[^0-9]", "5", nil),
        (#"\d+"#, "2024", ["2024"]), (#"\d+"#, "١٢", nil),
        (#"\w+"#, "a_1Z", ["a_1Z"]), (#"\w+"#, "é", nil), (#"\s"#, " ", [" "]), (#"\S+"#, "a b", nil),
        ("[[:alpha:]]+", "abc", ["abc"]), ("[[:digit:]]", "a", nil),
        (#"\pL+"#, "héllo", ["héllo"]), (#"\p{Greek}+"#, "αβγ", ["αβγ"]), (#"\p{Greek}+"#, "abc", nil),
        (#"\.\*"#, ".*", [".*"]), (#"\.\*"#, "ab", nil), (#"\Qa.b\E"#, "a.b", ["a.b"]), (#"\Qa.b\E"#, "axb", nil),
        // Alternation: the whole string must match one alternative; submatches prefer the left one.
        ("a|b|c", "b", ["b"]), ("a|b", "ab", nil), ("foo|foobar", "foobar", ["foobar"]),
        ("(foo|foobar)(bar)?", "foobar", ["foobar", "foo", "bar"]), ("a|", "", [""]),
        // Repetition.
        ("a{2,3}", "a", nil), ("a{2,3}", "aa", ["aa"]), ("a{2,3}", "aaa", ["aaa"]), ("a{2,3}", "aaaa", nil),
        ("a{2}", "aa", ["aa"]), ("a{2,}", "aaaaa", ["aaaaa"]), ("(ab){1,2}", "abab", ["abab", "ab"]),
        ("(a+?)(a*)", "aaa", ["aaa", "a", "aa"]), ("(a*)(a*)", "aaa", ["aaa", "aaa", ""]), ("x?y*", "", [""]),
        // Unicode: `.` is one code point, case folding is Unicode simple folding.
        (".", "é", ["é"]), (".", "😀", ["😀"]), (".", "e\u{301}", nil), ("..", "e\u{301}", ["e\u{301}"]),
        ("(?i)é", "É", ["É"]), ("(?i)straße", "STRASSE", nil), ("(.)(.*)", "日本語", ["日本語", "日", "本語"]),
        // Anchoring: always the whole string; `.` and `$` do not cross or match before a newline.
        ("foo", "foobar", nil), ("foo", "xfoo", nil), ("^foo$", "foo", ["foo"]), (".*foo.*", "xfoox", ["xfoox"]),
        (".*", "a\nb", nil), ("(?s).*", "a\nb", ["a\nb"]), ("a$", "a\n", nil), ("(?m)^b", "a\nb", nil),
        ("", "", [""]), ("", "a", nil), (".*", "", [""]), (".+", "", nil), ("a*", "", [""]),
        // Captures: non-participating groups are nil, empty ones "".
        ("(a)(b)?", "a", ["a", "a", nil]), ("(a)|(b)", "b", ["b", nil, "b"]), ("(x*)y", "y", ["y", ""]),
        ("(?P<year>\\d{4})-(?P<month>\\d{2})", "2024-05", ["2024-05", "2024", "05"]),
        ("(?:a)(b)", "ab", ["ab", "b"]),
        // Prometheus wraps the text: `a)|(b` compiles there (as `^(?:a)|(b)$`) and so it does here.
        ("a)|(b", "a", ["a", nil]), ("a)|(b", "b", ["b", "b"]),
    ]

    @Test func matchesAsGoRegexp() throws {
        for (pattern, input, want) in Self.cases {
            let re = try RE2Regex(pattern)
            #expect(re.matches(input) == (want != nil), "\(pattern) on \(input.debugDescription)")
            #expect(re.match(input) == want, "\(pattern) on \(input.debugDescription)")
        }
    }

    @Test func groupsAndNames() throws {
        let re = try RE2Regex("(?P<year>\\d{4})-(\\d{2})-(?P<day>\\d{2})")
        #expect(re.groupCount == 3)
        #expect(re.groupNames == [nil, "year", nil, "day"])
        #expect(re.groupIndex(named: "day") == 3)
        #expect(re.groupIndex(named: "month") == nil)
        #expect(try RE2Regex("abc").groupCount == 0)
    }

    /// Exponential for a backtracking engine; RE2 answers in one pass over the input.
    @Test func pathologicalPatternsFinish() throws {
        let a40 = String(repeating: "a", count: 40)
        let big = String(repeating: "a", count: 1 << 20)
        for p in ["(a*)*b", "(a|a)*b", "(a+)+b", "(a|aa)+b", "(.*a){20}b", "(x+x+)+y|(a*)*b"] {
            let re = try RE2Regex(p)
            #expect(!re.matches(a40), "\(p)")
            #expect(re.match(a40) == nil, "\(p)")
            #expect(!re.matches(big), "\(p)")
        }
        #expect(try RE2Regex("(a*)*").match(a40)?.first == a40)
        #expect(try RE2Regex("(a+)+").match(big)?.first == big)
        // Deep nesting compiles without exhausting the stack.
        let deep = String(repeating: "(", count: 20_000) + "a" + String(repeating: ")", count: 20_000)
        #expect(try RE2Regex(deep).matches("a"))
    }

    @Test func invalidPatternsAreReported() throws {
        let bad: [(String, String)] = [
            ("(", "missing )"), ("a**", "bad repetition operator"), ("(?=x)", "invalid perl operator"),
            (#"(a)\1"#, "invalid escape sequence"), ("a++", "bad repetition operator"), ("[z-a]", "invalid character class range"),
            ("a{1001}", "invalid repetition size"), (#"\C"#, "invalid escape sequence: \\C"), ("x)", "unexpected )"),
        ]
        for (pattern, reason) in bad {
            do {
                _ = try RE2Regex(pattern)
                Issue.record("\(pattern) should not compile")
            } catch {
                #expect(error.description.hasPrefix("invalid regular expression \"\(pattern)\": "), "\(error)")
                #expect(error.description.contains(reason), "\(error)")
                // The message quotes the user's pattern, not the `^(?:...)$` wrapper.
                #expect(!error.description.contains("^(?:"), "\(error)")
            }
        }
        // Quoted, `\C` is two literal characters.
        #expect(try RE2Regex(#"\Q\C\E"#).matches(#"\C"#))
    }

    /// One compiled regex shared by many threads at once (RE2's const methods are thread-safe).
    @Test func sharedAcrossThreads() throws {
        let re = try RE2Regex("(node|pod)-(\\d+)")
        let results = try ParallelMap.run(2000, minPerWorker: 100) { i in re.match(i % 2 == 0 ? "node-\(i)" : "x\(i)") }
        for (i, r) in results.enumerated() { #expect(r == (i % 2 == 0 ? ["node-\(i)", "node", "\(i)"] : nil)) }
    }

    /// The matcher's regex-free shortcuts give exactly RE2's answers.
    @Test func matcherFastPathsAgreeWithRE2() throws {
        let patterns = [".*", ".+", "foo", "foo.*", "a|b|", "go_|process_", "", "é.*", "x.*", "é", "K|k"]
        // U+212A KELVIN SIGN is canonically equivalent to "K" (Swift's == says equal); RE2 compares bytes.
        let inputs = ["", "a", "b", "foo", "foobar", "foo\nbar", "line\nbreak", "\n", "go_", "process_", "é", "e\u{301}x", "éx", "x",
                      "e\u{301}", "\u{212A}", "K"]
        for p in patterns {
            let m = try LabelMatcher(.regexMatch, "l", p)
            let n = try LabelMatcher(.regexNoMatch, "l", p)
            let re = try RE2Regex(p)
            for s in inputs {
                #expect(m.matches(s) == re.matches(s), "\(p) on \(s.debugDescription)")
                #expect(n.matches(s) == !re.matches(s), "\(p) on \(s.debugDescription)")
            }
        }
    }

    @Test func invalidMatcherIsAnError() {
        #expect { try LabelMatcher(.regexMatch, "job", "(a") } throws: { error in
            // Go's wording, which Prometheus passes on.
            "\(error)".contains("error parsing regexp: missing closing ): `^(?:(a)$`")
        }
        #expect(throws: Never.self) { try LabelMatcher(.regexNoMatch, "job", "a)|(b") }
    }
}
