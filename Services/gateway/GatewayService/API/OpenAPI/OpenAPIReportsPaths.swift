import CRMCore
import Storage
import WireModels

/// Reports and the message-log search. Each answers JSON, or CSV with `?format=csv` or
/// `Accept: text/csv`.
extension OpenAPIPaths {
    static var reports: [APIOperation] {
        let format = OA.query(
            "format", OA.enumeration(["json", "csv"]), "csv: RFC 4180 text (or send Accept: text/csv)")
        let range = [
            OA.query("since", OA.dateTime, "start of the range (inclusive); default until − 30 days"),
            OA.query("until", OA.dateTime, "end of the range (exclusive); default now"), format,
        ]
        let forbidden = OA.errorResponse("agents may not read reports")
        /// A report of a range has `since`/`until`; one of a moment (`asOf`) has `as_of`.
        func answer(_ item: JSONValue, asOf: Bool = false) -> JSONValue {
            let period: [String: JSONValue] =
                asOf ? ["as_of": OA.dateTime] : ["since": OA.dateTime, "until": OA.dateTime]
            let fields: [String: JSONValue] = [
                "report": OA.string, "group_by": OA.nullableString, "items": OA.array(item),
            ]
            return [
                "description": "the report (JSON), or its items as CSV with a header line",
                "content": [
                    "application/json": [
                        "schema": OA.object(
                            fields.merging(period) { a, _ in a },
                            required: ["report"] + period.keys.sorted() + ["items"])
                    ],
                    "text/csv": ["schema": OA.string],
                ],
            ]
        }
        let count = OA.int
        let funnel = OA.object(
            [
                "key": OA.nullableString, "total": count, "accepted": count, "sent": count, "delivered": count,
                "read": count, "failed": count, "replied": count,
                "errors_by_code": ["type": "object", "additionalProperties": OA.int],
            ], required: ["key", "total", "sent", "delivered", "read", "failed", "replied", "errors_by_code"])
        let nullableNumber: JSONValue = ["type": ["number", "null"]]
        return [
            APIOperation(
                "GET", "/api/v1/reports/delivery", tag: "reports",
                "delivery funnel of outbound messages created in the range, per group (sent/delivered/read "
                    + "cumulative; failed = currently failed; replied = quoted by an inbound reply), errors by code",
                query: range + [
                    OA.query(
                        "group_by", OA.enumeration(DeliveryGrouping.allCases.map(\.rawValue)), "default template")
                ],
                responses: ["200": answer(funnel), "400": OA.errorResponse("bad parameters"), "403": forbidden]),
            APIOperation(
                "GET", "/api/v1/reports/errors", tag: "reports", "failed outbound messages in the range by error code",
                query: range,
                responses: [
                    "200": answer(
                        OA.object(
                            ["code": ["type": ["integer", "null"]], "title": OA.nullableString, "messages": count],
                            required: ["code", "messages"])),
                    "400": OA.errorResponse("bad parameters"), "403": forbidden,
                ]),
            APIOperation(
                "GET", "/api/v1/reports/response-times", tag: "reports",
                "first-response time of conversations opened in the range, per owner (p50/p90 in seconds)",
                query: range + [OA.query("group_by", OA.enumeration(["owner"]), "default owner")],
                responses: [
                    "200": answer(
                        OA.object(
                            [
                                "key": OA.nullableUUID, "conversations": count, "answered": count,
                                "unanswered": count, "p50_seconds": nullableNumber, "p90_seconds": nullableNumber,
                            ], required: ["key", "conversations", "answered", "p50_seconds", "p90_seconds"])),
                    "400": OA.errorResponse("bad parameters"), "403": forbidden,
                ]),
            APIOperation(
                "GET", "/api/v1/reports/tasks-past-due", tag: "reports",
                "open tasks whose due time is before as_of, per owner (count, oldest) or one line per task "
                    + "(group_by=task, the longest overdue first)",
                query: [
                    OA.query(
                        "as_of", OA.dateTime, "the moment looked at; default now (only the current status counts)"),
                    OA.query(
                        "group_by", OA.enumeration(TaskPastDueGrouping.allCases.map(\.rawValue)),
                        "default owner; task lists every past-due task"),
                    format,
                ],
                responses: [
                    "200": answer(
                        [
                            "oneOf": [
                                OA.object(
                                    [
                                        "key": OA.nullableUUID, "tasks": count, "oldest_due_at": OA.dateTime,
                                        "oldest_overdue_seconds": ["type": "number"],
                                    ], required: ["key", "tasks", "oldest_due_at", "oldest_overdue_seconds"]),
                                OA.object(
                                    [
                                        "id": OA.uuid, "title": OA.string,
                                        "kind": OA.enumeration(["task", "follow_up", "escalation"]),
                                        "owner_id": OA.nullableUUID, "contact_id": OA.uuid, "due_at": OA.dateTime,
                                        "overdue_seconds": ["type": "number"],
                                    ],
                                    required: [
                                        "id", "title", "kind", "owner_id", "contact_id", "due_at", "overdue_seconds",
                                    ]),
                            ]
                        ], asOf: true),
                    "400": OA.errorResponse("bad parameters (since/until: this report takes as_of)"),
                    "403": forbidden,
                ]),
            APIOperation(
                "GET", "/api/v1/messages", tag: "messages",
                "search the message log, newest first, with status histories (agents: their contacts only); "
                    + "format=csv exports every match",
                query: OA.paging + [
                    OA.query("contact_id", OA.uuid),
                    OA.query("phone", OA.string, "any format; WhatsApp variants match"),
                    OA.query("direction", OA.enumeration(["inbound", "outbound"])),
                    OA.query("status", OA.enumeration(DeliveryStatus.allCases.map(\.rawValue)), "current status"),
                    OA.query("template"), OA.query("campaign_id", OA.uuid), OA.query("since", OA.dateTime),
                    OA.query("until", OA.dateTime), OA.query("format", OA.enumeration(["json", "csv"])),
                ],
                responses: [
                    "200": [
                        "description": "one page (JSON), or every match as CSV with a header line",
                        "content": [
                            "application/json": OA.page(OA.ref("Message"))["content"]?["application/json"] ?? [:],
                            "text/csv": ["schema": OA.string],
                        ],
                    ],
                    "400": OA.errorResponse("bad parameters"),
                ]),
        ]
    }
}
