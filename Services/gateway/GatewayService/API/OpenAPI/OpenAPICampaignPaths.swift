import WireModels

/// Campaigns: audience, test-send gate, launch/pause, report and per-recipient state.
extension OpenAPIPaths {
    static var campaigns: [APIOperation] {
        let states = OA.enumeration(["draft", "tested", "running", "paused", "done"])
        let campaign = OA.object([
            "id": OA.uuid, "name": OA.string, "template": OA.string, "language": OA.string,
            "phone_number_id": OA.nullableString, "audience": OA.any, "state": states, "recipients": OA.int,
            "excluded_opted_out": OA.int, "excluded_no_phone": OA.int,
            "rejected_rows": OA.array(OA.object(["row": OA.int, "reason": OA.string])),
            "created_by": OA.string, "launched_by": OA.nullableUUID, "launched_at": OA.nullableDateTime,
            "paused_at": OA.nullableDateTime, "done_at": OA.nullableDateTime, "created_at": OA.dateTime,
            "updated_at": OA.dateTime,
        ])
        let filters = OA.object(
            [
                "tags": OA.array(OA.string), "owner_id": OA.uuid, "lead_stage": OA.string, "source": OA.string,
                "last_inbound_since": OA.dateTime, "last_inbound_before": OA.dateTime,
            ], closed: true)
        let create = OA.object(
            [
                "name": OA.string, "template": OA.string, "language": OA.string, "phone_number_id": OA.string,
                "audience": OA.object(
                    [
                        "filters": filters,
                        "csv": ["type": "string", "description": "header with a phone column, then one row each"],
                        "default_country": OA.string, "skip_invalid_rows": OA.bool,
                    ], closed: true),
            ], required: ["name", "template", "language", "audience"], closed: true)
        let counts = ["recipients", "pending", "queued", "sent", "delivered", "read", "failed", "replied"]
        var reportFields: [String: JSONValue] = Dictionary(uniqueKeysWithValues: counts.map { ($0, OA.int) })
        reportFields["errors_by_code"] = ["type": "object", "additionalProperties": OA.int]
        reportFields["excluded_opted_out"] = OA.int
        reportFields["campaign_id"] = OA.uuid
        reportFields["state"] = states
        let recipient = OA.object([
            "phone": OA.string, "contact_id": OA.nullableUUID, "row": OA.int,
            "state": OA.enumeration(CampaignsController.recipientStates), "request_id": OA.nullableString,
            "wamid": OA.nullableString, "error_code": OA.int, "blocked_reason": OA.nullableString,
            "replied": OA.bool, "replied_at": OA.nullableDateTime, "updated_at": OA.nullableDateTime,
        ])
        let one = "/api/v1/campaigns/{id}"
        let notFound = OA.errorResponse("no such campaign")
        let wrongState = OA.errorResponse("invalid_state, or the launch gate: test_send_required, test_send_pending")
        return [
            APIOperation(
                "GET", "/api/v1/campaigns", tag: "campaigns", "campaigns, newest first (admin, manager)",
                query: OA.paging + [OA.query("state", states)], responses: ["200": OA.page(campaign)]),
            APIOperation(
                "POST", "/api/v1/campaigns", tag: "campaigns",
                "create a draft: the audience (contact filters or a CSV, every bad row reported) is materialized, "
                    + "opted-out contacts excluded with a count",
                body: create,
                responses: [
                    "201": OA.jsonResponse("the campaign", campaign),
                    "422": OA.errorResponse("empty_audience: nobody left to send to"),
                ]),
            APIOperation(
                "GET", one, tag: "campaigns", "one campaign",
                responses: ["200": OA.jsonResponse("the campaign", campaign), "404": notFound]),
            APIOperation(
                "POST", one + "/test-send", tag: "campaigns",
                "send the campaign's template to every configured test recipient (the launch gate)",
                body: OA.object(["columns": ["type": "object", "additionalProperties": OA.string]], closed: true),
                responses: [
                    "202": OA.jsonResponse("queued test sends", OA.any), "404": notFound,
                    "409": OA.errorResponse("invalid_state or no_test_recipients"),
                    "422": OA.errorResponse("template_not_found"),
                ]),
            APIOperation(
                "POST", one + "/launch", tag: "campaigns",
                "start (or resume a paused campaign); needs a passed test send for the current template + mapping",
                responses: [
                    "200": OA.jsonResponse("the running campaign", campaign), "404": notFound, "409": wrongState,
                    "422": OA.errorResponse("test_send_failed or template_not_found"),
                ]),
            APIOperation(
                "POST", one + "/pause", tag: "campaigns", "stop publishing a running campaign",
                responses: [
                    "200": OA.jsonResponse("the paused campaign", campaign), "404": notFound,
                    "409": OA.errorResponse("invalid_state"),
                ]),
            APIOperation(
                "GET", one + "/report", tag: "campaigns",
                "per-recipient funnel: sent ≥ delivered ≥ read, failed by code, replies",
                responses: ["200": OA.jsonResponse("the report", OA.object(reportFields)), "404": notFound]),
            APIOperation(
                "GET", one + "/recipients", tag: "campaigns", "each recipient's state, in phone order",
                query: OA.paging + [OA.query("state", OA.enumeration(CampaignsController.recipientStates))],
                responses: ["200": OA.page(recipient), "404": notFound]),
        ]
    }
}
