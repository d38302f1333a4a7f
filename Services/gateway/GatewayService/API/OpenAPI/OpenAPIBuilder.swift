import WireModels

/// Small helpers to write the OpenAPI 3.1 document by hand in code (no generator): an
/// operation is a method + path + summary + parameters + body + responses, and each area of
/// the API contributes its operations in its own file (`OpenAPIDocument.areas`).
struct APIOperation: Sendable {
    var method: String
    /// OpenAPI form, e.g. `/api/v1/users/{id}`.
    var path: String
    var tag: String
    var summary: String
    var auth = true
    var parameters: [JSONValue] = []
    var requestSchema: JSONValue?
    var responses: [String: JSONValue] = [:]

    init(
        _ method: String, _ path: String, tag: String, _ summary: String, auth: Bool = true,
        query: [JSONValue] = [], body: JSONValue? = nil, responses: [String: JSONValue]
    ) {
        self.method = method.lowercased()
        self.path = path
        self.tag = tag
        self.summary = summary
        self.auth = auth
        self.parameters = Self.pathParameters(path) + query
        // A create body reads a null optional field as absent (`JSONBody`, and `Decodable`'s
        // optionals); the document says so. PATCH bodies refuse null where it means nothing.
        self.requestSchema = method.uppercased() == "POST" ? body.map(Self.nullOptionals) : body
        self.responses = responses
        if auth {
            self.responses["401"] = OA.errorResponse("missing, invalid, revoked or expired token")
            self.responses["403"] = self.responses["403"] ?? OA.errorResponse("the caller's role may not do this")
        }
        if body != nil || !query.isEmpty {
            self.responses["400"] =
                self.responses["400"]
                ?? OA.errorResponse("a query parameter or the body failed validation (every bad field listed)")
        }
    }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "summary": .string(summary), "tags": .array([.string(tag)]),
            "operationId": .string(method + path.replacingOccurrences(of: "/", with: "_")),
            "responses": .object(responses),
        ]
        if !parameters.isEmpty { o["parameters"] = .array(parameters) }
        if let requestSchema {
            o["requestBody"] = .object([
                "required": true, "content": .object(["application/json": .object(["schema": requestSchema])]),
            ])
        }
        o["security"] = auth ? .array([.object(["bearer": .array([])])]) : .array([])
        return .object(o)
    }

    /// An object schema whose properties outside `required` also take null.
    static func nullOptionals(_ schema: JSONValue) -> JSONValue {
        guard case .object(var object) = schema, case .object(var properties)? = object["properties"] else {
            return schema
        }
        let required = Set((object["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        for (name, property) in properties where !required.contains(name) {
            guard case .object(var p) = property else { continue }
            switch p["type"] {
            case .string(let type)?: p["type"] = .array([.string(type), "null"])
            case .array(let types)? where !types.contains("null"): p["type"] = .array(types + ["null"])
            default: continue
            }
            if case .array(let values)? = p["enum"], !values.contains(.null) { p["enum"] = .array(values + [.null]) }
            properties[name] = .object(p)
        }
        object["properties"] = .object(properties)
        return .object(object)
    }

    static func pathParameters(_ path: String) -> [JSONValue] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
            .object([
                "name": .string(String($0.dropFirst().dropLast())), "in": "path", "required": true,
                "schema": OA.string,
            ])
        }
    }
}

/// Schema shorthands.
enum OA {
    static let string: JSONValue = ["type": "string"]
    static let nullableString: JSONValue = ["type": .array(["string", "null"])]
    static let uuid: JSONValue = ["type": "string", "format": "uuid"]
    static let nullableUUID: JSONValue = ["type": .array(["string", "null"]), "format": "uuid"]
    static let dateTime: JSONValue = ["type": "string", "format": "date-time"]
    static let nullableDateTime: JSONValue = ["type": .array(["string", "null"]), "format": "date-time"]
    static let bool: JSONValue = ["type": "boolean"]
    static let int: JSONValue = ["type": "integer"]
    static let any: JSONValue = [:]

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    static func enumeration(_ values: [String]) -> JSONValue {
        ["type": "string", "enum": .array(values.map { .string($0) })]
    }

    static func object(_ properties: [String: JSONValue], required: [String] = [], closed: Bool = false) -> JSONValue {
        var o: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
        if closed { o["additionalProperties"] = false }
        return .object(o)
    }

    static func query(_ name: String, _ schema: JSONValue = string, _ description: String = "") -> JSONValue {
        [
            "name": .string(name), "in": "query", "required": false, "schema": schema,
            "description": .string(description),
        ]
    }

    static let paging: [JSONValue] = [
        query("limit", ["type": "integer", "minimum": 1, "maximum": 500, "default": 50]),
        query("cursor", string, "next_cursor of the previous page"),
    ]

    static func jsonResponse(_ description: String, _ schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    static func page(_ item: JSONValue) -> JSONValue {
        jsonResponse(
            "one page",
            object(["items": array(item), "next_cursor": nullableString], required: ["items", "next_cursor"]))
    }

    static func errorResponse(_ description: String) -> JSONValue { jsonResponse(description, ref("Error")) }
    static func empty(_ description: String) -> JSONValue { ["description": .string(description)] }
}
