import CRMCore
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// A message to a contact that did not get through: a `failed` delivery status from Meta
/// (`wa.status`), or a send the sender gave up on (`wa.outbound.result` state `failed`: a
/// permanent Graph error, or the last retry spent).
public struct DeliveryFailure: Sendable, Equatable {
    /// The trigger's idempotency key: the status event id (`wamid:failed:code`), or
    /// `send:<request_id>:failed`.
    public var eventId: String
    public var wamid: String?
    public var requestId: String?
    public var waId: String?
    public var phoneNumberId: String?
    public var code: Int?
    public var at: Date

    public init(
        eventId: String, wamid: String?, requestId: String?, waId: String?, phoneNumberId: String?, code: Int?,
        at: Date
    ) {
        self.eventId = eventId
        self.wamid = wamid
        self.requestId = requestId
        self.waId = waId
        self.phoneNumberId = phoneNumberId
        self.code = code
        self.at = at
    }

    /// The failure a record reports, if any.
    public static func from(_ record: KafkaRecord, topics: Topics) throws -> DeliveryFailure? {
        switch topics.base(of: record.topic) {
        case Topics.status:
            let status = try EventEnvelope<StatusUpdate>.decode(record.value).payload
            guard status.status == "failed" else { return nil }
            return DeliveryFailure(
                eventId: status.eventId, wamid: status.wamid, requestId: nil, waId: status.recipientId,
                phoneNumberId: status.phoneNumberId, code: status.errors.first?.code, at: status.timestamp)
        case Topics.outboundResult:
            let envelope = try EventEnvelope<OutboundResult>.decode(record.value)
            let result = envelope.payload
            guard result.state == "failed" else { return nil }
            return DeliveryFailure(
                eventId: "send:\(result.requestId):failed", wamid: nil, requestId: result.requestId,
                waId: result.waId, phoneNumberId: nil, code: result.error?.code, at: envelope.occurredAt)
        default:
            return nil
        }
    }
}

/// `wa.status` + `wa.outbound.result` → workflow rules with a `status_failed` trigger, in a
/// consumer group of its own (`crm-matcher-failures`): the reporter's status writes and the
/// first-response tracking never wait for rules, nor rules for them.
public struct FailureWorkflowHandler: RecordBatchHandler {
    let topics: Topics
    let run: WorkflowTriggerRun

    public init(context: WorkerContext, settings: AutomationSettings) {
        topics = context.config.topics
        run = WorkflowTriggerRun(context: context, settings: settings)
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        var traces: [String: String] = [:]
        let failures = try records.compactMap { record -> DeliveryFailure? in
            guard let failure = try DeliveryFailure.from(record, topics: topics) else { return nil }
            traces[failure.eventId] = Traces.traceParent(in: record.headers)
            return failure
        }
        guard !failures.isEmpty else { return }
        let found = traces
        try await run { engine, outbox in try await engine.runFailures(failures, traces: found, outbox: &outbox) }
    }
}

extension WorkflowEngine {
    /// Runs the `status_failed` rules for these failures. The message (or the send request)
    /// names the contact; a failure we cannot tie to a contact starts nothing. Failures of
    /// sends queued by rules start nothing either: a rule that re-sends on failure would loop.
    /// `traces`: failure event id → the trace of the record that reported it.
    public func runFailures(
        _ failures: [DeliveryFailure], traces: [String: String] = [:], outbox: inout ActivityOutbox
    ) async throws {
        let conn = outbox.conn
        let logger = outbox.logger
        let rules = try await WorkflowStore.active(on: conn, logger: logger).filter {
            if case .statusFailed = $0.trigger { return true }
            return false
        }
        guard !rules.isEmpty else { return }
        let targets = try await FailureTargets.load(failures, on: conn, logger: logger)
        for failure in failures {
            guard let target = targets.of(failure), !target.byRule else { continue }
            let contact = try await ContactStore.get(id: target.contactId, scope: .all, on: conn, logger: logger)
            let lead = try await LeadStore.open(contactId: target.contactId, on: conn, logger: logger)
            let number = target.phoneNumberId ?? failure.phoneNumberId
            let facts = WorkflowFacts(
                text: nil, messageType: "status_failed", replyValues: nil, phoneNumberId: number ?? "",
                channel: target.campaign ? "campaign" : "direct", tags: contact?.tags ?? [], leadStage: lead?.stage,
                leadStatus: lead?.status)
            let event = Event(id: failure.eventId, contactId: target.contactId, at: failure.at, phoneNumberId: number)
            outbox.traceParent = traces[failure.eventId]
            for rule in rules
            where WorkflowEvaluation.firesOnFailure(rule.trigger, code: failure.code)
                && WorkflowEvaluation.holds(rule.conditions, for: facts)
            {
                try await execute(rule, event: event, outbox: &outbox)
            }
        }
    }
}

/// Who each failure is about, read in three statements for a whole batch: the outbound
/// message by wamid, the send request by id, and, for what neither names, the contact by the
/// recipient's wa_id (or the phone a user typed).
struct FailureTargets {
    struct Target {
        var contactId: UUID
        var phoneNumberId: String?
        var campaign: Bool
        /// Sent by a workflow rule (its request id is `workflow:…`).
        var byRule: Bool
    }

    var byWamid: [String: Target] = [:]
    var byRequest: [String: Target] = [:]
    var byWaId: [String: UUID] = [:]

    func of(_ f: DeliveryFailure) -> Target? {
        if let wamid = f.wamid, let t = byWamid[wamid] { return t }
        if let id = f.requestId, let t = byRequest[id] { return t }
        guard let waId = f.waId, let contact = byWaId[waId] else { return nil }
        let byRule = f.requestId?.hasPrefix("workflow:") == true
        return Target(contactId: contact, phoneNumberId: f.phoneNumberId, campaign: false, byRule: byRule)
    }

    static func load(_ failures: [DeliveryFailure], on conn: PostgresConnection, logger: Logger) async throws
        -> FailureTargets
    {
        var out = FailureTargets()
        for t in try await MessageStore.outboundTargets(
            wamids: failures.compactMap(\.wamid), on: conn, logger: logger)
        {
            out.byWamid[t.wamid] = Target(
                contactId: t.contactId, phoneNumberId: t.phoneNumberId, campaign: t.campaign, byRule: t.byRule)
        }
        let found = try await SendStore.recipients(
            requestIds: failures.compactMap(\.requestId), on: conn, logger: logger)
        let unnamed = failures.filter { $0.wamid.map { out.byWamid[$0] == nil } ?? true }.compactMap(\.waId)
        out.byWaId = try await ContactStore.ids(waIds: unnamed + found.map(\.waId), on: conn, logger: logger)
        for request in found {
            guard let contact = out.byWaId[request.waId] else { continue }
            out.byRequest[request.id] = Target(
                contactId: contact, phoneNumberId: request.phoneNumberId, campaign: request.campaign,
                byRule: request.id.hasPrefix("workflow:"))
        }
        return out
    }
}
