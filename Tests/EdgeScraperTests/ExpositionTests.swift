import Testing
import Storage
import TestSupport
@testable import EdgeScraper

@Suite struct ExpositionTests {
    func parse(_ s: String, _ f: ExpositionFormat = .prometheusText) throws -> [(String, Double, Int64?)] {
        let p = try ExpositionParser.parse(Array(s.utf8), format: f)
        return p.samples.map { (Labels(p.labels(of: $0)).description, $0.value, $0.timestamp) }
    }

    func failure(_ s: String, _ f: ExpositionFormat = .prometheusText) -> ExpositionError? {
        do { _ = try ExpositionParser.parse(Array(s.utf8), format: f); return nil } catch let e as ExpositionError { return e } catch { return nil }
    }

    /// HELP/TYPE of one family side by side, then a family that comes back after another: one
    /// entry per family, in order of first appearance, the later line winning.
    @Test func metadataPerFamilyWhenFamiliesComeBack() throws {
        let body = "# HELP a first\n# TYPE a counter\n# TYPE b gauge\n# HELP b bee\na 1\nb 2\n# HELP a second\n# TYPE c summary\n"
        let p = try ExpositionParser.parse(Array(body.utf8), format: .prometheusText)
        #expect(p.metadata.map(\.family) == ["a", "b", "c"])
        #expect(p.metadata[0].help == "second" && p.metadata[0].type == .counter)
        #expect(p.metadata[1].help == "bee" && p.metadata[1].type == .gauge)
        #expect(p.metadata[2].type == .summary && p.metadata[2].help == "")
    }

    @Test func textFormat() throws {
        let body = """
        # HELP http_requests_total The total number of HTTP requests.
        # TYPE http_requests_total counter
        http_requests_total{method="post",code="200"} 1027 1395066363000
        http_requests_total{method="post",code="400"}    3 1395066363000

        # Escaping in label values:
        msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
        metric_without_timestamp_and_labels 12.47
        something_weird{problem="division by zero"} +Inf -3982045
        # TYPE rpc_duration_seconds summary
        rpc_duration_seconds{quantile="0.5"} 4773
        rpc_duration_seconds_sum 1.7560473e+07
        rpc_duration_seconds_count 2693
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{le="0.05"} 24054
        http_request_duration_seconds_bucket{le="+Inf"} 144320
        nan_value NaN
        neg -Inf
        trailing_comma{a="1",} 2
        spaced { a = "1" } 3
        """
        let s = try parse(body)
        #expect(s.count == 14)
        #expect(s[0].0 == #"http_requests_total{code="200", method="post"}"#)
        #expect(s[0].1 == 1027 && s[0].2 == 1_395_066_363_000)
        #expect(s[1].1 == 3)
        let ms = try ExpositionParser.parse(Array(body.utf8), format: .prometheusText)
        let labels = Labels(ms.labels(of: ms.samples[2]))
        #expect(labels["path"] == #"C:\DIR\FILE.TXT"#)
        #expect(labels["error"] == "Cannot find file:\n\"FILE.TXT\"")
        #expect(s[2].1 == 1.458255915e9)
        #expect(s[3].1 == 12.47 && s[3].2 == nil)
        #expect(s[4].1 == .infinity && s[4].2 == -3_982_045)
        #expect(s[6].1 == 1.7560473e+07)
        #expect(s[9].0 == #"http_request_duration_seconds_bucket{le="+Inf"}"#)
        #expect(s[10].1.isNaN && s[11].1 == -.infinity)
        #expect(s[12].0 == #"trailing_comma{a="1"}"#)
        #expect(s[13].0 == #"spaced{a="1"}"#)
        #expect(ms.metadata.first { $0.family == "rpc_duration_seconds" }?.type == .summary)
        #expect(ms.metadata.first { $0.family == "http_requests_total" }?.help == "The total number of HTTP requests.")
    }

    @Test func fastFloatPathMatchesStdlib() throws {
        for v in ["0", "1", "-1", "0.1", "12.47", "123456789012345", "1234567890123456789", "0.000001", "3.14159265358979",
                  "1e3", "2.5E-3", "-0.0", "1.", ".5", "99999999999999.9"] {
            let got = try parse("m \(v)")[0].1
            #expect(got == Double(v) || (got == 0.5 && v == ".5"), "value \(v)")
        }
    }

    @Test func floatsAsPrometheus() {
        // Prometheus keeps to pre-Go 1.13 floats and rejects out-of-range values.
        #expect(failure("m 0x1p-2\n") != nil && failure("m 1_000\n") != nil && failure("m 1e400\n") != nil)
        #expect(failure("m Infinity\n") == nil && failure("m -inf\n") == nil)
        #expect(failure("  m 1\n")?.message == "unexpected whitespace before the metric name")
    }

    @Test func openMetrics() throws {
        let body = """
        # TYPE acme_http_router_request_seconds summary
        # UNIT acme_http_router_request_seconds seconds
        # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
        acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
        acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
        acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
        # TYPE foo histogram
        foo_bucket{le="0.01"} 0 # {trace_id="KOO5S4vxi0o"} 0.67
        foo_bucket{le="+Inf"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
        foo_count 17 1520879607.789
        # EOF
        """
        let s = try parse(body, .openMetrics)
        #expect(s.count == 6)
        #expect(s[0].1 == 9036.32)
        #expect(s[4].0 == #"foo_bucket{le="+Inf"}"#)
        #expect(s[4].1 == 17)
        #expect(s[5].2 == 1_520_879_607_789)
        #expect(failure("a 1\n", .openMetrics)?.message == "data does not end with # EOF")
        #expect(failure("a 1\n# EOF\nb 2\n", .openMetrics)?.message.contains("after # EOF") == true)
        #expect(failure("a 1\n\n# EOF\n", .openMetrics)?.line == 2)
        #expect(failure("# TYPE a_seconds counter\n# UNIT a_seconds bytes\n# EOF", .openMetrics)?.line == 2)
    }

