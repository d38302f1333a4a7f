import WireModels

/// Contacts, leads (CRM records) and outbound webhooks (integrations).
extension OpenAPIPaths {
    static let notFound = OA.errorResponse("no such record (or outside an agent's scope)")

    static let lead = OA.object([
        "id": OA.uuid, "contact_id": OA.uuid, "status": OA.enumeration(["open", "won", "lost"]),
        "stage": OA.nullableString, "owner_id": OA.nullableUUID, "source": OA.any, "campaign_id": OA.nullableUUID,
        "opened_at": OA.dateTime, "closed_at": OA.nullableDateTime,
    ])

    static var crm: [APIOperation] {
        [
            APIOperation(
                "GET", "/api/v1/contacts", tag: "contacts",
                "find contacts: phone in any common format (WhatsApp variants match), owner, text (agents: their own)",
                query: OA.paging + [OA.query("phone"), OA.query("owner_id", OA.uuid), OA.query("q")],
                responses: ["200": OA.page(OA.ref("Contact")), "400": OA.errorResponse("bad parameters")]),
            APIOperation(
                "GET", "/api/v1/contacts/{id}", tag: "contacts", "one contact",
                responses: ["200": OA.jsonResponse("the contact", OA.ref("Contact")), "404": notFound]),
            APIOperation(
                "PATCH", "/api/v1/contacts/{id}", tag: "contacts",
                "change name, owner, tags or opt-out (recorded in the consent ledger and the audit log)",
                body: OA.object(
                    [
                        "name": OA.nullableString, "owner_id": OA.nullableUUID, "tags": OA.array(OA.string),
                        "opted_out": OA.bool,
                    ], closed: true),
                responses: [
                    "200": OA.jsonResponse("the contact", OA.ref("Contact")),
                    "400": OA.errorResponse("every bad field"), "403": OA.errorResponse("agents cannot give away"),
                    "404": notFound,
                ]),
            APIOperation(
                "GET", "/api/v1/contacts/{id}/timeline", tag: "contacts",
                "messages (with wamid), lead, consent and owner events, in time order",
                query: OA.paging,
                responses: [
                    "200": OA.page(OA.object(["kind": OA.string, "at": OA.dateTime], required: ["kind", "at"])),
                    "404": notFound,
                ]),
            APIOperation(
                "GET", "/api/v1/leads", tag: "leads", "leads by contact, status, owner (agents: their own)",
                query: OA.paging + [
                    OA.query("contact_id", OA.uuid), OA.query("status", OA.enumeration(["open", "won", "lost"])),
                    OA.query("owner_id", OA.uuid),
                ],
                responses: ["200": OA.page(lead)]),
            APIOperation(
                "GET", "/api/v1/leads/{id}", tag: "leads", "one lead",
                responses: ["200": OA.jsonResponse("the lead", lead), "404": notFound]),
            APIOperation(
                "PATCH", "/api/v1/leads/{id}", tag: "leads", "change status (won/lost closes), stage or owner",
                body: OA.object(
                    [
                        "status": OA.enumeration(["open", "won", "lost"]), "stage": OA.nullableString,
                        "owner_id": OA.nullableUUID,
                    ], closed: true),
                responses: [
                    "200": OA.jsonResponse("the lead", lead), "400": OA.errorResponse("every bad field"),
                    "404": notFound, "409": OA.errorResponse("the contact already has an open lead"),
                ]),
        ]
    }

    static var templates: [APIOperation] {
        let template = OA.object([
            "name": OA.string, "language": OA.string, "status": OA.string, "category": OA.string,
            "parameter_format": OA.string, "variables": OA.array(OA.any), "mapping": OA.any,
        ])
        let templatePath = "/api/v1/templates/{name}/{language}"
        return [
            APIOperation(
                "GET", "/api/v1/templates", tag: "templates", "the synced template catalog",
                query: OA.paging + [OA.query("status")], responses: ["200": OA.page(template)]),
            APIOperation(
                "POST", "/api/v1/templates/sync", tag: "templates",
                "sync every page of the WABA's message_templates now (admin, manager)",
                responses: ["200": OA.jsonResponse("sync result", OA.any), "403": OA.errorResponse("role")]),
            APIOperation(
                "PUT", templatePath + "/mapping", tag: "templates",
                "map every variable to a contact/lead field, campaign column or literal; validated, with a preview",
                body: OA.any,
                responses: [
                    "200": OA.jsonResponse("the template with its mapping and preview", template),
                    "400": OA.errorResponse("every unmapped or ill-typed variable"), "404": notFound,
                ]),
            APIOperation(
                "POST", templatePath + "/test-send", tag: "templates",
                "send the template, with its mapping, to every configured test recipient",
                body: OA.any,
                responses: [
                    "202": OA.jsonResponse("queued sends", OA.any), "404": notFound,
                    "409": OA.errorResponse("no_test_recipients: none are configured"),
                    "422": OA.errorResponse("refused by the policy gate"),
                ]),
        ]
    }

    static var integrations: [APIOperation] {
        let webhook = OA.object([
            "id": OA.uuid, "url": OA.string, "events": OA.array(OA.string), "active": OA.bool,
            "description": OA.nullableString, "created_at": OA.dateTime, "updated_at": OA.dateTime,
        ])
        let body = OA.object(
            [
                "url": OA.string, "events": OA.array(OA.string), "secret": OA.string, "active": OA.bool,
                "description": OA.string,
            ], closed: true)
        let attempt = OA.object([
            "attempt": OA.int, "at": OA.dateTime, "http_status": OA.int, "error": OA.nullableString,
            "duration_ms": OA.int, "decision": OA.string,
        ])
        let delivery = OA.object([
            "id": OA.int, "event_id": OA.string, "event_kind": OA.string,
            "state": OA.enumeration(["pending", "delivering", "retrying", "delivered", "failed"]),
            "attempts": OA.int, "next_attempt_at": OA.nullableDateTime, "delivered_at": OA.nullableDateTime,
            "last_status": OA.int, "last_error": OA.nullableString, "created_at": OA.dateTime,
            "attempt_log": OA.array(attempt),
        ])
        return [
            APIOperation(
                "GET", "/api/v1/outbound-webhooks", tag: "integrations", "registered endpoints (admin, manager)",
                query: OA.paging, responses: ["200": OA.page(webhook)]),
            APIOperation(
                "POST", "/api/v1/outbound-webhooks", tag: "integrations",
                "register an endpoint for crm.activity events (admin); a generated secret is shown once",
                body: body,
                responses: [
                    "201": OA.jsonResponse("the endpoint", webhook), "400": OA.errorResponse("every bad field"),
                ]),
            APIOperation(
                "PATCH", "/api/v1/outbound-webhooks/{id}", tag: "integrations",
                "change, pause or rotate the secret (admin)", body: body,
                responses: ["200": OA.jsonResponse("the endpoint", webhook), "404": notFound]),
            APIOperation(
                "GET", "/api/v1/outbound-webhooks/{id}/deliveries", tag: "integrations",
                "deliveries with every attempt, newest first",
                query: OA.paging + [
                    OA.query("state", OA.enumeration(["pending", "delivering", "retrying", "delivered", "failed"]))
                ],
                responses: ["200": OA.page(delivery), "404": notFound]),
        ]
    }
}
