import CRMCore
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
        var traces: [String: String] = [:]
        let changes = try records.compactMap { record -> CRMActivity? in
            let change = try EventEnvelope<CRMActivity>.decode(record.value).payload
            guard change.kind == "lead.stage_changed" else { return nil }
            traces[change.eventId] = Traces.traceParent(in: record.headers)
            return change
        }
        guard !changes.isEmpty else { return }
        let found = traces
        try await run { engine, outbox in
            try await engine.runStageChanges(changes, traces: found, outbox: &outbox)
        }
    }
}

extension WorkflowEngine {
    /// Runs the `lead_stage_changed` rules for these `lead.stage_changed` activities (trigger
    /// event id: the activity's event id, so a redelivered activity runs nothing twice).
    /// `traces`: activity event id → the trace the change belongs to, which its rules continue.
    public func runStageChanges(
        _ changes: [CRMActivity], traces: [String: String] = [:], outbox: inout ActivityOutbox
    ) async throws {
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
            outbox.traceParent = traces[change.eventId]
            for rule in rules
            where WorkflowEvaluation.firesOnStageChange(rule.trigger, to: stage)
                && WorkflowEvaluation.holds(rule.conditions, for: facts)
            {
                try await execute(rule, event: event, outbox: &outbox)
            }
        }
    }
}
