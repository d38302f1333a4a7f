import Foundation
import Hummingbird
import Storage
import WireModels

/// `limit` (default 50, max 500) and an opaque `cursor`, as every list takes them. The cursor
/// wraps the sort key of the last item of the previous page (base64url of `v1:<key>`), so
/// clients cannot build one and lists can change their key type without breaking them.
struct ListPage {
    static let defaultLimit = 50
    static let maxLimit = 500

    var limit = defaultLimit
    /// The decoded sort key of the cursor, if one was given and valid.
    private(set) var key: String?

    init(_ request: Request, problems: inout Problems) {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            if let n = Int(raw), (1...Self.maxLimit).contains(n) {
                limit = n
            } else {
                problems.add("limit", "a whole number from 1 to \(Self.maxLimit)")
            }
        }
        if let raw = query["cursor"] {
            if let k = Self.decode(String(raw)) {
                key = k
            } else {
                problems.add("cursor", Self.notACursor)
            }
        }
    }

    /// The cursor key as a UUID (lists ordered by id); a malformed one is a problem.
    func uuid(_ problems: inout Problems) -> PageRequest<UUID> {
        PageRequest(after: decodedKey({ UUID(uuidString: $0) }, &problems), limit: limit)
    }

    func int64(_ problems: inout Problems) -> PageRequest<Int64> {
        PageRequest(after: decodedKey({ Int64($0) }, &problems), limit: limit)
    }

    /// The cursor key as a keyset position (created-at microseconds + id: contacts, leads,
    /// tasks, campaigns, outbound webhooks).
    func keyset(_ problems: inout Problems) -> KeysetCursor? {
        decodedKey({ KeysetCursor($0) }, &problems)
    }

    /// The cursor key as a position in a merged list (a contact's timeline).
    func offset(_ problems: inout Problems) -> Int {
        decodedKey({ Int($0).flatMap { $0 >= 0 ? $0 : nil } }, &problems) ?? 0
    }

    /// The cursor key read by `parse` (nil without a cursor); a key it cannot read is a
    /// problem of `cursor`, as a cursor that does not decode is.
    func decodedKey<Key>(_ parse: (String) -> Key?, _ problems: inout Problems) -> Key? {
        guard let key else { return nil }
        guard let value = parse(key) else {
            problems.add("cursor", Self.notACursor)
            return nil
        }
        return value
    }

    private static let notACursor = "not a cursor from a previous page"

    /// A page whose store found the next position itself (nil: this was the last page).
    func page<Item: Encodable>(_ items: [Item], next: String?) -> Page<Item> {
        Page(items: items, nextCursor: next.map(Self.encode))
    }

    /// The page to return: a next cursor only when the page is full.
    func page<Item: Encodable>(_ items: [Item], key: (Item) -> String) -> Page<Item> {
        Page(items: items, nextCursor: items.count == limit ? items.last.map { Self.encode(key($0)) } : nil)
    }

    static func encode(_ key: String) -> String {
        Data(("v1:" + key).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> String? {
        var b64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        b64 += String(repeating: "=", count: (4 - b64.count % 4) % 4)
        // No control characters: PostgreSQL refuses NUL in text, and no key we make has any.
        guard let data = Data(base64Encoded: b64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("v1:"), !text.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return nil }
        return String(text.dropFirst(3))
    }
}

/// Typed query parameters; a bad value is recorded as a problem of that parameter.
struct QueryParameters {
    let request: Request

    init(_ request: Request) { self.request = request }

    /// A free-text filter; empty is the same as absent.
    func string(_ name: String) -> String? {
        present(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// As sent, empty included: a typed parameter given empty (`?as_of=`) is refused, not ignored.
    private func present(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init)
    }

    func isPresent(_ name: String) -> Bool { present(name) != nil }

    func date(_ name: String, _ problems: inout Problems) -> Date? {
        guard let raw = present(name) else { return nil }
        guard let d = RFC3339.date(from: raw) else {
            problems.add(name, "an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z")
            return nil
        }
        return d
    }

    func uuid(_ name: String, _ problems: inout Problems) -> UUID? {
        guard let raw = present(name) else { return nil }
        guard let id = UUID(uuidString: raw) else {
            problems.add(name, "an id (UUID)")
            return nil
        }
        return id
    }

    func oneOf(_ name: String, _ values: [String], _ problems: inout Problems) -> String? {
        guard let raw = present(name) else { return nil }
        guard values.contains(raw) else {
            problems.add(name, "one of \(values.joined(separator: ", "))")
            return nil
        }
        return raw
    }
}

/// A path parameter that must be a UUID; anything else cannot name a record, so it is a 404.
func uuidParameter(_ context: some RequestContext, _ name: String = "id", what: String) throws -> UUID {
    let raw = try context.parameters.require(name)
    guard let id = UUID(uuidString: raw) else { throw APIError.notFound("no \(what) \(raw)") }
    return id
}
