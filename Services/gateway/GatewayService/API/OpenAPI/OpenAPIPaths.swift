import Storage
import WireModels

/// The operations of each API area (see `OpenAPIDocument.areas`).
enum OpenAPIPaths {
    static let text: JSONValue = ["description": "plain text", "content": ["text/plain": ["schema": OA.string]]]

    /// Meta's webhook, health, metrics and this document.
    static var platform: [APIOperation] {
        [
            APIOperation(
                "GET", "/webhooks/whatsapp", tag: "webhook", "Meta's verification handshake", auth: false,
                query: [OA.query("hub.mode"), OA.query("hub.verify_token"), OA.query("hub.challenge")],
                responses: ["200": text, "403": OA.empty("mode or verify token do not match")]),
            APIOperation(
                "POST", "/webhooks/whatsapp", tag: "webhook", "Meta's event callback (signed X-Hub-Signature-256)",
                auth: false,
                responses: [
                    "200": OA.empty("durably in Kafka"), "400": OA.empty("not JSON or not a WhatsApp object"),
                    "401": OA.empty("missing or bad signature"), "413": OA.empty("body over the limit"),
                    "503": OA.empty("Kafka cannot take it; Meta retries"),
                ]),
            APIOperation("GET", "/healthz", tag: "health", "process alive", auth: false, responses: ["200": text]),
            APIOperation(
                "GET", "/readyz", tag: "health", "Kafka and PostgreSQL reachable", auth: false,
                responses: ["200": text, "503": text]),
            APIOperation(
                "GET", "/metrics", tag: "health", "Prometheus metrics (text format)", auth: false,
                responses: ["200": text]),
            APIOperation(
                "GET", "/api/v1/openapi.json", tag: "meta", "this document (OpenAPI 3.1)", auth: false,
                responses: ["200": OA.jsonResponse("the document", ["type": "object"])]),
        ]
    }

    static var access: [APIOperation] {
        let userBody = OA.object(
            [
                "name": OA.string, "email": OA.nullableString, "role": OA.enumeration(["admin", "manager", "agent"]),
                "department": OA.nullableString, "active": OA.bool,
            ], closed: true)
        let accountBody = OA.object(
            [
                "waba_id": OA.string, "name": OA.string, "access_token": OA.nullableString,
                "app_secret": OA.nullableString, "verify_token": OA.nullableString,
            ], closed: true)
        let phoneBody = OA.object(
            [
                "phone_number_id": OA.string, "display_phone_number": OA.nullableString, "account_id": OA.uuid,
                "messages_per_second": ["type": "integer", "minimum": 1, "maximum": 1000],
                "tier": OA.enumeration(PhoneNumberRow.tiers), "department": OA.nullableString,
            ], closed: true)
        let conflict = OA.errorResponse("a record with this natural key exists")
        let notFound = OA.errorResponse("no such record")
        return [
            APIOperation(
                "GET", "/api/v1/users", tag: "users", "list users (admin, manager)", query: OA.paging,
                responses: ["200": OA.page(OA.ref("User"))]),
            APIOperation(
                "POST", "/api/v1/users", tag: "users", "create a user (admin)",
                body: OA.object(
                    [
                        "name": OA.string, "email": OA.string, "role": OA.enumeration(["admin", "manager", "agent"]),
                        "department": OA.string, "active": OA.bool,
                    ], required: ["name", "role"], closed: true),
                responses: ["201": OA.jsonResponse("created", OA.ref("User")), "409": conflict]),
            APIOperation(
                "PATCH", "/api/v1/users/{id}", tag: "users", "change a user (admin); null clears email/department",
                body: userBody,
                responses: [
                    "200": OA.jsonResponse("changed", OA.ref("User")), "404": notFound,
                    "409": OA.errorResponse("email taken, or no active admin would be left"),
                ]),
            APIOperation(
                "POST", "/api/v1/tokens", tag: "tokens",
                "create an API token; the token is in this answer only (own tokens: anyone; others': admin)",
                body: OA.object(
                    ["user_id": OA.uuid, "name": OA.string, "expires_at": OA.dateTime], required: ["name"],
                    closed: true),
                responses: [
                    "201": OA.jsonResponse(
                        "created",
                        ["allOf": [OA.ref("Token"), OA.object(["token": OA.string], required: ["token"])]]),
                    "422": OA.errorResponse("unknown or inactive user"),
                ]),
            APIOperation(
                "GET", "/api/v1/tokens", tag: "tokens",
                "token metadata (never the token): own; admins: any user's (user_id) or all (all=true)",
                query: OA.paging + [OA.query("user_id", OA.uuid), OA.query("all", OA.bool)],
                responses: ["200": OA.page(OA.ref("Token"))]),
            APIOperation(
                "DELETE", "/api/v1/tokens/{id}", tag: "tokens", "revoke a token (own: anyone; others': admin)",
                responses: ["204": OA.empty("revoked"), "404": notFound]),
            APIOperation(
                "GET", "/api/v1/accounts", tag: "accounts", "list WhatsApp Business accounts (admin, manager)",
                query: OA.paging, responses: ["200": OA.page(OA.ref("Account"))]),
            APIOperation(
                "POST", "/api/v1/accounts", tag: "accounts",
                "add an account (admin); secrets are write-only and stored encrypted",
                body: OA.object(
                    [
                        "waba_id": OA.string, "name": OA.string, "access_token": OA.string, "app_secret": OA.string,
                        "verify_token": OA.string,
                    ], required: ["waba_id", "name"], closed: true),
                responses: [
                    "201": OA.jsonResponse("created", OA.ref("Account")), "409": conflict,
                    "422": OA.errorResponse("a secret was given but the gateway has no CRM_SECRET_KEY"),
                ]),
            APIOperation(
                "GET", "/api/v1/accounts/{id}", tag: "accounts", "one account (admin, manager)",
                responses: ["200": OA.jsonResponse("the account", OA.ref("Account")), "404": notFound]),
            APIOperation(
                "PATCH", "/api/v1/accounts/{id}", tag: "accounts", "change an account (admin); null clears a secret",
                body: accountBody,
                responses: [
                    "200": OA.jsonResponse("changed", OA.ref("Account")), "404": notFound, "409": conflict,
                    "422": OA.errorResponse("a secret was given but the gateway has no CRM_SECRET_KEY"),
                ]),
            APIOperation(
                "GET", "/api/v1/phone-numbers", tag: "phone numbers", "list business numbers (admin, manager)",
                query: OA.paging + [OA.query("account_id", OA.uuid)],
                responses: ["200": OA.page(OA.ref("PhoneNumber"))]),
            APIOperation(
                "POST", "/api/v1/phone-numbers", tag: "phone numbers", "add a business number (admin)",
                body: phoneBody,
                responses: [
                    "201": OA.jsonResponse("created", OA.ref("PhoneNumber")), "409": conflict,
                    "422": OA.errorResponse("unknown account"),
                ]),
            APIOperation(
                "PATCH", "/api/v1/phone-numbers/{id}", tag: "phone numbers", "change a business number (admin)",
                body: phoneBody,
                responses: [
                    "200": OA.jsonResponse("changed", OA.ref("PhoneNumber")), "404": notFound, "409": conflict,
                    "422": OA.errorResponse("unknown account"),
                ]),
            APIOperation(
                "GET", "/api/v1/audit-log", tag: "audit", "every API write, newest first (admin, manager)",
                query: OA.paging + [
                    OA.query("actor", OA.string, "a user id, or crmctl for changes made with the operator tool"),
                    OA.query("entity", OA.string, "e.g. user, token, account"),
                    OA.query("since", OA.dateTime),
                ],
                responses: ["200": OA.page(OA.ref("AuditEntry"))]),
        ]
    }

