import Foundation
import Hummingbird
import Storage
import WireModels

/// A PATCH body: a JSON object of the fields to change. Fields not listed as editable are
/// problems of their own, reported with every other bad field in one 400.
struct PatchBody {
    let fields: [String: JSONValue]

    static func read(_ request: Request) async throws -> PatchBody {
        let buffer = try await JSONBody.collect(request, upTo: 64 * 1024)
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: buffer), case .object(let fields) = value
        else { throw APIError(.badRequest, "invalid_json", "request body must be a JSON object") }
        return PatchBody(fields: fields)
    }

    func unknownFields(allowed: Set<String>) -> [String] {
        fields.keys.filter { !allowed.contains($0) }.sorted().map { "\($0): unknown field" }
    }

    /// `owner_id`: absent (nil), null (.some(nil)) or a user id; adds a problem for anything else.
    func ownerId(problems: inout [String]) -> UUID?? {
        guard let value = fields["owner_id"] else { return nil }
        switch value {
        case .null: return .some(nil)
        case .string(let s) where UUID(uuidString: s) != nil: return .some(UUID(uuidString: s))
        default:
            problems.append("owner_id: a user id or null")
            return nil
        }
    }
}

/// Shared by every CRM endpoint.
extension Principal {
    /// Agents see and change only what they own; managers and admins everything.
    var scope: OwnerScope { role == "agent" ? .ownedBy(userId) : .all }
    var actor: String { userId.uuidString }
}

func validationFailed(_ problems: [String]) -> APIError {
    APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
}

/// Parses a `{id}` path segment; a malformed id cannot name a record, so it is a 404.
func pathId(_ context: some RequestContext, _ what: String) throws -> UUID {
    guard let id = UUID(uuidString: try context.parameters.require("id")) else {
        throw APIError(.notFound, "not_found", "no \(what) with this id")
    }
    return id
}

/// `limit` (default 50, max 500) and a keyset `cursor` from a previous page.
struct KeysetPage {
    var limit = 50
    var cursor: KeysetCursor?

    init(_ request: Request, problems: inout [String]) {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            if let n = Int(raw), (1...500).contains(n) { limit = n } else { problems.append("limit: 1 to 500") }
        }
        if let raw = query["cursor"] {
            if let c = KeysetCursor(String(raw)) {
                cursor = c
            } else {
                problems.append("cursor: not a cursor from a previous page")
            }
        }
    }
}

/// A query parameter that must be a UUID when present.
func uuidParameter(_ request: Request, _ name: String, problems: inout [String]) -> UUID? {
    guard let raw = request.uri.queryParameters[Substring(name)].map(String.init) else { return nil }
    guard let id = UUID(uuidString: raw) else {
        problems.append("\(name): must be an id")
        return nil
    }
    return id
}
