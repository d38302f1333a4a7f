import Foundation
import WireModels

/// `GET /{version}/{waba-id}/message_templates`: Meta's cursor paging over the catalog,
/// `{data: [...], paging: {cursors: {before, after}, next?, previous?}}`, with the `fields`,
/// `status`, `category`, `language` and `name` parameters.
public struct TemplateListing: Sendable {
    public static let defaultLimit = 25
    public static let maximumLimit = 1000

    public var limit = defaultLimit
    public var after: Int?
    public var before: Int?
    public var fields: [String]?
    public var statuses: Set<String>?
    public var categories: Set<String>?
    public var language: String?
    public var name: String?

    public init() {}

    /// Reads the query parameters; an unreadable `limit` or cursor is Meta's error 100.
    public init(query: [String: String]) throws(GraphError) {
        if let raw = query["limit"] {
            guard let limit = Int(raw), (1...Self.maximumLimit).contains(limit) else {
                throw GraphError.invalidParameter("limit must be a number between 1 and \(Self.maximumLimit)")
            }
            self.limit = limit
        }
        if let raw = query["after"] {
            guard let position = Self.position(of: raw) else { throw GraphError.invalidParameter("invalid cursor") }
            after = position
        }
        if let raw = query["before"] {
            guard let position = Self.position(of: raw) else { throw GraphError.invalidParameter("invalid cursor") }
            before = position
        }
        fields = query["fields"].map(Self.list)
        statuses = query["status"].map { Set(Self.list($0).map { $0.uppercased() }) }
        categories = query["category"].map { Set(Self.list($0).map { $0.uppercased() }) }
        language = query["language"]
        name = query["name"]
    }

    /// One page: `baseURL` is where `next`/`previous` point (scheme, host and path of this request).
    public func page(of catalog: TemplateCatalog, baseURL: String) -> JSONValue {
        let matching = catalog.templates.enumerated().filter { matches($0.element) }
        let slice: [(offset: Int, element: TemplateDefinition)]
        if let after {
            slice = Array(matching.filter { $0.offset > after }.prefix(limit))
        } else if let before {
            slice = Array(matching.filter { $0.offset < before }.suffix(limit))
        } else {
            slice = Array(matching.prefix(limit))
        }
        guard let first = slice.first, let last = slice.last else { return .object(["data": .array([])]) }
        var paging: [String: JSONValue] = [
            "cursors": .object([
                "before": .string(Self.cursor(first.offset)), "after": .string(Self.cursor(last.offset)),
            ])
        ]
        if matching.contains(where: { $0.offset > last.offset }) {
            paging["next"] = .string(link(baseURL, cursor: ("after", Self.cursor(last.offset))))
        }
        if matching.contains(where: { $0.offset < first.offset }) {
            paging["previous"] = .string(link(baseURL, cursor: ("before", Self.cursor(first.offset))))
        }
        return .object(["data": .array(slice.map { project($0.element.raw) }), "paging": .object(paging)])
    }

    func matches(_ template: TemplateDefinition) -> Bool {
        if let statuses, !statuses.contains(template.status) { return false }
        if let categories, !categories.contains(template.category) { return false }
        if let language, template.language != language { return false }
        if let name, !template.name.localizedCaseInsensitiveContains(name) { return false }
        return true
    }

    /// Only the requested `fields` (and `id`, which Meta always returns).
    func project(_ raw: JSONValue) -> JSONValue {
        guard let fields, case .object(let object) = raw else { return raw }
        var out: [String: JSONValue] = [:]
        for key in fields + ["id"] {
            if let value = object[key] { out[key] = value }
        }
        return .object(out)
    }

    /// The same query with another cursor, as an absolute URL.
    func link(_ baseURL: String, cursor: (name: String, value: String)) -> String {
        var items: [(String, String)] = [("limit", String(limit))]
        if let fields { items.append(("fields", fields.joined(separator: ","))) }
        if let statuses { items.append(("status", statuses.sorted().joined(separator: ","))) }
        if let categories { items.append(("category", categories.sorted().joined(separator: ","))) }
        if let language { items.append(("language", language)) }
        if let name { items.append(("name", name)) }
        items.append(cursor)
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        let query = items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
        return baseURL + "?" + query.joined(separator: "&")
    }

    /// Opaque cursors like Meta's: base64url of the position in the catalog.
    static func cursor(_ position: Int) -> String {
        Data("sim:\(position)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func position(of cursor: String) -> Int? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("sim:")
        else { return nil }
        return Int(text.dropFirst(4))
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
