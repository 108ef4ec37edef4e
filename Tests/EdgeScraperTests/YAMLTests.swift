import Testing
import TestSupport
@testable import EdgeScraper
import YAMLTree

@Suite struct YAMLTests {
    @Test func blockMappingsAndSequences() throws {
        let doc = try YAML.parse("""
        # comment
        global:
          scrape_interval: 15s   # trailing comment
          external_labels:
            cluster: edge-1
        scrape_configs:
        - job_name: node
          static_configs:
            - targets: ['localhost:9100', "other:9100"]
              labels: {site: shop-7, 'zone': "a"}
        - job_name: x
        """)
        #expect(doc["global"]?["scrape_interval"]?.scalar == "15s")
        #expect(doc["global"]?["external_labels"]?["cluster"]?.scalar == "edge-1")
        let sc = try #require(doc["scrape_configs"]?.sequence)
        #expect(sc.count == 2)
        #expect(sc[0]["job_name"]?.scalar == "node")
        let st = try #require(sc[0]["static_configs"]?.sequence?.first)
        #expect(st["targets"]?.sequence?.compactMap(\.scalar) == ["localhost:9100", "other:9100"])
        #expect(st["labels"]?["zone"]?.scalar == "a")
        #expect(sc[1]["job_name"]?.line == 11)
        #expect(sc[1]["job_name"]?.column == 13)
        #expect(doc["global"]?["scrape_interval"]?.line == 3)
    }

    @Test func scalarsAndEscapes() throws {
        let doc = try YAML.parse(#"""
        a: 'it''s'
        b: "tab\there \"q\" \u00e9 \x41"
        c: plain text with colon-in-url http://x:80/y
        d: ~
        e:
        f: ""
        g: multi
          line plain
        h: "folded
          quoted"
        """#)
        #expect(doc["a"]?.scalar == "it's")
        #expect(doc["b"]?.scalar == "tab\there \"q\" é A")
        #expect(doc["c"]?.scalar == "plain text with colon-in-url http://x:80/y")
        #expect(doc["d"]?.isNull == true)
        #expect(doc["e"]?.isNull == true)
        #expect(doc["f"]?.isNull == false)
        #expect(doc["f"]?.scalar == "")
        #expect(doc["g"]?.scalar == "multi line plain")
        #expect(doc["h"]?.scalar == "folded quoted")
    }

    @Test func blockScalars() throws {
        let doc = try YAML.parse("""
        lit: |
          line 1
            indented
          line 3

        fold: >
          one
          two

          three
        strip: |-
          x
        keep: |+
          y

        last: z
        """)
        #expect(doc["lit"]?.scalar == "line 1\n  indented\nline 3\n")
        #expect(doc["fold"]?.scalar == "one two\nthree\n")
        #expect(doc["strip"]?.scalar == "x")
        #expect(doc["keep"]?.scalar == "y\n\n")
        #expect(doc["last"]?.scalar == "z")
    }

    @Test func sequencesAtKeyIndentationAndNested() throws {
        let doc = try YAML.parse("""
        a:
        - 1
        - - 2
          - 3
        - k: v
          k2: v2
        b: [x, [y, z], {p: q}]
        c: {}
        d: []
        """)
        let a = try #require(doc["a"]?.sequence)
        #expect(a.count == 3)
        #expect(a[1].sequence?.compactMap(\.scalar) == ["2", "3"])
        #expect(a[2]["k2"]?.scalar == "v2")
        #expect(doc["b"]?.sequence?[1].sequence?.count == 2)
        #expect(doc["b"]?.sequence?[2]["p"]?.scalar == "q")
        #expect(doc["c"]?.mapping?.isEmpty == true)
        #expect(doc["d"]?.sequence?.isEmpty == true)
    }

    @Test func jsonIsAccepted() throws {
        let doc = try YAML.parse(#"{"kind":"PodList","items":[{"n":1,"ok":true,"s":"\ud83d\ude00 \u00e9\/x","nul":null}],"e":[]}"#)
        #expect(doc["kind"]?.scalar == "PodList")
        let item = try #require(doc["items"]?.sequence?.first)
        #expect(item["n"]?.scalar == "1" && item["ok"]?.scalar == "true")
        #expect(item["s"]?.scalar == "\u{1F600} \u{e9}/x")
        #expect(item["nul"]?.isNull == true)
        #expect(doc["e"]?.sequence?.isEmpty == true)
    }

    @Test func anchorsAndAliases() throws {
        let doc = try YAML.parse("""
        base: &b
          x: 1
        copy: *b
        """)
        #expect(doc["copy"]?["x"]?.scalar == "1")
        let merged = try YAML.parse("""
        defaults: &defaults
          scrape_interval: 30s
          scheme: https
        extra: &extra {metrics_path: /m}
        job:
          <<: [*defaults, *extra]
          scheme: http
        """)
        #expect(merged["job"]?["scrape_interval"]?.scalar == "30s")
        #expect(merged["job"]?["scheme"]?.scalar == "http")
        #expect(merged["job"]?["metrics_path"]?.scalar == "/m")
        #expect(merged["job"]?["<<"] == nil)
        #expect(throws: YAMLError.self) { try YAML.parse("a:\n  <<: 3\n") }
    }

    @Test func errorsNameLineAndColumn() {
        func err(_ s: String) -> YAMLError? {
            do { _ = try YAML.parse(s); return nil } catch let e as YAMLError { return e } catch { return nil }
        }
        #expect(err("a: 1\na: 2")?.line == 2)
        #expect(err("a: 1\na: 2")?.message.contains("duplicate key") == true)
        #expect(err("a:\n  b: 1\n   c: 2")?.line == 3)
        #expect(err("a: \"unterminated\nb: 2")?.message.contains("unterminated") == true)
        #expect(err("a: [1, 2")?.message.contains("unterminated flow sequence") == true)
        #expect(err("a: b: c")?.line == 1)
        #expect(err("a:\n\tb: 1")?.message.contains("tab") == true)
        #expect(err("a: 1\n  b: 2")?.line == 2)
        #expect(err("a: \"\\q\"")?.message.contains("escape") == true)
        #expect(err("a: 1\n---\nb: 2")?.message.contains("multiple") == true)
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix(seed: 42)
        let alphabet = Array("ab:- \n\t#'\"[]{},|>&*!%\\x0.~?\r".utf8)
        let seeds = ["a: 1\nb:\n  - x\n  - {y: z}\n", "k: |\n  t\n", "s: 'q''q'\n", "- [a, {b: c}]\n"]
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 80)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                bytes = Array(seeds[round % seeds.count].utf8)
                for _ in 0..<3 where !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            _ = try? YAML.parse(String(decoding: bytes, as: UTF8.self))
        }
        // Deep nesting is an error, not a stack overflow.
        #expect(throws: YAMLError.self) { try YAML.parse(String(repeating: "[", count: 10_000)) }
        #expect(throws: YAMLError.self) { try YAML.parse(String(repeating: "- ", count: 10_000) + "x") }
        var deep = ""
        for d in 0..<5_000 { deep += String(repeating: " ", count: d) + "k\(d):\n" }
        #expect(throws: YAMLError.self) { try YAML.parse(deep) }
    }
}
