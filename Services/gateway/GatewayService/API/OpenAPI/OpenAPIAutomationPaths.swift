import WireModels

/// Tasks and workflow rules.
extension OpenAPIPaths {
    static var automation: [APIOperation] {
        let statuses = OA.enumeration(["open", "done", "cancelled"])
        let task = OA.object([
            "id": OA.uuid, "contact_id": OA.uuid, "lead_id": OA.nullableUUID, "owner_id": OA.nullableUUID,
            "title": OA.string, "kind": OA.enumeration(["task", "follow_up", "escalation"]),
            "due_at": OA.nullableDateTime, "status": statuses, "source_event_id": OA.nullableString,
            "created_by": OA.string, "reminded_at": OA.nullableDateTime, "version": OA.int,
            "created_at": OA.dateTime, "updated_at": OA.dateTime, "completed_at": OA.nullableDateTime,
        ])
        let typed = OA.object(["type": OA.string], required: ["type"])
        let rule = OA.object([
            "id": OA.uuid, "name": OA.string,
            "trigger": OA.object(
                [
                    "type": OA.enumeration([
                        "inbound_message", "keyword", "button_reply", "no_reply", "lead_stage_changed",
                        "status_failed",
                    ]),
                    "keywords": OA.array(OA.string), "payloads": OA.array(OA.string), "minutes": OA.int,
                    "stages": OA.array(OA.string), "error_codes": OA.array(OA.int),
                ], required: ["type"]),
            "conditions": OA.array(typed), "actions": OA.array(typed), "position": OA.int, "active": OA.bool,
            "version": OA.int, "created_at": OA.dateTime, "updated_at": OA.dateTime,
        ])
        let ruleBody = OA.object(
            [
                "name": OA.string, "trigger": typed, "conditions": OA.array(typed), "actions": OA.array(typed),
                "position": OA.int, "active": OA.bool,
            ], closed: true)
        return [
            APIOperation(
                "GET", "/api/v1/tasks", tag: "tasks",
                "tasks by contact, owner, status, due before (agents: their own), newest first",
                query: OA.paging + [
                    OA.query("contact_id", OA.uuid), OA.query("owner_id", OA.uuid), OA.query("status", statuses),
                    OA.query("due_before", OA.dateTime),
                ],
                responses: ["200": OA.page(task), "400": OA.errorResponse("bad parameters")]),
            APIOperation(
                "POST", "/api/v1/tasks", tag: "tasks",
                "create a task on a contact; a due_at schedules its reminder (agents: own contacts, for themselves)",
                body: OA.object(
                    [
                        "contact_id": OA.uuid, "lead_id": OA.uuid, "owner_id": OA.uuid, "title": OA.string,
                        "due_at": OA.dateTime,
                    ], required: ["contact_id", "title"], closed: true),
                responses: [
                    "201": OA.jsonResponse("the task", task), "403": OA.errorResponse("agents create only their own"),
                    "404": notFound,
                ]),
            APIOperation(
                "PATCH", "/api/v1/tasks/{id}", tag: "tasks",
                "change title, due time (moves the reminder), status (done/cancelled cancels it) or owner",
                body: OA.object(
                    [
                        "title": OA.string, "due_at": OA.nullableDateTime, "status": statuses,
                        "owner_id": OA.nullableUUID,
                    ],
                    closed: true),
                responses: [
                    "200": OA.jsonResponse("the task", task), "403": OA.errorResponse("agents cannot give away"),
                    "404": notFound,
                ]),
            APIOperation(
                "GET", "/api/v1/workflow-rules", tag: "workflow rules",
                "every rule in evaluation order (admin, manager)",
                query: OA.paging, responses: ["200": OA.page(rule)]),
            APIOperation(
                "POST", "/api/v1/workflow-rules", tag: "workflow rules",
                "create a rule: trigger, conditions, actions; validated whole (admin, manager)", body: ruleBody,
                responses: ["201": OA.jsonResponse("the rule", rule)]),
            APIOperation(
                "PATCH", "/api/v1/workflow-rules/{id}", tag: "workflow rules",
                "change, reorder or pause a rule (validated whole again)", body: ruleBody,
                responses: ["200": OA.jsonResponse("the rule", rule), "404": notFound]),
        ]
    }
}
