import CRMCore
import Foundation
import Hummingbird
import Kafka
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// The API side of a send: resolves template variables (explicit values, else the saved
/// mapping against the contact, lead and campaign columns), runs the policy gate
/// synchronously — a refusal is a 422 with its reason and a `blocked` request the client can
/// look up — and queues accepted requests: a `queued` row (the outbox), then a record on
/// `wa.outbound.request` (key: recipient) as the fast path to the sender.
/// The same idempotency key returns the same request and never queues it twice.
struct SendIntake: Sendable {
    struct Ask: Sendable {
        var requestId: String
        var keyGiven: Bool
        var to: String
        var text: String?
        var template: (name: String, language: String)?
        /// Explicit values: variable ids (`body.1`; `1` alone = `body.1`) and campaign columns.
        var variables: [String: String]
        var test: Bool
        var campaignId: String?
        var phoneNumberId: String?
    }

    enum Outcome: Sendable {
        case queued(requestId: String)
        case blocked(requestId: String, refusal: Refusal)
    }

    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let defaultWabaId: String?
    let defaultPhoneNumberId: String?
    /// `CRM_FAULT_CRASH_AFTER_COMMIT=1` (tests only): SIGKILL between the queued row's commit
    /// and the produce, the window the outbox covers.
    var crashAfterCommit = false
    let logger: Logger

    func submit(_ ask: Ask, principal: Principal) async throws -> Outcome {
        try await submit(ask, requester: principal.userId)
    }

    /// `requester` is the user the send is made for (the campaign's launcher for a rollout).
    func submit(_ ask: Ask, requester: UUID) async throws -> Outcome {
        try await checkNumber(ask.phoneNumberId)
        if let existing = try await existing(ask, requester: requester) { return existing }

        let recipient = try await Recipient.load(waId: ask.to, on: postgres, logger: logger)
        var template: TemplateRecord?
        var outboundTemplate: OutboundTemplate?
        if let wanted = ask.template {
            template = try await TemplateStore.get(
                name: wanted.name, language: wanted.language, wabaId: defaultWabaId, on: postgres, logger: logger)
            var values: [String: String] = [:]
            if let template, let mapping = template.mapping {
                let lead = await recipient.leadFields(on: postgres, logger: logger)
                values = mapping.resolve(for: template, contact: recipient.fields, lead: lead, columns: ask.variables)
            }
            for (key, value) in ask.variables {
                let id = TemplateMapping.canonical(key)
                if template?.variables.contains(where: { $0.id == id }) ?? false { values[id] = value }
            }
            outboundTemplate = OutboundTemplate(name: wanted.name, language: wanted.language, variables: values)
        }
        let request = OutboundRequest(
            requestId: ask.requestId, to: ask.to, phoneNumberId: ask.phoneNumberId,
            text: ask.template == nil ? ask.text : nil, requestedBy: requester.uuidString, test: ask.test,
            template: outboundTemplate, campaignId: ask.campaignId)

        var verdict = PolicyGate.evaluate(request, recipient: recipient, template: template)
        if template == nil, let wanted = ask.template {
            // evaluate() only knows "unknown"; the store can say which languages exist.
            let languages = try await TemplateStore.languages(name: wanted.name, on: postgres, logger: logger)
            verdict = .failure(
                Refusal(
                    "template_not_found",
                    languages.isEmpty
                        ? "template \(wanted.name) is not in the synced catalog (POST /api/v1/templates/sync?)"
                        : "template \(wanted.name) does not exist in \(wanted.language) (it exists in "
                            + "\(languages.joined(separator: ", ")))"))
        }
        // The audit log's actor form (lowercase, as every other API write records it).
        let actor = requester.uuidString.lowercased()
        switch verdict {
        case .failure(let refusal):
            let created = try await postgres.transaction(logger: logger) { conn in
                let (_, created) = try await SendStore.register(
                    request, state: "blocked", blockedReason: refusal.description, on: conn, logger: logger)
                if created {
                    try await audit(request, state: "blocked", reason: refusal.description, actor: actor, on: conn)
                }
                return created
            }
            if !created, let raced = try await existing(ask, requester: requester) { return raced }
            return .blocked(requestId: request.requestId, refusal: refusal)
        case .success:
            let trace = Traces.currentTraceParent()
            let created = try await postgres.transaction(logger: logger) { conn in
                let (_, created) = try await SendStore.register(
                    request, state: "queued", traceParent: trace, on: conn, logger: logger)
                if created { try await audit(request, state: "queued", reason: nil, actor: actor, on: conn) }
                return created
            }
            // A concurrent call with the same key created it first: that one queues it.
            guard created else {
                return try await existing(ask, requester: requester) ?? .queued(requestId: ask.requestId)
            }
            // The committed row is the outbox: if this produce fails (or the process dies before
            // it), the sender's sweeper sends the request from its row after SEND_QUEUED_GRACE_MS.
            // So the 202 stands either way; the topic is only the fast path.
            if crashAfterCommit {
                logger.critical("fault injection: SIGKILL after the send request's commit, before producing it")
                kill(getpid(), SIGKILL)
            }
            do {
                try await producer.send(
                    OutgoingRecord.traced(
                        topic: topics.name(Topics.outboundRequest), key: request.to,
                        envelope: EventEnvelope(
                            eventId: request.requestId, type: EventTypes.outboundRequest, occurredAt: .now,
                            source: "gateway", payload: request),
                        traceParent: trace))
            } catch {
                logger.warning(
                    "send request not produced; the sender takes it from its row",
                    metadata: ["event_id": "\(request.requestId)", "error": "\(error)"])
            }
            return .queued(requestId: request.requestId)
        }
    }

