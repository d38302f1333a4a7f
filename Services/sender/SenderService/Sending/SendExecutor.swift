import Foundation
import Kafka
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// One attempt at one send request, whoever picked it up (the `wa.outbound.request` consumer
/// for first attempts, the retry-queue poller for later ones):
/// policy gate → governor → Cloud API → record the attempt and decide what happens next.
/// Nothing here waits long: a delay beyond the governor's inline wait becomes a row in the
/// retry queue (`send_requests.next_attempt_at`), so one recipient's back-off never holds
/// another recipient's send.
public struct SendExecutor: Sendable {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let graph: GraphClient
    let governor: Governor
    let numbers: NumberSettingsCache
    let defaultPhoneNumberId: String
    let defaultWabaId: String?
    let topics: Topics
    let logger: Logger

    public init(context: WorkerContext, graph: GraphClient) throws {
        guard let phoneNumberId = context.config.whatsapp.phoneNumberId else {
            throw SendHandler.NotConfigured(description: "sender needs WHATSAPP_PHONE_NUMBER_ID")
        }
        postgres = context.postgres
        producer = context.producer
        self.graph = graph
        governor = Governor(postgres: context.postgres, logger: context.logger)
        numbers = NumberSettingsCache(
            postgres: context.postgres, defaultWabaId: context.config.whatsapp.wabaId, logger: context.logger)
        defaultPhoneNumberId = phoneNumberId
        defaultWabaId = context.config.whatsapp.wabaId
        topics = context.config.topics
        logger = context.logger
    }

    /// `attempts`: attempt rows so far; `httpAttempts`: Cloud API calls so far.
    func attempt(_ request: OutboundRequest, attempts: Int, httpAttempts: Int) async throws {
        var log = logger
        log[metadataKey: "event_id"] = "\(request.requestId)"
        let number = try await numbers.get(request.phoneNumberId ?? defaultPhoneNumberId)
        let attempt = attempts + 1

        // 1. Policy gate, again: the facts may have changed since the API checked them.
        let plan: SendPlan
        switch try await PolicyGate.check(request, wabaId: number.wabaId, on: postgres, logger: log) {
        case .failure(let refusal):
            try await postgres.withTransaction(logger: log) { conn in
                try await SendStore.block(
                    requestId: request.requestId, reason: refusal.description, on: conn, logger: log)
            }
            SenderMetrics.send(outcome: "blocked", decision: refusal.code)
            try await publish(
                OutboundResult(
                    requestId: request.requestId, attempt: attempt, state: "blocked", wamid: nil, waId: nil,
                    error: WhatsAppError(code: 0, title: refusal.code, message: refusal.message, details: nil)))
            log.notice("send blocked by policy", metadata: ["reason": "\(refusal)"])
            return
        case .success(let p):
            plan = p
        }

        // 2. Governor: pair rate, tier budget (business-initiated only), the number's pace.
        let businessInitiated = plan.isTemplate && !plan.recipient.insideServiceWindow()
        switch try await governor.admit(number: number, waId: request.to, businessInitiated: businessInitiated) {
        case .deferred(let until, let reason):
            let limit = reason.hasPrefix("pair") ? "pair" : reason.hasPrefix("messaging tier") ? "tier" : "number"
            SenderMetrics.governorWait(limit: limit, seconds: until.timeIntervalSinceNow)
            try await schedule(
                request, attempt: attempt, http: nil, error: nil, decision: "deferred: \(reason)", at: until,
                calledAPI: false, log: log)
            SenderMetrics.send(outcome: "deferred", decision: limit)
            return
        case .sendAt(let at):
            let wait = at.timeIntervalSinceNow
            if wait > 0 {
                SenderMetrics.governorWait(limit: "number", seconds: wait)
                try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            }
        }

        // 3. The Cloud API call.
        let outcome: GraphClient.Outcome?
        let transportError: String?
        do {
            outcome = try await call(plan, phoneNumberId: number.phoneNumberId)
            transportError = nil
        } catch {
            outcome = nil
            transportError = "\(error)"
        }

        // 4. Record and decide.
        switch outcome {
        case .accepted(let wamid, let waId):
            try await recordSent(plan, number: number, attempt: attempt, wamid: wamid, waId: waId, log: log)
            // A pair that was limited before is clear again (4^n starts over).
            if attempts > 0 { try await governor.pairDelivered(number.phoneNumberId, waId: request.to) }
        case .rejected(let http, let error):
            try await failed(
                request, number: number, attempt: attempt, httpAttempts: httpAttempts + 1, http: http, error: error,
                log: log)
        case nil:
            let error = WhatsAppError(
                code: 2, title: "unreachable", message: "Graph API unreachable: \(transportError ?? "")", details: nil)
            try await failed(
                request, number: number, attempt: attempt, httpAttempts: httpAttempts + 1, http: nil, error: error,
                log: log)
        }
    }