    @Test func errorsNameTheLine() {
        #expect(failure("a 1\nb{x=\"1} 2\n")?.line == 2)
        #expect(failure("a 1\nb{x=\"1} 2\n")?.message.contains("unterminated label value") == true)
        #expect(failure("ok 1\nok 2\nbad{ 1\n")?.line == 3)
        #expect(failure("m abc\n")?.message == "invalid value \"abc\": expected a number, NaN, +Inf or -Inf")
        #expect(failure("m\n")?.message.contains("expected a value") == true)
        #expect(failure("m 1 12x\n")?.message.contains("invalid timestamp") == true)
        #expect(failure("m{a=\"1\",a=\"2\"} 1\n")?.message.contains("not unique") == true)
        #expect(failure("# TYPE m blah\n")?.message == "invalid metric type \"blah\"")
        #expect(failure("1m 1")?.line == 1)
        #expect(failure("m{1=\"a\"} 1")?.message.contains("invalid label name") == true)
        #expect(failure("m 1 2 3")?.message.contains("end of the line") == true)
        #expect(failure("m{a=\"x\"} 1 # {t=\"1\"} 1")?.message.contains("exemplars") == true)
        var invalid = Array("m{a=\"".utf8)
        invalid += [0xC3, 0x28]
        invalid += Array("\"} 1\n".utf8)
        #expect(failure(String(decoding: [], as: UTF8.self)) == nil)
        do { _ = try ExpositionParser.parse(invalid, format: .prometheusText); Issue.record("accepted invalid UTF-8") } catch {
            #expect("\(error)".contains("invalid UTF-8"))
        }
        #expect(try! parse("m{a=\"h\u{e9}llo \u{1F600}\"} 1")[0].0 == "m{a=\"h\u{e9}llo \u{1F600}\"}")
    }

    @Test func contentNegotiation() {
        #expect(Exposition.format(contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8") == .openMetrics)
        #expect(Exposition.format(contentType: "text/plain; version=0.0.4; charset=utf-8") == .prometheusText)
        #expect(Exposition.format(contentType: nil) == .prometheusText)
        #expect(Exposition.format(contentType: "application/json") == .prometheusText)
        #expect(Exposition.acceptHeader.hasPrefix("application/openmetrics-text;version=1.0.0,"))
    }

    /// Property: whatever label values and floats a writer emits, the parser reads back exactly.
    @Test func writtenExpositionsRoundTrip() throws {
        var rng = SplitMix(seed: 99)
        let chars: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "é", "😀", "{", "}", ",", "=", "#"]
        for _ in 0..<300 {
            var w = MetricWriter()
            var expected: [(Labels, Double)] = []
            for k in 0..<Int(rng.next() % 8) {
                let name = "m_\(k)"
                var pairs: [(String, String)] = []
                for j in 0..<Int(rng.next() % 4) {
                    let v = String((0..<Int(rng.next() % 6)).map { _ in chars[Int(rng.next() % UInt64(chars.count))] })
                    pairs.append(("l\(j)", v))
                }
                let bits = rng.next()
                let values: [Double] = [Double(bitPattern: bits), Double(Int64(bitPattern: bits) % 1_000_000) / 1000, .infinity, -.infinity, 0]
                var v = values[Int(rng.next() % UInt64(values.count))]
                if v.isNaN || v.isSubnormal { v = 1.5 }
                w.family(name, "gauge", "help \\ with\nnewline")
                w.sample(name, pairs, v)
                expected.append((Labels(pairs.map { Label($0.0, $0.1) } + [Label("__name__", name)]), v))
            }
            let p = try ExpositionParser.parse(w.bytes, format: .prometheusText)
            #expect(p.samples.count == expected.count)
            for (s, e) in zip(p.samples, expected) {
                #expect(Labels(p.labels(of: s)) == e.0)
                #expect(s.value == e.1, "\(e.1) read back as \(s.value)")
            }
            #expect(p.metadata.allSatisfy { $0.help == "help \\ with\nnewline" })
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix(seed: 7)
        let alphabet = Array("ab_:{}=\",# \n\t\\.+-eE019NaInfHELPTYPEUNITOF\r".utf8)
        let seeds = ["# HELP a x\n# TYPE a counter\na_total{l=\"v\",m=\"\\n\"} 1.5 100\n", "foo_bucket{le=\"1\"} 0 # {t=\"x\"} 1 2\n# EOF\n"]
        for round in 0..<5000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 100)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                bytes = Array(seeds[round % 2 == 1 ? (round / 2) % 2 : 0].utf8)
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            for f in [ExpositionFormat.prometheusText, .openMetrics] {
                if let p = try? ExpositionParser.parse(bytes, format: f) {
                    for s in p.samples { _ = p.labels(of: s) }
                }
            }
        }
    }
}
