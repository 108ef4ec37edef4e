import Foundation
import Hummingbird

/// A JSON request body of the admin API: `Content-Type: application/json` (part of the
/// cross-site defence, AdminAccess.swift), at most `maxBytes`, a JSON object whose fields are
/// all known and of the right type. Every refusal names the problem.
struct AdminBody {
    /// A token's labels or a user with a long scope fit many times over.
    static let maxBytes = 64 << 10
    private let fields: [String: Any]

    static func read(_ request: Request, allowed: Set<String>) async -> Result<AdminBody, APIError> {
        let type = (request.headers[.contentType] ?? "").lowercased()
        guard type.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json" else {
            return .failure(APIError(type: "bad_data", message: "the admin API takes a JSON body: send Content-Type: application/json"
                                     + (type.isEmpty ? "" : " (got \(type))"), status: 415))
        }
        var req = request
        let body: ByteBuffer
        do {
            body = try await req.collectBody(upTo: maxBytes)
        } catch {
            return .failure(APIError(type: "bad_data", message: "request body larger than \(maxBytes) bytes", status: 413))
        }
        return parse(Data(body.readableBytesView), allowed: allowed)
    }

    static func parse(_ data: Data, allowed: Set<String>) -> Result<AdminBody, APIError> {
        guard !data.isEmpty else { return .failure(.badData("empty request body: expected a JSON object")) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            // Foundation's own description says only "not in the correct format"; the debug text says where.
            let why = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            return .failure(.badData("invalid JSON in request body: \(why)"))
        }
        guard let fields = object as? [String: Any] else { return .failure(.badData("request body must be a JSON object")) }
        if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
            return .failure(.badData("unknown field \"\(unknown)\" (known: \(allowed.sorted().joined(separator: ", ")))"))
        }
        return .success(AdminBody(fields: fields))
    }

    /// A string field; nil when absent, an error when present with another type.
    func string(_ name: String) throws(APIError) -> String? {
        guard let v = fields[name], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw .badData("field \"\(name)\" must be a string") }
        return s
    }

    func requiredString(_ name: String) throws(APIError) -> String {
        guard let s = try string(name) else { throw .badData("missing field \"\(name)\"") }
        return s
    }

    /// An object of strings, such as `"labels": {"region": "eu"}`; empty when absent.
    func stringMap(_ name: String) throws(APIError) -> [String: String] {
        guard let v = fields[name], !(v is NSNull) else { return [:] }
        guard let o = v as? [String: Any] else { throw .badData("field \"\(name)\" must be an object of strings, e.g. {\"region\": \"eu\"}") }
        var out: [String: String] = [:]
        for (k, x) in o {
            guard let s = x as? String else { throw .badData("\(name).\(k) must be a string") }
            out[k] = s
        }
        return out
    }
}
