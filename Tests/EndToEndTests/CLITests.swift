import Foundation
import Testing

/// What an operator types first: `--version` and `--help` on both binaries.
@Suite(.timeLimit(.minutes(1)))
struct CLITests {
    static func run(_ binary: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try E2E.binary(binary))
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self))
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