    static var messaging: [APIOperation] {
        let notFound = OA.errorResponse("no such record (or not in an agent's scope)")
        return [
            APIOperation(
                "GET", "/api/v1/messages/{wamid}", tag: "messages",
                "one message with its status history (agents: their contacts only)",
                responses: ["200": OA.jsonResponse("the message", OA.ref("Message")), "404": notFound]),
            APIOperation(
                "POST", "/api/v1/messages", tag: "messages",
                "queue a template or text send through the policy gate (agents: to their contacts only)",
                body: OA.object(
                    [
                        "to": OA.string, "text": OA.string,
                        "template": OA.object(["name": OA.string, "language": OA.string, "variables": OA.any]),
                        "idempotency_key": OA.string, "test": OA.bool, "campaign_id": OA.uuid,
                        "phone_number_id": OA.string,
                    ],
                    required: ["to"]),
                responses: [
                    "202": OA.jsonResponse("queued", OA.object(["request_id": OA.string], required: ["request_id"])),
                    "404": notFound, "409": OA.errorResponse("idempotency_key used by another user"),
                    "422": OA.errorResponse("refused by the policy gate, with the reason"),
                    "503": OA.errorResponse("Kafka unavailable; retry"),
                ]),
            APIOperation(
                "GET", "/api/v1/sends/{requestId}", tag: "messages", "state of a send request and its attempts",
                responses: ["200": OA.jsonResponse("the send", OA.ref("Send")), "404": notFound]),
            APIOperation(
                "GET", "/api/v1/failures", tag: "operations", "dead-lettered records (admin)",
                query: OA.paging + [
                    OA.query("stage"), OA.query("since", OA.dateTime),
                    OA.query("state", OA.enumeration(["open", "replayed", "resolved"])),
                ],
                responses: ["200": OA.page(OA.ref("Failure"))]),
            APIOperation(
                "POST", "/api/v1/failures/{id}/replay", tag: "operations",
                "publish a dead-lettered record again (admin)",
                responses: ["202": OA.jsonResponse("replayed", OA.ref("Failure")), "404": notFound]),
        ]
    }
}
