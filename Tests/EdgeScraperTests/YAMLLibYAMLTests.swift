import Testing
import YAMLTree

/// What the hand-written reader accepted, and the positions it gave, read through libyaml.
@Suite struct YAMLLibYAMLTests {
    func err(_ s: String) -> YAMLError? {
        do { _ = try YAML.parse(s); return nil } catch let e as YAMLError { return e } catch { return nil }
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        let colon = err("global:\n  scrape_interval: 15s\n  bad: a: b\n")
        #expect(colon?.line == 3 && colon?.column == 9, "\(String(describing: colon))")
        #expect(colon?.message.contains("mapping values are not allowed") == true)
        let tab = err("a:\n  b: 1\n\tc: 2\n")
        #expect(tab?.line == 3 && tab?.column == 1 && tab?.message.contains("tab") == true, "\(String(describing: tab))")
        let quote = err("a: 1\nb: 'open\n")
        #expect(quote?.line == 2 && quote?.column == 4 && quote?.message.contains("unterminated") == true, "\(String(describing: quote))")
        let brace = err("a: 1\nb: {x: 1, y: 2\n")
        #expect(brace?.line == 2 && brace?.column == 4 && brace?.message.contains("add '}'") == true, "\(String(describing: brace))")
        let alias = err("a: 1\nb: *nowhere\n")
        #expect(alias?.line == 2 && alias?.column == 4 && alias?.message.contains("unknown alias *nowhere") == true)
        #expect(err("a:\n  x: 1\n  x: 2\n").map { ($0.line, $0.column) } ?? (0, 0) == (3, 3))
        #expect(err("? [a, b]\n: c\n")?.message.contains("collections as mapping keys") == true)
        #expect(err("a: \u{7}\n")?.message.contains("control characters") == true)
        #expect(err("a: \"\\ud83d\"\n") != nil, "a lone surrogate is still an error")
    }

    @Test func anchorsAndAliasesEverywhere() throws {
        let doc = try YAML.parse("""
        labels: &l {team: edge, tier: "1"}
        list: &targets
          - a:9100
          - b:9100
        jobs:
          - {name: x, labels: *l, targets: *targets}
          - name: y
            labels: *l
        value: &v plain
        again: *v
        """)
        let jobs = try #require(doc["jobs"]?.sequence)
        #expect(jobs[0]["labels"]?["tier"]?.scalar == "1")
        #expect(jobs[0]["targets"]?.sequence?.compactMap(\.scalar) == ["a:9100", "b:9100"])
        #expect(jobs[1]["labels"]?["team"]?.scalar == "edge")
        #expect(doc["again"]?.scalar == "plain")
        // An alias sits where it is written, not where its anchor was.
        #expect(jobs[1]["labels"]?.line == 8)
        #expect(jobs[1]["labels"]?.column == 13)
    }

    @Test func multiLineStrings() throws {
        let doc = try YAML.parse("""
        plain: first
          second

          third
        single: 'one
          two'
        double: "a\\
          b \\t c"
        literal: |2
            kept indent
          base
        folded: >-
          x
          y
        """)
        #expect(doc["plain"]?.scalar == "first second\nthird")
        #expect(doc["single"]?.scalar == "one two")
        #expect(doc["double"]?.scalar == "ab \t c")
        #expect(doc["literal"]?.scalar == "  kept indent\nbase\n")
        #expect(doc["folded"]?.scalar == "x y")
        #expect(doc["folded"]?.line == 12)
    }

    @Test func flowCollections() throws {
        let doc = try YAML.parse("""
        m: {a: 1, "b": [x, y], c: {d: e}, empty: , f}
        s: [ {k: v}, [1, 2], 'q', one: pair ]
        multi: {
          a: 1,   # comment
          b: 2,
        }
        url: [http://x:80/y, "z"]
        """)
        #expect(doc["m"]?["a"]?.scalar == "1")
        #expect(doc["m"]?["b"]?.sequence?.count == 2)
        #expect(doc["m"]?["c"]?["d"]?.scalar == "e")
        #expect(doc["m"]?["empty"]?.isNull == true)
        #expect(doc["m"]?["f"]?.isNull == true)
        let s = try #require(doc["s"]?.sequence)
        #expect(s.count == 4)
        #expect(s[3]["one"]?.scalar == "pair")
        #expect(doc["multi"]?.mapping?.count == 2)
        #expect(doc["url"]?.sequence?.first?.scalar == "http://x:80/y")
    }

    @Test func documentsAndEmptyInput() throws {
        #expect(try YAML.compose("") == nil)
        #expect(try YAML.compose("# only a comment\n") == nil)
        #expect(try YAML.parse("").isNull)
        #expect(try YAML.parse("---\na: 1\n...\n")["a"]?.scalar == "1")
        #expect(try YAML.parse("%YAML 1.1\n---\na: 1\n")["a"]?.scalar == "1")
        #expect(try YAML.parse("a: 1\r\nb: 2\r\n")["b"]?.line == 2)
        #expect(try YAML.parse("a: !!str 5\n")["a"]?.scalar == "5", "tags are ignored")
        let second = err("a: 1\n---\nb: 2\n")
        #expect(second?.line == 2 && second?.message.contains("multiple") == true)
    }

    @Test func absentValuesSitAtTheirKey() throws {
        let doc = try YAML.parse("a:\n\n\nb: 1\nc:\n")
        #expect(doc["a"]?.isNull == true)
        #expect(doc["a"]?.line == 1)
        #expect(doc["c"]?.line == 5)
    }
}
