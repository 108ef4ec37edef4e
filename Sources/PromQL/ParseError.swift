// Errors of parsing and evaluation, and the "line:column: parse error:" form Prometheus reports.

public enum ErrorType: String, Sendable {
    case badData = "bad_data", execution, timeout, canceled, `internal`
}

public struct PromQLError: Error, Sendable, CustomStringConvertible {
    public let type: ErrorType
    public let message: String
    public init(_ type: ErrorType, _ message: String) {
        self.type = type
        self.message = message
    }
    public init(type: ErrorType, message: String) {
        self.type = type
        self.message = message
    }
    public var description: String { message }
}

func parseError(_ input: String, _ pos: Int, _ msg: String) -> PromQLError {
    let bytes = Array(input.utf8)
    var line = 1
    var lastBreak = -1
    let p = Swift.min(pos, bytes.count)
    for k in 0..<p where bytes[k] == 10 { line += 1; lastBreak = k }
    return PromQLError(.badData, "\(line):\(p - lastBreak): parse error: \(msg)")
}
