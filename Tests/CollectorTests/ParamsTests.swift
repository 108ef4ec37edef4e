import Testing

@testable import Collector

@Suite struct ParamsTests {
    @Test func decodesLikeGo() {
        let p = Params(query: "query=sum%20by%20(job)+(up)&match[]=a&match%5B%5D=b&empty=")
        #expect(p["query"] == "sum by (job) (up)")
        #expect(p.all("match[]") == ["a", "b"])
        #expect(p["empty"] == "")
        #expect(p["missing"] == nil)
    }

    @Test func parsesTimes() throws {
        #expect(try TimeParam.parse("1435781451.781", name: "t") == 1_435_781_451_781)
        #expect(try TimeParam.parse("2015-07-01T20:10:51.781Z", name: "t") == 1_435_781_451_781)
        #expect(try TimeParam.parse("2015-07-01T22:10:51+02:00", name: "t") == 1_435_781_451_000)
        #expect(try TimeParam.parse("2015-07-01T20:10:51.7812345Z", name: "t") == 1_435_781_451_781)
        #expect(throws: APIError.self) { try TimeParam.parse("yesterday", name: "t") }
    }

    @Test func formatsTimestampsLikePrometheus() {
        var w = JSONWriter()
        w.timestamp(1_435_781_451_780)
        w.raw(" ")
        w.timestamp(1000)
        w.raw(" ")
        w.timestamp(1_005)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "1435781451.780 1 1.005")
    }
}
