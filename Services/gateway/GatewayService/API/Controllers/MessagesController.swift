import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import Storage
import WireModels

/// `GET /api/v1/messages/{wamid}` (with status history) and `POST /api/v1/messages` (send text).
/// Agents read only their contacts' messages and sends and send only to contacts they own.
struct MessagesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("messages/:wamid") { request, context in
            let access = try await self.auth.access(request, .readCRM)
            let wamid = try context.parameters.require("wamid")
            if let owner = access.ownerScope,
                try await !OwnerChecks.seesMessage(wamid: wamid, owner: owner, on: self.postgres, logger: self.logger)
            {
                throw APIError.notFound("no message with wamid \(wamid)")
            }
            guard let message = try await MessageStore.get(wamid: wamid, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no message with wamid \(wamid)")
            }
            return try json(message)
        }
        group.post("messages") { request, _ in try await self.send(request) }
        group.get("sends/:requestId") { request, context in
            let access = try await self.auth.access(request, .readCRM)
            let id = try context.parameters.require("requestId")
            if let owner = access.ownerScope,
                try await !OwnerChecks.seesSend(requestId: id, owner: owner, on: self.postgres, logger: self.logger)
            {
                throw APIError.notFound("no send request \(id)")
            }
            guard let state = try await SendStore.get(requestId: id, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no send request \(id)")
            }
            return try json(state)
        }
    }

    struct SendBody: Decodable {
        var to: String?
        var text: String?
        var idempotencyKey: String?
        var test: Bool?
        enum CodingKeys: String, CodingKey {
            case to, text
            case idempotencyKey = "idempotency_key"
            case test
        }
    }

    func send(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .sendMessages)
        let principal = access.principal
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let body: SendBody
        do {
            body = try JSONDecoder().decode(SendBody.self, from: buffer)
        } catch {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object: \(error)")
        }
        var problems: [String] = []
        let to = body.to.flatMap(PhoneNumber.digits)
        if to == nil { problems.append("to: required, an international phone number") }
        if (body.text ?? "").isEmpty { problems.append("text: required (template sends are not supported yet)") }
        if let t = body.text, t.utf8.count > 4096 { problems.append("text: at most 4096 bytes") }
        if let k = body.idempotencyKey, k.isEmpty || k.utf8.count > 200 {
            problems.append("idempotency_key: 1 to 200 bytes")
        }
        guard problems.isEmpty, let to, let text = body.text else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        if let owner = access.ownerScope,
            try await !OwnerChecks.ownsContact(phoneDigits: to, owner: owner, on: postgres, logger: logger)
        {
            throw APIError.notFound("to: no contact of yours has this number")
        }
        // The client's key is the request id (contract); a key another user already used is a conflict.
        let requestId = body.idempotencyKey ?? UUID().uuidString.lowercased()
        if body.idempotencyKey != nil,
            let owner = try await SendStore.requester(requestId: requestId, on: postgres, logger: logger),
            owner != principal.userId.uuidString
        {
            throw APIError(.conflict, "idempotency_key_conflict", "idempotency_key is already used by another user")
        }
        let payload = OutboundRequest(
            requestId: requestId, to: to, phoneNumberId: nil, text: text, requestedBy: principal.userId.uuidString,
            test: body.test ?? false)
        let envelope = EventEnvelope(
            eventId: requestId, type: EventTypes.outboundRequest, occurredAt: .now, source: "gateway", payload: payload)
        do {
            try await producer.send(
                OutgoingRecord(
                    topic: topics.name(Topics.outboundRequest), key: Array(to.utf8), value: try envelope.encoded()))
        } catch {
            throw APIError(.serviceUnavailable, "unavailable", "could not queue the message, retry later")
        }
        // Kafka has the request; the audit entry follows it (a send is not a database write here).
        try await postgres.transaction(logger: logger) { conn in
            try await AuditStore.record(
                actor: access.actor, action: "send", entity: "send", entityId: requestId, before: nil,
                after: try JSONValue(encoding: payload), on: conn, logger: logger)
        }
        return try json(JSONValue.object(["request_id": .string(requestId)]), status: .accepted)
    }
}
