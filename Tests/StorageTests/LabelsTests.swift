import Testing

@testable import Storage

@Suite struct LabelsTests {
    @Test func sortsDedupsAndDropsEmptyValues() {
        let l = Labels([Label("b", "2"), Label("a", "1"), Label("c", ""), Label("a", "3")])
        #expect(l.pairs == [Label("a", "3"), Label("b", "2")])
        #expect(l["a"] == "3")
        #expect(l["c"] == nil)
    }

    @Test func printsLikePrometheus() {
        let l = Labels(["__name__": "up", "job": "node", "path": "a\"b\\c\nd"])
        #expect(l.description == #"up{job="node", path="a\"b\\c\nd"}"#)
        #expect(Labels(["__name__": "up"]).description == "up")
    }

    @Test func settingKeepsOrder() {
        let l = Labels(["b": "2"]).setting("a", "1").setting("c", "3").setting("b", "")
        #expect(l.pairs.map(\.name) == ["a", "c"])
    }

    @Test func nameValidation() {
        #expect(isValidLabelName("job_1"))
        #expect(!isValidLabelName("1job"))
        #expect(!isValidLabelName("a-b"))
        #expect(!isValidLabelName(""))
        #expect(isValidMetricName("node:cpu:rate5m"))
        #expect(!isValidLabelName("node:cpu"))
    }

    @Test func matchersAreAnchored() throws {
        let m = try LabelMatcher(.regexMatch, "job", "no.e")
        #expect(m.matches("node"))
        #expect(!m.matches("nodes"))
        #expect(!m.matches("xnode"))
        let alt = try LabelMatcher(.regexMatch, "job", "a|b")
        #expect(alt.matches("a") && alt.matches("b") && !alt.matches("ab"))
        let pre = try LabelMatcher(.regexNoMatch, "job", "api.*")
        #expect(!pre.matches("api-server") && pre.matches("web"))
        #expect(try LabelMatcher(.regexMatch, "x", ".*").matchesEmpty)
        #expect(try !LabelMatcher(.regexMatch, "x", ".+").matchesEmpty)
        #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "x", "(") }
    }

    @Test func memoryStorageSelects() throws {
        let s = MemoryStorage()
        s.append(Labels(["__name__": "up", "job": "a"]), 1000, 1)
        s.append(Labels(["__name__": "up", "job": "b"]), 2000, 0)
        s.append(Labels(["__name__": "up", "job": "a"]), 500, 2)
        let q = try s.querier(mint: 0, maxt: 1500)
        let got = try q.select([.equal("__name__", "up")])
        #expect(got.count == 1)
        #expect(got[0].samples.map(\.t) == [500, 1000])
        #expect(try q.labelValues("job", []) == ["a"])
    }
}
