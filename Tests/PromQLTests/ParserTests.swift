import Testing
import Storage
@testable import PromQL

@Suite struct ParserTests {
    static let roundTrip: [String] = [
        "1", "-1.5", "0x1F", "1e-7", "1e+30", "Inf", "-Inf", "NaN", "\"a\\nb\\\"c\"", "'single'", "`raw\\n`",
        "foo", "foo{}", "foo{a=\"b\"}", "foo{a!=\"b\",c=~\"d|e\",f!~\"g.*\"}", "{__name__=~\"foo.*\"}", "{a=\"b\"}",
        "foo:bar:baz", "foo offset 5m", "foo offset -1h30m", "foo @ 1609746000", "foo @ -10.5", "foo @ start()", "foo @ end()",
        "foo offset 1m @ 100", "foo @ 100 offset 1m", "foo[5m]", "foo[1h30m] offset 2d", "foo[5m] @ end()",
        "foo[5m:]", "foo[5m:30s]", "rate(foo[5m])[1h:5m] offset 10m", "(foo + bar)[5m:1m] @ 123",
        "a + b * c", "(a + b) * c", "a ^ b ^ c", "(a ^ b) ^ c", "-a ^ 2", "-(a ^ 2)", "-a * b", "+a", "- - a",
        "a - -1", "1 - 2 - 3", "1 - (2 - 3)", "a / b % c", "a atan2 b", "a == bool b", "a > bool 1", "1 < bool 2",
        "a and b or c unless d", "a or b and c", "a + on(x, y) b", "a + ignoring(x) b", "a * on() group_left b",
        "a * on(x) group_left(y, z) b", "a / ignoring(x) group_right(y) b", "a and on(x) b", "a or ignoring(x) b",
        "sum(foo)", "sum by (a, b) (foo)", "sum without (a) (foo)", "sum(foo) by (a)", "sum by () (foo)",
        "topk(3, foo)", "bottomk by (a) (2, foo)", "quantile(0.9, foo)", "count_values(\"v\", foo)", "count_values without (a) (\"v\", foo)",
        "avg(rate(foo[5m])) by (job) > 0", "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
        "label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")", "label_join(foo, \"d\", \",\", \"a\", \"b\", \"c\")",
        "round(foo)", "round(foo, 5)", "time()", "vector(1)", "scalar(foo)", "hour()", "hour(foo)", "absent(nonexistent{job=\"x\"})",
        "holt_winters(foo[10m], 0.5, 0.5)", "predict_linear(foo[1h], 3600)", "quantile_over_time(0.5, foo[5m:1m])",
        "sum(rate(foo{job=~\"a|b\"}[5m] offset 1h)) by (instance) / on(instance) group_left count(bar)",
        "foo # a comment\n+ bar", "SUM(foo) BY (a)", "foo and ON(a) bar", "{on=\"x\", by=\"y\", sum=\"z\"}", "sum by (on, by) (foo)",
        "1 + 2 * 3 > bool 4 ^ 2", "foo{a=\"\\u00e9\\x41\"}", "a==b", "a>=b<=c", "abs(-foo)",
    ]

    @Test(arguments: roundTrip)
    func printThenParseGivesTheSameTree(_ q: String) throws {
        let e1 = try parseExpr(q)
        let printed = e1.description
        let e2 = try parseExpr(printed)
        #expect(e1 == e2, "\(q) printed as \(printed)")
        #expect(e2.description == printed)
    }

    @Test func canonicalPrinting() throws {
        let cases: [(String, String)] = [
            ("foo{a='b'}", "foo{a=\"b\"}"),
            ("sum(foo) by (a,b)", "sum by(a, b) (foo)"),
            ("sum without(a)(foo)", "sum without(a) (foo)"),
            ("foo offset 90s", "foo offset 1m30s"),
            ("foo[120m]", "foo[2h]"),
            ("foo[14d]", "foo[2w]"),
            ("foo[13d]", "foo[13d]"),
            ("foo @ 100", "foo @ 100.000"),
            ("a+on(b)group_left(c)d", "a + on(b) group_left(c) d"),
            ("1000000", "1e+06"),
            ("0.0001", "0.0001"),
            ("-1", "-1"),
            ("- foo", "-foo"),
            ("foo[5m:]", "foo[5m:]"),
            ("{__name__=\"foo\", a=\"b\"}", "{__name__=\"foo\",a=\"b\"}"),
        ]
        for (input, want) in cases {
            #expect(try parseExpr(input).description == want, "\(input)")
        }
    }

