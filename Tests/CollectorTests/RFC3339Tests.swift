import Foundation
import Testing
@testable import Collector

@Suite struct RFC3339Tests {
    /// The alert timestamps Alertmanager and webhook receivers read: the same text as Foundation's
    /// ISO 8601 formatter with fractional seconds (what this code used before), for many instants.
    @Test func matchesFoundationsFormatter() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SystemRandomNumberGenerator()
        var cases: [Int64] = [0, 1, 999, 1000, 1_796_015_086_005, 951_782_400_000 /* 2000-02-29 */, 4_102_444_799_999, -1, -1000, -86_400_001]
        for _ in 0..<2000 { cases.append(Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &rng)) }
        for ms in cases {
            #expect(Notifier.rfc3339(ms) == f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)), "\(ms)")
        }
    }
}
