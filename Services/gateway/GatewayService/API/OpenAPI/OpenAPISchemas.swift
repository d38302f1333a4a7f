import Storage
import WireModels

/// Component schemas of the OpenAPI document (the JSON the API answers).
enum OpenAPISchemas {
    static var all: [String: JSONValue] {
        [
            "Error": OA.object(
                [
                    "error": OA.object(
                        [
                            "code": OA.string, "message": OA.string,
                            "fields": OA.array(OA.object(["field": OA.string, "message": OA.string])),
                        ], required: ["code", "message"])
                ], required: ["error"]),
            "User": OA.object(
                [
                    "id": OA.uuid, "name": OA.string, "email": OA.nullableString,
                    "role": OA.enumeration(["admin", "manager", "agent"]), "department": OA.nullableString,
                    "active": OA.bool, "created_at": OA.dateTime,
                ], required: ["id", "name", "role", "active"]),
            "Token": OA.object(
                [
                    "id": OA.uuid, "user_id": OA.uuid, "name": OA.string, "created_at": OA.dateTime,
                    "expires_at": OA.nullableDateTime, "revoked_at": OA.nullableDateTime, "created_by": OA.nullableUUID,
                ], required: ["id", "user_id", "name"]),
            "Account": OA.object(
                [
                    "id": OA.uuid, "waba_id": OA.string, "name": OA.string, "access_token_set": OA.bool,
                    "app_secret_set": OA.bool, "verify_token_set": OA.bool, "created_at": OA.dateTime,
                    "updated_at": OA.dateTime,
                ], required: ["id", "waba_id", "name"]),
            "PhoneNumber": OA.object(
                [
                    "id": OA.uuid, "phone_number_id": OA.string, "display_phone_number": OA.nullableString,
                    "account_id": OA.nullableUUID, "messages_per_second": OA.int,
                    "tier": OA.enumeration(PhoneNumberRow.tiers), "quality_rating": OA.nullableString,
                    "department": OA.nullableString, "created_at": OA.dateTime, "updated_at": OA.dateTime,
                ], required: ["id", "phone_number_id", "account_id", "messages_per_second"]),
            "AuditEntry": OA.object(
                [
                    "id": OA.int, "at": OA.dateTime, "actor": OA.string, "action": OA.string, "entity": OA.string,
                    "entity_id": OA.nullableString, "before": OA.any, "after": OA.any,
                ], required: ["at", "actor", "action", "entity", "entity_id", "before", "after"]),
            "Contact": OA.object(
                [
                    "id": OA.uuid, "phone": OA.nullableString, "wa_id": OA.nullableString, "name": OA.nullableString,
                    "owner_id": OA.nullableUUID, "tags": OA.array(OA.string), "opted_out": OA.bool,
                    "created_at": OA.dateTime,
                ], required: ["id"]),
            "Message": OA.object(
                [
                    "wamid": OA.string, "direction": OA.enumeration(["inbound", "outbound"]),
                    "contact_id": OA.nullableUUID, "phone_number_id": OA.nullableString, "type": OA.string,
                    "text": OA.nullableString, "template": OA.nullableString, "campaign_id": OA.nullableUUID,
                    "status": OA.nullableString,
                    "status_history": OA.array(
                        OA.object([
                            "status": OA.string, "at": OA.dateTime, "error_code": ["type": ["integer", "null"]],
                        ])),
                    "error": OA.any, "created_at": OA.dateTime,
                ], required: ["wamid", "direction", "type", "status_history"]),
            "Send": OA.object(
                [
                    "request_id": OA.string,
                    "state": OA.enumeration(["queued", "sending", "sent", "retrying", "failed", "blocked"]),
                    "to": OA.string, "wamid": OA.nullableString, "created_at": OA.dateTime,
                    "attempts": OA.array(
                        OA.object([
                            "attempt": OA.int, "at": OA.dateTime, "http_status": ["type": ["integer", "null"]],
                            "error_code": ["type": ["integer", "null"]], "retryable": OA.bool, "decision": OA.string,
                        ])),
                ], required: ["request_id", "state", "attempts"]),
            "Failure": OA.object(
                [
                    "id": OA.int, "stage": OA.string, "topic": OA.string, "event_id": OA.nullableString,
                    "error": OA.string, "attempts": OA.int, "first_at": OA.dateTime, "last_at": OA.dateTime,
                    "state": OA.enumeration(["open", "replayed", "resolved"]),
                ], required: ["id", "stage", "topic", "error", "attempts", "state"]),
        ]
    }
}
