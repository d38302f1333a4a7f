import CRMCore
import Storage
import WireModels

/// Owner routing rules.
extension OpenAPIPaths {
    static var routing: [APIOperation] {
        let assign: JSONValue = [
            "oneOf": .array([
                OA.object(["owner_id": OA.uuid], required: ["owner_id"], closed: true),
                OA.object(["round_robin": OA.string], required: ["round_robin"], closed: true),
                OA.object(["queue": OA.string], required: ["queue"], closed: true),
                ["type": "null"],
            ]),
            "description": """
            who gets the lead: a user, the next active agent of a department in turn, or a queue \
            (no owner). Required unless kind is sticky_owner or open_lead is false.
            """,
        ]
        let kinds = OA.enumeration(RoutingRuleKind.allCases.map(\.rawValue))
        let policies = OA.enumeration(ContactOwnerPolicy.allCases.map(\.rawValue))
        let fields: [String: JSONValue] = [
            "name": OA.string, "position": ["type": "integer", "minimum": 0, "maximum": 1_000_000],
            "active": OA.bool, "kind": kinds,
            "values": [
                "type": "array", "items": OA.string,
                "description": """
                phone_number: phone_number_ids; department: number departments; keyword: words or \
                phrases; payload: quick-reply payloads or reply ids; ad: referral source_ids (empty: any \
                ad); campaign: campaign ids (empty: any campaign reply); none for sticky_owner, fallback
                """,
            ],
            "assign": assign, "contact_owner": policies, "open_lead": OA.bool,
        ]
        var shown = fields
        shown["id"] = OA.uuid
        shown["created_at"] = OA.dateTime
        shown["updated_at"] = OA.dateTime
        let rule = OA.object(shown, required: ["id", "name", "position", "active", "kind", "values", "assign"])
        return [
            APIOperation(
                "GET", "/api/v1/routing-rules", tag: "routing",
                "owner routing rules in evaluation order (admin, manager)",
                query: OA.paging, responses: ["200": OA.page(rule)]),
            APIOperation(
                "POST", "/api/v1/routing-rules", tag: "routing",
                "add a rule (admin); position defaults to after the last rule",
                body: OA.object(fields, required: ["name", "kind"], closed: true),
                responses: [
                    "201": OA.jsonResponse("the rule", rule),
                    "409": OA.errorResponse("the name is taken, or a sticky_owner rule exists"),
                    "422": OA.errorResponse("assign.owner_id is no active user"),
                ]),
            APIOperation(
                "PATCH", "/api/v1/routing-rules/{id}", tag: "routing",
                "change, reorder or deactivate a rule (admin); the result is validated as a whole",
                body: OA.object(fields, closed: true),
                responses: [
                    "200": OA.jsonResponse("the rule", rule), "404": notFound,
                    "409": OA.errorResponse("the name is taken, or a sticky_owner rule exists"),
                    "422": OA.errorResponse("assign.owner_id is no active user"),
                ]),
        ]
    }
}
