import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.outbound.request` → one Cloud API call per request, recorded as an attempt, the
/// accepted message stored with its wamid (statuses attach to it), and a `wa.outbound.result`.
/// A request already sent or permanently failed is never sent again on redelivery.
public struct SendHandler: RecordBatchHandler {
    public struct NotConfigured: Error, CustomStringConvertible {
        public let description: String
    }

    /// Server errors and unreachable endpoints are retried by the consume loop; the full
    /// error-code policy comes with the governor.
    struct TransientSendError: Error, CustomStringConvertible {
        let description: String
    }

    let postgres: PostgresClient
    let producer: KafkaProducer
    let graph: GraphClient
    let defaultPhoneNumberId: String
    let topics: Topics
    let logger: Logger

    public init(context: WorkerContext, graph: GraphClient? = nil) throws {
        let wa = context.config.whatsapp
        guard let token = wa.accessToken, let phoneNumberId = wa.phoneNumberId else {
            throw NotConfigured(description: "sender needs WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
        }
        postgres = context.postgres
        producer = context.producer
        self.graph = graph ?? GraphClient(baseURL: wa.graphURL, version: wa.graphVersion, accessToken: token)
        defaultPhoneNumberId = phoneNumberId
        topics = context.config.topics
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        for record in records {
            try await send(try EventEnvelope<OutboundRequest>.decode(record.value).payload)
        }
    }

    func send(_ request: OutboundRequest) async throws {
        let log = logger.with(["event_id": "\(request.requestId)"])
        let (state, previousAttempts) = try await postgres.withTransaction(logger: log) { conn in
            (
                try await SendStore.register(request, on: conn, logger: log),
                try await SendStore.attemptCount(requestId: request.requestId, on: conn, logger: log)
            )
        }
        guard state == "sending" || state == "retrying" || state == "queued" else {
            log.info("send request already settled, not sending again", metadata: ["state": "\(state)"])
            return
        }
        guard let text = request.text else {
            try await settle(
                request, attempt: previousAttempts + 1, http: nil,
                error: WhatsAppError(code: 100, title: "invalid request", message: "no text", details: nil))
            return
        }
        let phoneNumberId = request.phoneNumberId ?? defaultPhoneNumberId
        let attempt = previousAttempts + 1
        let outcome: GraphClient.Outcome
        do {
            outcome = try await graph.sendText(
                phoneNumberId: phoneNumberId, to: request.to, text: text, callbackData: request.requestId)
        } catch {
            try await recordTransient(request, attempt: attempt, http: nil, message: "\(error)")
            throw TransientSendError(description: "Graph API unreachable: \(error)")
        }
        switch outcome {
        case .accepted(let wamid, let waId):
            try await postgres.withTransaction(logger: log) { conn in
                try await SendStore.recordAttempt(
                    requestId: request.requestId, attempt: attempt, httpStatus: 200, error: nil, retryable: false,
                    decision: "sent", newState: "sent", wamid: wamid, on: conn, logger: log)
                let contact = try await ContactStore.upsertFromWhatsApp(
                    waId: waId ?? request.to, userId: nil, profileName: nil, on: conn, logger: log)
                try await MessageStore.insertOutbound(
                    wamid: wamid, contactId: contact, phoneNumberId: phoneNumberId, toWaId: waId ?? request.to,
                    type: "text", text: text, sendRequestId: request.requestId, on: conn, logger: log)
            }
            try await publish(
                OutboundResult(
                    requestId: request.requestId, attempt: attempt, state: "sent",
                    wamid: wamid, waId: waId, error: nil))
            log.info("sent", metadata: ["wamid": "\(wamid)"])
        case .rejected(let http, let error) where http >= 500:
            try await recordTransient(request, attempt: attempt, http: http, message: error.message ?? "HTTP \(http)")
            throw TransientSendError(description: "Graph API answered \(http)")
        case .rejected(let http, let error):
            try await settle(request, attempt: attempt, http: http, error: error)
        }
    }

    func recordTransient(_ request: OutboundRequest, attempt: Int, http: Int?, message: String) async throws {
        try await postgres.withTransaction(logger: logger) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http,
                error: WhatsAppError(code: 2, title: "transient", message: message, details: nil), retryable: true,
                decision: "retry", newState: "retrying", wamid: nil, on: conn, logger: logger)
        }
    }

    func settle(_ request: OutboundRequest, attempt: Int, http: Int?, error: WhatsAppError) async throws {
        try await postgres.withTransaction(logger: logger) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http, error: error, retryable: false,
                decision: "permanent failure", newState: "failed", wamid: nil, on: conn, logger: logger)
        }
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "failed", wamid: nil,
                waId: nil, error: error))
        logger.warning("send failed", metadata: ["event_id": "\(request.requestId)", "error_code": "\(error.code)"])
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