    @Test func precedenceAndAssociativity() throws {
        guard case .binary(let b) = try parseExpr("a ^ b ^ c"), case .binary(let r) = b.rhs else {
            Issue.record("^ must be right-associative"); return
        }
        #expect(b.lhs == (try parseExpr("a")) && r.op == .pow)
        guard case .binary(let m) = try parseExpr("a - b - c"), case .binary = m.lhs else {
            Issue.record("- must be left-associative"); return
        }
        // Unary minus binds looser than ^ but tighter than *.
        guard case .unary(.sub, let inner) = try parseExpr("-a ^ 2"), case .binary(let p) = inner, p.op == .pow else {
            Issue.record("-a ^ 2 is -(a ^ 2)"); return
        }
        guard case .binary(let mul) = try parseExpr("-a * 2"), mul.op == .mul, case .unary = mul.lhs else {
            Issue.record("-a * 2 is (-a) * 2"); return
        }
        #expect(try parseExpr("-1") == .number(-1))
        guard case .binary(let set) = try parseExpr("a or b and c"), set.op == .lor else {
            Issue.record("and binds tighter than or"); return
        }
        #expect(set.matching?.card == .manyToMany)
    }

    @Test func selectorsAndModifiers() throws {
        guard case .vectorSelector(let vs) = try parseExpr("foo{a=~\"x|y\"} offset -5m @ end()") else {
            Issue.record("not a selector"); return
        }
        #expect(vs.name == "foo")
        #expect(vs.offset == -300_000)
        #expect(vs.at == .end)
        #expect(vs.matchers.contains { $0.name == "__name__" && $0.value == "foo" && $0.type == .equal })
        #expect(vs.matchers.contains { $0.name == "a" && $0.type == .regexMatch })
        guard case .subquery(let sq) = try parseExpr("rate(foo[5m])[1h:] @ 1.5") else { Issue.record("not a subquery"); return }
        #expect(sq.range == 3_600_000 && sq.step == 0 && sq.at == .timestamp(1500))
        guard case .matrixSelector(_, let r) = try parseExpr("foo[1y2w3d4h5m6s7ms]") else { Issue.record("not a range"); return }
        #expect(r == ((365 + 14 + 3) * 24 * 3600 + 4 * 3600 + 5 * 60 + 6) * 1000 + 7)
    }