    func call(_ plan: SendPlan, phoneNumberId: String) async throws -> GraphClient.Outcome {
        let request = plan.request
        if let template = plan.template {
            return try await graph.sendTemplate(
                phoneNumberId: phoneNumberId, to: request.to, name: template.name, language: template.language,
                components: TemplateComponents.build(template, values: plan.values), callbackData: request.requestId)
        }
        return try await graph.sendText(
            phoneNumberId: phoneNumberId, to: request.to, text: request.text ?? "", callbackData: request.requestId)
    }

    func recordSent(
        _ plan: SendPlan, number: NumberSettings, attempt: Int, wamid: String, waId: String?, log: Logger
    ) async throws {
        let request = plan.request
        let rendered = plan.template.map { TemplateComponents.render($0, values: plan.values) }
        let content: JSONValue? = plan.template.map { template in
            .object([
                "template": .object([
                    "name": .string(template.name), "language": .string(template.language),
                    "category": template.category.map(JSONValue.string) ?? .null,
                    "components": .array(TemplateComponents.build(template, values: plan.values)),
                ])
            ])
        }
        try await postgres.withTransaction(logger: log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: 200, error: nil, retryable: false,
                decision: "sent", newState: "sent", wamid: wamid, on: conn, logger: log)
            let contact = try await ContactStore.upsertFromWhatsApp(
                waId: waId ?? request.to, userId: nil, profileName: nil, on: conn, logger: log)
            try await MessageStore.insertOutbound(
                wamid: wamid, contactId: contact, phoneNumberId: number.phoneNumberId, toWaId: waId ?? request.to,
                type: plan.template == nil ? "text" : "template", text: rendered?.text ?? request.text,
                sendRequestId: request.requestId, template: plan.template?.name, campaignId: request.campaignId,
                content: content, wabaId: number.wabaId, on: conn, logger: log)
        }
        SenderMetrics.send(outcome: "sent", decision: "sent")
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "sent", wamid: wamid, waId: waId, error: nil))
        log.info("sent", metadata: ["wamid": "\(wamid)"])
    }

    /// Applies the error policy to a rejected (or unanswered) call.
    func failed(
        _ request: OutboundRequest, number: NumberSettings, attempt: Int, httpAttempts: Int, http: Int?,
        error: WhatsAppError, log: Logger
    ) async throws {
        let decision = ErrorPolicy.decide(code: http == nil ? nil : error.code, httpStatus: http)
        let now = Date()
        switch decision {
        case .permanent:
            try await settleFailed(
                request, attempt: attempt, http: http, error: error, decision: decision.label, log: log)
        case .retry(let maxAttempts):
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: maxAttempts, http: http,
                error: error, decision: decision.label,
                at: now.addingTimeInterval(ErrorPolicy.backoff(attempt: httpAttempts)),
                log: log)
        case .backOffNumber(let pause, let maxAttempts):
            try await governor.pause(number.phoneNumberId, for: pause, reason: "Meta error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: maxAttempts, http: http,
                error: error, decision: decision.label,
                at: now.addingTimeInterval(pause + ErrorPolicy.backoff(attempt: 1) * 0.25), log: log)
        case .pairLimited:
            let hits = try await governor.pairLimited(number.phoneNumberId, waId: request.to)
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 8, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(ErrorPolicy.pairBackoff(hits: hits)), log: log)
        case .refreshAndAlert(let pause):
            // Credentials come from the environment/secret: alert so an operator rotates them;
            // the number pauses so we do not hammer Meta with a dead token meanwhile.
            SenderMetrics.alert("auth_failed")
            log.critical(
                "ALERT: the Graph API rejected the access token; rotate WHATSAPP_ACCESS_TOKEN",
                metadata: ["error_code": "\(error.code)", "phone_number_id": "\(number.phoneNumberId)"])
            try await governor.pause(number.phoneNumberId, for: pause, reason: "auth error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 3, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(pause), log: log)
        case .haltNumber(let pause):
            SenderMetrics.alert("number_halted")
            log.critical(
                "ALERT: Meta refuses sends from this number (account locked, policy, payment or registration)",
                metadata: ["error_code": "\(error.code)", "phone_number_id": "\(number.phoneNumberId)"])
            try await governor.pause(number.phoneNumberId, for: pause, reason: "halted: error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 2, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(pause), log: log)
        }
    }

    func retryOrDeadLetter(
        _ request: OutboundRequest, attempt: Int, httpAttempts: Int, maxAttempts: Int, http: Int?, error: WhatsAppError,
        decision: String, at: Date, log: Logger
    ) async throws {
        guard httpAttempts < maxAttempts else {
            try await settleFailed(
                request, attempt: attempt, http: http, error: error,
                decision: "\(decision); dead-lettered after \(httpAttempts) attempts", log: log)
            try await deadLetter(request, error: error, attempts: httpAttempts)
            SenderMetrics.send(outcome: "dead_lettered", decision: decision)
            return
        }
        try await schedule(
            request, attempt: attempt, http: http, error: error, decision: decision, at: at, calledAPI: true, log: log)
        SenderMetrics.send(outcome: "retrying", decision: decision)
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "retrying", wamid: nil, waId: nil, error: error))
    }

    func schedule(
        _ request: OutboundRequest, attempt: Int, http: Int?, error: WhatsAppError?, decision: String, at: Date,
        calledAPI: Bool, log: Logger
    ) async throws {
        try await postgres.withTransaction(logger: log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http, error: error, retryable: true,
                decision: decision, newState: "retrying", wamid: nil, nextAttemptAt: at, calledAPI: calledAPI,
                on: conn, logger: log)
        }
        log.info(
            "send delayed",
            metadata: ["decision": "\(decision)", "next_attempt_at": "\(RFC3339.string(from: at))"])
    }

    func settleFailed(
        _ request: OutboundRequest, attempt: Int, http: Int?, error: WhatsAppError, decision: String, log: Logger
    ) async throws {
        try await postgres.withTransaction(logger: log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http, error: error, retryable: false,
                decision: decision, newState: "failed", wamid: nil, on: conn, logger: log)
        }
        SenderMetrics.send(outcome: "failed", decision: decision)
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "failed", wamid: nil, waId: nil, error: error))
        log.warning("send failed", metadata: ["error_code": "\(error.code)", "decision": "\(decision)"])
    }

    /// After the last attempt: the request goes to `wa.dlq` (keyed by recipient, like its topic).
    func deadLetter(_ request: OutboundRequest, error: WhatsAppError, attempts: Int) async throws {
        let value = String(decoding: try JSONCoding.encoder().encode(request), as: UTF8.self)
        let letter = DeadLetter(
            stage: "sender", topic: Topics.outboundRequest, partition: -1, offset: -1,
            error: "error \(error.code): \(error.message ?? "")", attempts: attempts, value: value)
        let envelope = EventEnvelope(
            eventId: request.requestId, type: EventTypes.deadLetter, occurredAt: .now, source: "sender", payload: letter
        )
        try await producer.send(
            OutgoingRecord(
                topic: topics.name(Topics.deadLetter), key: Array(request.to.utf8), value: try envelope.encoded()))
    }

    func publish(_ result: OutboundResult) async throws {
        let envelope = EventEnvelope(
            eventId: "\(result.requestId):\(result.attempt)", type: EventTypes.outboundResult, occurredAt: .now,
            source: "sender", payload: result)
        try await producer.send(
            OutgoingRecord(
                topic: topics.name(Topics.outboundResult), key: Array(result.requestId.utf8),
                value: try envelope.encoded()))
    }
}