    /// A number the caller names must be one of ours (400 otherwise): the sender puts it in
    /// the Graph URL and calls with the business's token.
    func checkNumber(_ phoneNumberId: String?) async throws {
        guard let id = phoneNumberId else { return }
        guard GraphID.isValid(id),
            try await PhoneNumberStore.isConfigured(id, default: defaultPhoneNumberId, on: postgres, logger: logger)
        else {
            throw APIError(
                .badRequest, "validation_failed",
                "phone_number_id: \(id) is not a configured phone number (see GET /api/v1/phone-numbers)")
        }
    }

    /// The request this idempotency key already made (409 when another user made it).
    func existing(_ ask: Ask, requester: UUID) async throws -> Outcome? {
        guard ask.keyGiven else { return nil }
        guard let state = try await SendStore.get(requestId: ask.requestId, on: postgres, logger: logger) else {
            return nil
        }
        let owner = try await SendStore.requester(requestId: ask.requestId, on: postgres, logger: logger)
        if let owner, owner != requester.uuidString {
            throw APIError(.conflict, "idempotency_key_conflict", "idempotency_key is already used by another user")
        }
        if state.state == "blocked", let reason = state.blockedReason {
            let parts = reason.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return .blocked(
                requestId: state.requestId, refusal: Refusal(parts.first ?? "blocked", parts.last ?? reason))
        }
        return .queued(requestId: state.requestId)
    }

    func audit(_ request: OutboundRequest, state: String, reason: String?, actor: String, on conn: PostgresConnection)
        async throws
    {
        var after: [String: JSONValue] = [
            "to": .string("+" + request.to), "state": .string(state), "test": .bool(request.test),
        ]
        if let t = request.template {
            after["template"] = .string(t.name)
            after["language"] = .string(t.language)
        }
        if let reason { after["blocked_reason"] = .string(reason) }
        if let c = request.campaignId { after["campaign_id"] = .string(c) }
        try await AuditStore.record(
            actor: actor, action: "send.create", entity: "send_request", entityId: request.requestId, before: nil,
            after: .object(after), on: conn, logger: logger)
    }
}

extension SendIntake.Outcome {
    /// 202 `{request_id}`, or 422 with the refusal and the request id (state `blocked`).
    func response() throws -> Response {
        switch self {
        case .queued(let id):
            return try json(JSONValue.object(["request_id": .string(id)]), status: .accepted)
        case .blocked(let id, let refusal):
            return try json(
                JSONValue.object([
                    "error": .object([
                        "code": .string(refusal.code), "message": .string(refusal.message), "request_id": .string(id),
                    ]),
                    "request_id": .string(id), "state": .string("blocked"),
                ]), status: .unprocessableContent)
        }
    }
}