    @Test func numbers() throws {
        #expect(try parseExpr("0x1f") == .number(31))
        #expect(try parseExpr("017") == .number(15))
        #expect(try parseExpr("1.5e3") == .number(1500))
        #expect(try parseExpr(".5") == .number(0.5))
        if case .number(let v) = try parseExpr("nan") { #expect(v.isNaN) } else { Issue.record("nan") }
        #expect(try parseExpr("-inf") == .number(-.infinity))
    }

    /// Messages and positions as Prometheus 2.42 reports them (taken from the real binary).
    @Test func errorMessagesMatchPrometheus() {
        let cases: [(String, String)] = [
            ("sum(", "1:5: parse error: unclosed left parenthesis"),
            ("foo{", "1:5: parse error: unexpected end of input inside braces"),
            ("1 +", "1:4: parse error: unexpected end of input"),
            ("rate(foo)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"),
            ("foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
            ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
            ("sum(foo) by", "1:12: parse error: unexpected end of input in grouping opts, expected \"(\""),
            ("unknownfn(foo)", "1:1: parse error: unknown function with name \"unknownfn\""),
            ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            ("foo offset", "1:11: parse error: unexpected end of input in offset, expected duration"),
            ("count_values(1, foo)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
            ("topk(foo)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
            ("foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
            ("foo + on(x) 1", "1:1: parse error: vector matching only allowed between instant vectors"),
            ("foo[5m", "1:7: parse error: unclosed left bracket"),
            ("foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"),
            ("foo)", "1:5: parse error: unexpected right parenthesis ')'"),
            ("1 + * 2", "1:5: parse error: unexpected <op:*>"),
            ("foo{a!}", "1:6: parse error: unexpected character after '!' inside braces: '}'"),
            ("rate(foo[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"),
            ("label_join(foo)", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1"),
            ("round(foo, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"),
            ("foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"),
            ("sum by (a) (foo) by (b)", "1:18: parse error: unexpected <by>"),
            ("-\"str\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""),
            ("foo[5m][5m]", "1:8: parse error: ranges only allowed for vector selectors"),
            ("foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""),
            ("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"),
            ("abs(1)", "1:5: parse error: expected type instant vector in call to function \"abs\", got scalar"),
            ("foo + bool 1", "1:5: parse error: bool modifier can only be used on comparison operators"),
            ("foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"),
            ("time(1)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"),
            ("foo[5m][1m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
            ("abs(foo) + rate(foo)", "1:17: parse error: expected type range vector in call to function \"rate\", got instant vector"),
            ("foo + (1 == 1)", "1:10: parse error: comparisons between scalars must use BOOL modifier"),
            ("histogram_quantile(foo, foo)", "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got instant vector"),
            ("foo offset 1m [5m]", "1:15: parse error: no offset modifiers allowed before range"),
            ("foo[0s]", "1:5: parse error: duration must be greater than 0"),
            ("foo[1m:0s]", "1:8: parse error: duration must be greater than 0"),
            ("foo[5m:1m:1m]", "1:10: parse error: unexpected colon ':'"),
            ("foo and on(a) group_left bar", "1:1: parse error: no grouping allowed for \"and\" operation"),
            ("foo * on(a) group_left(a) bar", "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once"),
            ("foo bar", "1:5: parse error: unexpected identifier \"bar\""),
            ("1 1", "1:3: parse error: unexpected number \"1\""),
            ("sum(a, b)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"),
            ("foo{a=\"\\q\"}", "1:7: parse error: unknown escape sequence U+0071 'q'"),
            ("foo +\n  * 2", "2:3: parse error: unexpected <op:*>"),
            ("1 + \"a\"", "1:5: parse error: binary expression must contain only scalar and instant vector types"),
            ("foo offset 0s", "1:12: parse error: duration must be greater than 0"),
            ("foo[1m1h]", "1:5: parse error: not a valid duration string: \"1m1h\""),
            ("sum()", "1:1: parse error: no arguments for aggregate expression provided"),
            ("5m", "1:1: parse error: unexpected duration \"5m\""),
            ("\"a\" \"b\"", "1:5: parse error: unexpected string \"\\\"b\\\"\""),
            ("foo @ start", "1:12: parse error: unexpected end of input in @, expected timestamp"),
            ("(gauge_a)[5m]", "1:10: parse error: ranges only allowed for vector selectors"),
        ]
        for (q, want) in cases {
            do {
                let e = try parseExpr(q)
                Issue.record("\(q) parsed as \(e), want error \(want)")
            } catch {
                #expect(error.type == .badData)
                #expect(error.message == want, "\(q)")
            }
        }
    }

    @Test func durations() throws {
        #expect(try parseDuration("1h30m") == 5_400_000)
        #expect(try parseDuration("15") == 15_000)
        #expect(try parseDuration("0.5") == 500)
        #expect(try parseDuration("1d") == 86_400_000)
        #expect(try parseDuration("250ms") == 250)
        #expect(throws: PromQLError.self) { try parseDuration("1m1h") }
        #expect(throws: PromQLError.self) { try parseDuration("abc") }
        #expect(throws: PromQLError.self) { try parseDuration("") }
        #expect(formatDuration(5_400_000) == "1h30m")
        #expect(formatDuration(0) == "0s")
        #expect(formatDuration(1500) == "1s500ms")
    }

    @Test func promValueFormatting() {
        #expect(formatPromValue(1) == "1")
        #expect(formatPromValue(0.1) == "0.1")
        #expect(formatPromValue(-2.5) == "-2.5")
        #expect(formatPromValue(1e21) == "1e+21")  // as real Prometheus 2.42 answers
        #expect(formatPromValue(1.5e-7) == "1.5e-07")
        #expect(formatPromValue(4.41e-7) == "4.41e-07")
        #expect(formatPromValue(1e-6) == "0.000001")
        #expect(formatPromValue(123456789.125) == "123456789.125")
        #expect(formatPromValue(.nan) == "NaN")
        #expect(formatPromValue(.infinity) == "+Inf")
        #expect(formatPromValue(-.infinity) == "-Inf")
        #expect(formatPromValue(0) == "0")
    }
}

@Suite struct RobustnessTests {
    @Test func deepAndLongExpressionsFailCleanlyOrEvaluate() async throws {
        let s = MemoryStorage()
        s.append(Labels(["__name__": "x"]), 0, 1)
        // At the limits: evaluates without exhausting the stack.
        let chain = Array(repeating: "x", count: 1000).joined(separator: " + ")
        guard case .vector(let v) = try await Engine().instantQuery(chain, at: 0, storage: s) else { Issue.record("no vector"); return }
        #expect(v.first?.v == 1000)
        let nested = String(repeating: "(", count: 190) + "x" + String(repeating: ")", count: 190)
        _ = try await Engine().instantQuery(nested, at: 0, storage: s)
        let unary = String(repeating: "-", count: 150) + "x"
        _ = try await Engine().instantQuery(unary, at: 0, storage: s)
        // Beyond them: a clear bad_data error, no crash.
        for q in [chain + " + x + x", String(repeating: "(", count: 5000) + "x" + String(repeating: ")", count: 5000),
                  String(repeating: "abs(", count: 5000) + "x" + String(repeating: ")", count: 5000)] {
            do {
                _ = try parseExpr(q)
                Issue.record("must be refused: \(q.prefix(20))")
            } catch {
                #expect(error.type == .badData)
            }
        }
    }

    @Test func absurdTimesAndSteps() async throws {
        let s = MemoryStorage()
        s.append(Labels(["__name__": "x"]), 0, 1)
        let e = Engine()
        for q in ["x offset 200000000y", "x offset -200000000y", "rate(x[200000000y] offset 200000000y)", "x @ 9000000000000000",
                  "rate(x[200000000y:1y] offset -200000000y)", "max_over_time(x[1y:1ms])", "x @ -9000000000000000 offset -200000000y"] {
            do {
                _ = try await e.instantQuery(q, at: 0, storage: s)
            } catch {
                #expect(error.type == .execution || error.type == .badData, "\(q): \(error)")
            }
        }
        await #expect(throws: PromQLError.self) {
            _ = try await e.rangeQuery("x", start: Int64.min, end: Int64.max, step: 1, storage: s)
        }
    }
}
