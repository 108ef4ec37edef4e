import Foundation
import Testing
import TestSupport

/// What an operator types first: `--version` and `--help` on both binaries.
@Suite(.timeLimit(.minutes(1)))
struct CLITests {
    /// Exit status and everything printed (stdout, then stderr).
    static func run(_ binary: String, _ args: [String]) throws -> (Int32, String) {
        let r = try runTool(try E2E.binary(binary), args)
        return (r.status, r.out + r.err)
    }

    @Test(arguments: ["collector", "edge-scraper"])
    func versionIsPrinted(binary: String) throws {
        let (status, out) = try Self.run(binary, ["--version"])
        #expect(status == 0, "\(out)")
        #expect(out.range(of: #"^\d+\.\d+\.\d+\s*$"#, options: .regularExpression) != nil, "\(out)")
    }

    /// Config errors end with "See 'collector --help'": that page must name the flags.
    @Test func collectorHelpNamesTheServeFlags() throws {
        let (status, out) = try Self.run("collector", ["--help"])
        #expect(status == 0)
        for flag in ["--listen", "--data-dir", "--config", "collector serve --help"] { #expect(out.contains(flag), "\(out)") }
    }
}
