import CRMCore
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Runs workflow rules inside the caller's transaction: the matcher's, for the new messages of
/// a batch (after its CRM writes), and the scheduler's, for `no_reply` checks. Active rules are
/// evaluated in `position` order against facts read once per message, so the outcome does not
/// depend on timing. Each (rule, trigger event) runs at most once (`workflow_executions`), and
/// everything a rule does commits with the event that triggered it.
public struct WorkflowEngine: Sendable {
    let settings: AutomationSettings

    public init(settings: AutomationSettings) {
        self.settings = settings
    }

    /// One trigger occurrence: what it is about and its idempotency key.
    struct Event {
        /// `wamid` of the inbound message, `no_reply:<wamid>` for a no-reply check.
        var id: String
        var contactId: UUID
        var at: Date
        var phoneNumberId: String?
    }

    /// For each new message of a batch (consent keywords excluded: a STOP must not start a
    /// sales workflow): fire matching rules, schedule `no_reply` checks.
    func run(
        for messages: [InboundMessage], contacts: [String: MatchedContact], attribution: SourceAttribution,
        keywords: ConsentKeywords, traces: [String: String] = [:], outbox: inout ActivityOutbox
    ) async throws {
        let candidates = messages.filter { m in
            m.type != "system" && !InboundProcessor.notEnquiries.contains(m.type) && contacts[m.wamid] != nil
                && !(["text", "button", "interactive"].contains(m.type) && keywords.match(m.text) != nil)
        }
        guard !candidates.isEmpty else { return }
        let rules = try await WorkflowStore.active(on: outbox.conn, logger: outbox.logger)
        guard !rules.isEmpty else { return }
        for m in candidates {
            outbox.traceParent = traces[m.wamid]
            guard let contact = contacts[m.wamid] else { continue }
            let known = try await self.facts(for: m, contactId: contact.id, attribution: attribution, outbox: outbox)
            let event = Event(id: m.wamid, contactId: contact.id, at: m.timestamp, phoneNumberId: m.phoneNumberId)
            for rule in rules where WorkflowEvaluation.holds(rule.conditions, for: known) {
                if let minutes = WorkflowEvaluation.noReplyMinutes(rule.trigger) {
                    try await scheduleNoReply(rule, minutes: minutes, event: event, outbox: outbox)
                } else if WorkflowEvaluation.fires(rule.trigger, for: known) {
                    try await execute(rule, event: event, outbox: &outbox)
                }
            }
        }
    }

    func facts(for m: InboundMessage, contactId: UUID, attribution: SourceAttribution, outbox: ActivityOutbox)
        async throws -> WorkflowFacts
    {
        let contact = try await ContactStore.get(id: contactId, scope: .all, on: outbox.conn, logger: outbox.logger)
        let lead = try await LeadStore.open(contactId: contactId, on: outbox.conn, logger: outbox.logger)
        let reply = m.details.reply.map { r in [r.payload, r.id].compactMap { $0 } }
        return WorkflowFacts(
            text: m.text ?? m.details.reply?.title, messageType: m.type, replyValues: reply,
            phoneNumberId: m.phoneNumberId, channel: attribution.source(of: m)["channel"]?.stringValue ?? "direct",
            tags: contact?.tags ?? [], leadStage: lead?.stage, leadStatus: lead?.status)
    }

    func scheduleNoReply(_ rule: WorkflowRule, minutes: Int, event: Event, outbox: ActivityOutbox) async throws {
        try await ScheduleStore.schedule(
            kind: "no_reply", key: "no_reply:\(rule.id.uuidString.lowercased()):\(event.id)",
            dueAt: event.at.addingTimeInterval(Double(minutes) * 60),
            payload: [
                "rule_id": .string(rule.id.uuidString.lowercased()), "wamid": .string(event.id),
                "contact_id": .string(event.contactId.uuidString.lowercased()),
                "at": .string(RFC3339.string(from: event.at)),
                "phone_number_id": event.phoneNumberId.map(JSONValue.string) ?? .null,
            ], on: outbox.conn, logger: outbox.logger)
    }

    /// Runs the rule's actions once for this event; false when it ran for it before.
    @discardableResult
    func execute(_ rule: WorkflowRule, event: Event, outbox: inout ActivityOutbox) async throws -> Bool {
        guard
            let execution = try await WorkflowStore.begin(
                rule: rule.id, triggerEventId: event.id, contactId: event.contactId, on: outbox.conn,
                logger: outbox.logger)
        else { return false }
        let actions = WorkflowActions(
            rule: rule, event: event, execution: execution, settings: settings, conn: outbox.conn,
            logger: outbox.logger.with(["rule_id": "\(rule.id)", "trigger_event_id": "\(event.id)"]))
        var taken: [JSONValue] = []
        var skipped = 0
        for (index, action) in rule.actions.enumerated() {
            let result = try await actions.apply(action, index: index, outbox: &outbox)
            if case .skipped = result { skipped += 1 }
            Counter(label: "crm_workflow_actions_total", dimensions: [("type", action.type), ("result", result.name)])
                .increment()
            taken.append(result.json(action, index: index))
        }
        let outcome = skipped == 0 ? "done" : skipped == rule.actions.count ? "skipped" : "partial"
        try await WorkflowStore.finish(
            execution, actions: taken, outcome: outcome, on: outbox.conn, logger: outbox.logger)
        try await outbox.add(
            "workflow.executed", entity: "workflow_rule", id: rule.id, contact: event.contactId,
            version: Int(execution),
            data: [
                "rule_id": .string(rule.id.uuidString.lowercased()), "rule_name": .string(rule.name),
                "trigger_event_id": .string(event.id), "execution_id": .number(Double(execution)),
                "outcome": .string(outcome), "actions": .array(taken),
            ])
        Counter(label: "crm_workflow_executions_total", dimensions: [("outcome", outcome)]).increment()
        outbox.logger.info(
            "workflow rule executed",
            metadata: [
                "rule_id": "\(rule.id)", "trigger_event_id": "\(event.id)", "outcome": "\(outcome)",
                "execution_id": "\(execution)", "trace_id": "\(Traces.traceId(outbox.traceParent) ?? "-")",
            ])
        return true
    }
}
