import WireModels

/// `GET /api/v1/openapi.json`: the gateway's HTTP API as OpenAPI 3.1, written by hand. Each
/// area lists its operations in its own file; a test checks that every route registered in
/// the router has an operation here, so a new endpoint cannot be forgotten.
public enum OpenAPIDocument {
    /// Add an area's operations here when adding endpoints.
    static var areas: [[APIOperation]] {
        [
            OpenAPIPaths.platform, OpenAPIPaths.access, OpenAPIPaths.crm, OpenAPIPaths.messaging,
            OpenAPIPaths.templates, OpenAPIPaths.integrations, OpenAPIPaths.campaigns, OpenAPIPaths.automation,
            OpenAPIPaths.routing, OpenAPIPaths.reports,
        ]
    }

    static var operations: [APIOperation] { areas.flatMap { $0 } }

    static var json: JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for op in operations { paths[op.path, default: [:]][op.method] = op.json }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "WhatsApp CRM gateway",
                "version": "1",
                "description": """
                REST API (`/api/v1`, `Authorization: Bearer <token>`), Meta's webhook, health and metrics. \
                Lists take `limit` (1–500, default 50) and an opaque `cursor` and answer \
                `{items, next_cursor}`. Errors are `{"error": {"code", "message", "fields"?}}`; unknown \
                body fields are refused (400). Roles: admin (everything), manager (all CRM data, campaigns, \
                reports; reads users, accounts and the audit log), agent (only what it owns; 404 for \
                others' records).
                """,
            ],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": .object(OpenAPISchemas.all),
            ],
        ]
    }

    /// A router path (`/api/v1/users/{id}` or `/api/v1/users/:id`) in OpenAPI form.
    public static func openAPIPath(_ routerPath: String) -> String {
        "/"
            + routerPath.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }.joined(separator: "/")
    }
}
