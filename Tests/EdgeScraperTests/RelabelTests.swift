import Testing
import Storage
@testable import EdgeScraper

/// Cases from Prometheus' model/relabel/relabel_test.go and the configuration docs.
@Suite struct RelabelTests {
    func rule(_ action: RelabelAction = .replace, src: [String] = [], regex: String = "(.*)", target: String = "",
              replacement: String = "$1", sep: String = ";", modulus: UInt64 = 0) -> RelabelConfig {
        var c = RelabelConfig()
        c.action = action; c.sourceLabels = src; c.regex = regex; c.targetLabel = target
        c.replacement = replacement; c.separator = sep; c.modulus = modulus
        return c
    }

    func run(_ input: [String: String], _ rules: [RelabelConfig]) throws -> [String: String]? {
        let out = Relabel.process(Labels(input), try Relabel.compile(rules))
        return out.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.name, $0.value) }) }
    }

    let abc = ["a": "foo", "b": "bar", "c": "baz"]

    @Test func replace() throws {
        #expect(try run(abc, [rule(src: ["a"], regex: "f(.*)", target: "d", replacement: "ch${1}-ch${1}")])
                == ["a": "foo", "b": "bar", "c": "baz", "d": "choo-choo"])
        #expect(try run(abc, [rule(src: ["a", "b"], regex: "f(.*);(.*)r", target: "a", replacement: "b${1}${2}m")])
                == ["a": "boobam", "b": "bar", "c": "baz"])
        // No match: nothing changes; the regex is anchored, so "o" does not match "foo".
        #expect(try run(abc, [rule(src: ["a"], regex: "o", target: "d", replacement: "x")]) == abc)
        // Replacement expanding to empty deletes the target.
        #expect(try run(abc, [rule(src: ["missing"], regex: "(.*)", target: "a")]) == ["b": "bar", "c": "baz"])
        // Target labels may reference groups; an invalid resulting name is a no-op.
        #expect(try run(["a": "some-name-value"], [rule(src: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${1}", replacement: "${2}")])
                == ["a": "some-name-value", "name": "value"])
        #expect(try run(["a": "some-name-0"], [rule(src: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${3}", replacement: "${1}")])
                == ["a": "some-name-0"])
        #expect(throws: RelabelError.self) { try RelabelRule(rule(src: ["a"], target: "0${1}")) }
        // Named groups, $$ and Go's "longest name" rule ($1x is group "1x", which is empty).
        #expect(try run(["a": "host:9100"], [rule(src: ["a"], regex: "(?P<host>[^:]+):(?P<port>\\d+)", target: "t", replacement: "${port}-$host-$$-$1x")])
                == ["a": "host:9100", "t": "9100-host-$-"])
        // Documented __address__ rewrite.
        #expect(try run(["__address__": "10.1.2.3:8080", "__meta_port": "9102"],
                        [rule(src: ["__address__", "__meta_port"], regex: "([^:]+)(?::\\d+)?;(\\d+)", target: "__address__", replacement: "$1:$2")])?["__address__"]
                == "10.1.2.3:9102")
    }

    @Test func keepAndDrop() throws {
        #expect(try run(abc, [rule(.drop, src: ["a"], regex: ".*o.*")]) == nil)
        #expect(try run(abc, [rule(.drop, src: ["a"], regex: "f")]) == abc)
        #expect(try run(abc, [rule(.keep, src: ["a"], regex: "f.*")]) == abc)
        #expect(try run(abc, [rule(.keep, src: ["a"], regex: "f")]) == nil)
        // Missing source labels join as empty strings.
        #expect(try run(["a": "foo"], [rule(.keep, src: ["a", "b"], regex: "foo;")]) == ["a": "foo"])
        #expect(try run(["a": "foo"], [rule(.drop, src: ["z"], regex: "")]) == nil)
    }

    @Test func keepEqualAndDropEqual() throws {
        let l = ["__tmp_port": "1234", "__port1": "1234", "__port2": "5678"]
        #expect(try run(l, [rule(.keepequal, src: ["__port1"], target: "__tmp_port")]) == l)
        #expect(try run(l, [rule(.keepequal, src: ["__port2"], target: "__tmp_port")]) == nil)
        #expect(try run(l, [rule(.dropequal, src: ["__port1"], target: "__tmp_port")]) == nil)
        #expect(try run(l, [rule(.dropequal, src: ["__port2"], target: "__tmp_port")]) == l)
    }

    @Test func hashmod() throws {
        #expect(try run(abc, [rule(.hashmod, src: ["c"], target: "d", modulus: 1000)])?["d"] == "976")
        #expect(try run(abc, [rule(.hashmod, src: ["a"], target: "d", modulus: 1000)])?["d"] == "696")
        #expect(MD5.hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5.hex([UInt8](repeating: 0x61, count: 1000)) == "cabe45dcc9ae5b66ba86600cca6b8ba8")
    }

    @Test func labelmapDropKeep() throws {
        #expect(try run(["a": "foo", "b1": "bar", "b2": "baz"], [rule(.labelmap, regex: "(b.*)", replacement: "bar_${1}")])
                == ["a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"])
        #expect(try run(["__meta_kubernetes_pod_label_app": "web", "a": "x"], [rule(.labelmap, regex: "__meta_kubernetes_pod_label_(.+)")])
                == ["__meta_kubernetes_pod_label_app": "web", "a": "x", "app": "web"])
        #expect(try run(abc, [rule(.labeldrop, regex: "(b|c)")]) == ["a": "foo"])
        #expect(try run(abc, [rule(.labelkeep, regex: "(b|c)")]) == ["b": "bar", "c": "baz"])
        #expect(try run(abc, [rule(.labeldrop, regex: "b.*")]) == ["a": "foo", "c": "baz"])
    }

    @Test func caseActions() throws {
        #expect(try run(["foo": "BAR"], [rule(.lowercase, src: ["foo"], target: "foo_lowercase")])
                == ["foo": "BAR", "foo_lowercase": "bar"])
        #expect(try run(["foo": "bAr123Foo"], [rule(.uppercase, src: ["foo"], target: "foo_uppercase")])
                == ["foo": "bAr123Foo", "foo_uppercase": "BAR123FOO"])
    }

    /// The regex-free shapes give exactly what RE2 gives.
    @Test func fastPathsAgreeWithRE2() throws {
        let patterns = ["(.*)", "(.+)", ".*", ".+", "foo", "foo.*", "foo.+", "foo(.*)", "__meta_kubernetes_pod_label_(.+)",
                        "a|b|", "(GET|POST)", "go_|process_", "", "x(.+)", "é(.*)", "K|k"]
        let inputs = ["", "a", "b", "foo", "foobar", "GET", "POST", "go_", "process_", "__meta_kubernetes_pod_label_app",
                      "__meta_kubernetes_pod_label_", "line\nbreak", "foo\n", "x", "xy", "é😀", "e\u{301}x", "éx\u{301}", "\u{212A}", "K"]
        for p in patterns {
            let fast = try AnchoredRegex(p)
            let re = try RE2Regex(p)
            for s in inputs {
                #expect(fast.matches(s) == re.matches(s), "\(p) on \(s.debugDescription)")
                #expect(fast.captures(s)?.groups.map { $0.map(String.init) } == re.match(s), "\(p) on \(s.debugDescription)")
            }
        }
    }

    /// Rules beyond the shortcuts go through RE2: Perl classes, counted repetition, named and
    /// optional groups, and patterns that would backtrack exponentially.
    @Test func regexRulesThroughRE2() throws {
        #expect(try run(["pod": "web-7d4b9c-x2z9q"], [rule(src: ["pod"], regex: "(?P<app>[a-z]+)-[0-9a-f]{6}-[a-z0-9]{5}", target: "app", replacement: "${app}")])?["app"]
                == "web")
        #expect(try run(["v": "1.26.3"], [rule(src: ["v"], regex: #"(\d+)\.(\d+)(?:\.(\d+))?"#, target: "minor", replacement: "$1.$2/$3")])?["minor"]
                == "1.26/3")
        #expect(try run(["v": "1.26"], [rule(src: ["v"], regex: #"(\d+)\.(\d+)(?:\.(\d+))?"#, target: "minor", replacement: "$1.$2/$3")])?["minor"]
                == "1.26/")
        #expect(try run(["n": "Straße"], [rule(.keep, src: ["n"], regex: #"\pL+"#)]) == ["n": "Straße"])
        #expect(try run(["n": "node7"], [rule(.drop, src: ["n"], regex: #"node\d{1,2}"#)]) == nil)
        #expect(try run(["n": "node777"], [rule(.drop, src: ["n"], regex: #"node\d{1,2}"#)]) == ["n": "node777"])
        let long = String(repeating: "a", count: 64)
        #expect(try run(["a": long], [rule(.drop, src: ["a"], regex: "(a*)*b")]) == ["a": long])
        #expect(try run(["a": long], [rule(src: ["a"], regex: "(a|a)*", target: "t", replacement: "ok")])?["t"] == "ok")
        #expect(try run(["__meta_kubernetes_pod_label_app_kubernetes_io_name": "api", "__meta_x": "y"],
                        [rule(.labelmap, regex: "__meta_kubernetes_pod_label_(app)_kubernetes_io_(name)", replacement: "${1}_$2")])
                == ["__meta_kubernetes_pod_label_app_kubernetes_io_name": "api", "__meta_x": "y", "app_name": "api"])
        #expect(try run(abc, [rule(.labeldrop, regex: "[bc]")]) == ["a": "foo"])
        #expect(try run(abc, [rule(.labelkeep, regex: "[^c]")]) == ["a": "foo", "b": "bar"])
    }

    /// Perl constructs RE2 lacks are refused with RE2's reason, as Prometheus refuses them.
    @Test func nonRE2SyntaxIsRefused() {
        for (re, reason) in [("foo(?=bar)", "invalid perl operator: (?="), ("(a)\\1", "invalid escape sequence: \\1"),
                             ("a++", "bad repetition operator: ++"), ("(?>a)", "invalid perl operator"), ("(", "missing )")] {
            #expect { try RelabelRule(rule(src: ["a"], regex: re, target: "b")) } throws: { error in
                let m = "\(error)"
                return m.hasPrefix("invalid regular expression \"\(re)\"") && m.contains(reason)
            }
        }
    }

    @Test func validation() {
        #expect(throws: RelabelError.self) { try RelabelRule(rule(.hashmod, src: ["a"], target: "b")) }
        #expect(throws: RelabelError.self) { try RelabelRule(rule(.replace, src: ["a"])) }
        #expect(throws: RelabelError.self) { try RelabelRule(rule(.lowercase, src: ["a"], target: "b", replacement: "x")) }
        #expect(throws: RelabelError.self) { try RelabelRule(rule(.labelmap, replacement: "bad-name")) }
        #expect(throws: RelabelError.self) { try RelabelRule(rule(.replace, src: ["a"], regex: "(", target: "b")) }
        #expect(throws: Never.self) { try RelabelRule(rule(.replace, src: ["a"], target: "${1}_x")) }
        #expect(RelabelRule.isRelabelTarget("foo_${1}") && RelabelRule.isRelabelTarget("$1") && !RelabelRule.isRelabelTarget("1a"))
    }
}
