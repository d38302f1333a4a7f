import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `crm.activity` → workflow rules with a `lead_stage_changed` trigger, in a consumer group
/// of its own (`crm-matcher-workflows`), so stage changes made anywhere (the API, routing)
/// start rules. Changes made by a rule itself (`data.rule_id`) trigger nothing: two rules
/// moving a lead back and forth would otherwise loop.
public struct LeadStageWorkflowHandler: RecordBatchHandler {
    let run: WorkflowTriggerRun

    public init(context: WorkerContext, settings: AutomationSettings) {
        run = WorkflowTriggerRun(context: context, settings: settings)
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let changes = try records.map { try EventEnvelope<CRMActivity>.decode($0.value).payload }
            .filter { $0.kind == "lead.stage_changed" }
        guard !changes.isEmpty else { return }
        try await run { engine, outbox in try await engine.runStageChanges(changes, outbox: &outbox) }
    }
}

extension WorkflowEngine {
    /// Runs the `lead_stage_changed` rules for these `lead.stage_changed` activities (trigger
    /// event id: the activity's event id, so a redelivered activity runs nothing twice).
    public func runStageChanges(_ changes: [CRMActivity], outbox: inout ActivityOutbox) async throws {
        let fresh = changes.filter { $0.kind == "lead.stage_changed" && $0.data?["rule_id"] == nil }
        guard !fresh.isEmpty else { return }
        let rules = try await WorkflowStore.active(on: outbox.conn, logger: outbox.logger).filter {
            if case .leadStageChanged = $0.trigger { return true }
            return false
        }
        guard !rules.isEmpty else { return }
        for change in fresh {
            guard let leadId = UUID(uuidString: change.entityId),
                let lead = try await LeadStore.get(
                    id: leadId, scope: .all, lock: false, on: outbox.conn, logger: outbox.logger),
                let stage = change.data?["stage"]?.stringValue
            else { continue }
            let contact = try await ContactStore.get(
                id: lead.contactId, scope: .all, on: outbox.conn, logger: outbox.logger)
            let facts = WorkflowFacts(
                text: nil, messageType: "lead_stage_changed", replyValues: nil, phoneNumberId: lead.phoneNumberId ?? "",
                channel: lead.source?["channel"]?.stringValue ?? "direct", tags: contact?.tags ?? [], leadStage: stage,
                leadStatus: lead.status)
            let event = Event(
                id: change.eventId, contactId: lead.contactId, at: change.at, phoneNumberId: lead.phoneNumberId)
            for rule in rules
            where WorkflowEvaluation.firesOnStageChange(rule.trigger, to: stage)
                && WorkflowEvaluation.holds(rule.conditions, for: facts)
            {
                try await execute(rule, event: event, outbox: &outbox)
            }
        }
    }
}
