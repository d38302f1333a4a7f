import CRMCore
import Foundation
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// What one action did: its effect, or why it did nothing (a condition of the world, such as
/// "no open lead", not an error: the other actions still run).
enum ActionResult {
    case done([String: JSONValue])
    case skipped(String)

    var name: String {
        if case .done = self { return "done" }
        return "skipped"
    }

    func json(_ action: WorkflowAction, index: Int) -> JSONValue {
        var o: [String: JSONValue] = ["index": .number(Double(index)), "type": .string(action.type)]
        switch self {
        case .done(let effect):
            o["result"] = "done"
            for (k, v) in effect { o[k] = v }
        case .skipped(let reason):
            o["result"] = "skipped"
            o["reason"] = .string(reason)
        }
        return .object(o)
    }
}

/// The actions of one rule execution, applied on the trigger's transaction. Every record an
/// action creates has a key derived from (rule, trigger event, action index), and every change
/// writes its `crm.activity` event, as the API's edits do.
struct WorkflowActions {
    let rule: WorkflowRule
    let event: WorkflowEngine.Event
    let execution: Int64
    let settings: AutomationSettings
    let conn: PostgresConnection
    let logger: Logger

    var actor: String { "workflow:\(rule.id.uuidString.lowercased())" }

    func key(_ index: Int) -> String { "\(actor):\(event.id):\(index)" }

    func apply(_ action: WorkflowAction, index: Int, outbox: inout ActivityOutbox) async throws
        -> ActionResult
    {
        switch action {
        case .createTask(let title, let due, let ownerId):
            let lead = try await LeadStore.open(contactId: event.contactId, on: conn, logger: logger)
            var owner = ownerId ?? lead?.ownerId
            if owner == nil {
                owner = try await ContactStore.get(id: event.contactId, scope: .all, on: conn, logger: logger)?.ownerId
            }
            return try await createTask(
                title: title, kind: "follow_up", owner: owner, lead: lead?.id, due: due, index: index, outbox: &outbox)
        case .escalate(let title, let due):
            let lead = try await LeadStore.open(contactId: event.contactId, on: conn, logger: logger)
            let contact = try await ContactStore.get(id: event.contactId, scope: .all, on: conn, logger: logger)
            let owner = lead?.ownerId ?? contact?.ownerId
            guard let manager = try await manager(of: owner) else {
                return .skipped("no manager: the owner's department has none and CRM_ESCALATION_MANAGER_ID is not set")
            }
            return try await createTask(
                title: title, kind: "escalation", owner: manager, lead: lead?.id, due: due, index: index,
                outbox: &outbox, extra: ["escalated_from": owner.map { .string($0.uuidString.lowercased()) } ?? .null])
        case .assignOwner(let owner):
            return try await assign(owner, outbox: &outbox)
        case .setLeadStage(let stage):
            guard let lead = try await LeadStore.open(contactId: event.contactId, on: conn, logger: logger) else {
                return .skipped("the contact has no open lead")
            }
            guard lead.stage != stage else { return .skipped("the lead is already at stage \(stage)") }
            let after = try await LeadStore.update(
                id: lead.id, status: lead.status, stage: stage, ownerId: lead.ownerId, on: conn, logger: logger)
            try await outbox.add(
                "lead.stage_changed", entity: "lead", id: lead.id, contact: event.contactId, version: after.version,
                data: ["stage": .string(stage), "previous_stage": .string(lead.stage), "rule_id": ruleId])
            return .done(["lead_id": .string(lead.id.uuidString.lowercased()), "stage": .string(stage)])
        case .addTag(let tag):
            guard
                let c = try await ContactStore.get(
                    id: event.contactId, scope: .all, on: conn, lock: true, logger: logger)
            else { return .skipped("the contact is gone") }
            guard !c.tags.contains(tag) else { return .skipped("the contact already has tag \(tag)") }
            let after = try await ContactStore.update(
                id: c.id, name: .keep, ownerId: c.ownerId, tags: c.tags + [tag], on: conn, logger: logger)
            try await outbox.add(
                "contact.updated", entity: "contact", id: c.id, contact: c.id, version: after.version,
                data: ["tags": .array(after.tags.map(JSONValue.string)), "rule_id": ruleId])
            return .done(["tag": .string(tag)])
        case .sendTemplate(let name, let language, let variables):
            return try await sendTemplate(
                name: name, language: language, variables: variables, index: index, outbox: &outbox)
        case .callWebhook(let webhookId):
            return try await callWebhook(webhookId, index: index)
        }
    }

    var ruleId: JSONValue { .string(rule.id.uuidString.lowercased()) }

    func createTask(
        title: String, kind: String, owner: UUID?, lead: UUID?, due: Int?, index: Int, outbox: inout ActivityOutbox,
        extra: [String: JSONValue] = [:]
    ) async throws -> ActionResult {
        let task = NewTask(
            contactId: event.contactId, leadId: lead, ownerId: owner, title: title, kind: kind,
            dueAt: due.map { event.at.addingTimeInterval(Double($0) * 60) }, sourceEventId: key(index),
            createdBy: actor)
        guard let row = try await TaskStore.create(task, on: conn, logger: logger) else {
            return .skipped("the task exists already")
        }
        var data: [String: JSONValue] = ["task": try row.json, "rule_id": ruleId]
        for (k, v) in extra { data[k] = v }
        try await outbox.add(
            "task.created", entity: "task", id: row.id, contact: event.contactId, version: row.version,
            data: .object(data))
        return .done([
            "task_id": .string(row.id.uuidString.lowercased()),
            "owner_id": owner.map { .string($0.uuidString.lowercased()) } ?? .null,
        ])
    }

    /// The owner's department manager (the oldest active one), else the configured one.
    func manager(of owner: UUID?) async throws -> UUID? {
        if let owner, let manager = try await UserStore.manager(of: owner, on: conn, logger: logger) {
            return manager
        }
        return settings.escalationManagerId
    }

    func assign(_ owner: UUID, outbox: inout ActivityOutbox) async throws -> ActionResult {
        guard try await UserLookup.isActive(owner, on: conn, logger: logger) else {
            return .skipped("user \(owner.uuidString.lowercased()) is not an active user")
        }
        guard let c = try await ContactStore.get(id: event.contactId, scope: .all, on: conn, lock: true, logger: logger)
        else { return .skipped("the contact is gone") }
        var effect: [String: JSONValue] = ["owner_id": .string(owner.uuidString.lowercased())]
        if c.ownerId != owner {
            let after = try await ContactStore.update(
                id: c.id, name: .keep, ownerId: owner, tags: c.tags, on: conn, logger: logger)
            try await outbox.add(
                "contact.owner_changed", entity: "contact", id: c.id, contact: c.id, version: after.version,
                data: [
                    "owner_id": .string(owner.uuidString.lowercased()),
                    "previous_owner_id": c.ownerId.map { .string($0.uuidString.lowercased()) } ?? .null,
                    "rule_id": ruleId,
                ])
            effect["contact_id"] = .string(c.id.uuidString.lowercased())
        }
        if let lead = try await LeadStore.open(contactId: c.id, on: conn, logger: logger), lead.ownerId != owner {
            let after = try await LeadStore.update(
                id: lead.id, status: lead.status, stage: lead.stage, ownerId: owner, on: conn, logger: logger)
            try await outbox.add(
                "lead.owner_changed", entity: "lead", id: lead.id, contact: c.id, version: after.version,
                data: [
                    "owner_id": .string(owner.uuidString.lowercased()),
                    "previous_owner_id": lead.ownerId.map { .string($0.uuidString.lowercased()) } ?? .null,
                    "rule_id": ruleId,
                ])
            effect["lead_id"] = .string(lead.id.uuidString.lowercased())
        }
        if effect.count == 1 { return .skipped("the contact and lead already have this owner") }
        return .done(effect)
    }

    /// Queues the template on `wa.outbound.request` (published after the commit) with its
    /// variables resolved as the API resolves them: the saved mapping against the contact and
    /// lead, then the rule's explicit values. The sender's policy gate decides as for any send.
    func sendTemplate(
        name: String, language: String, variables: [String: String], index: Int, outbox: inout ActivityOutbox
    ) async throws
        -> ActionResult
    {
        guard let contact = try await ContactStore.get(id: event.contactId, scope: .all, on: conn, logger: logger),
            let waId = contact.waId
        else { return .skipped("the contact has no WhatsApp number") }
        var values: [String: String] = [:]
        if let template = try await TemplateStore.get(
            name: name, language: language, wabaId: settings.wabaId, on: conn, logger: logger)
        {
            if let mapping = template.mapping {
                let lead = try await LeadStore.open(contactId: contact.id, on: conn, logger: logger)
                let contactFields = [
                    "name": contact.name ?? contact.profileName, "profile_name": contact.profileName,
                    "phone": contact.phone, "wa_id": contact.waId,
                ].compactMapValues { $0 }
                let leadFields = ["stage": lead?.stage, "status": lead?.status].compactMapValues { $0 }
                values = mapping.resolve(for: template, contact: contactFields, lead: leadFields, columns: variables)
            }
            for (k, v) in variables where template.variables.contains(where: { $0.id == TemplateMapping.canonical(k) })
            {
                values[TemplateMapping.canonical(k)] = v
            }
        }
        let request = OutboundRequest(
            requestId: key(index), to: waId, phoneNumberId: event.phoneNumberId, text: nil, requestedBy: actor,
            template: OutboundTemplate(name: name, language: language, variables: values))
        let (state, created) = try await SendStore.register(
            request, state: "queued", traceParent: outbox.traceParent, on: conn, logger: logger)
        guard created else { return .skipped("the send exists already (\(state))") }
        try await outbox.queueSend(request, execution: execution)
        return .done(["request_id": .string(request.requestId), "template": .string(name)])
    }

    /// Queues the event (a `workflow.webhook` activity envelope) for that endpoint's delivery queue.
    func callWebhook(_ webhookId: UUID, index: Int) async throws -> ActionResult {
        let activity = CRMActivity(
            kind: "workflow.webhook", entity: "workflow_rule", entityId: rule.id.uuidString,
            contactId: event.contactId.uuidString, version: Int(execution) * 100 + index, at: event.at,
            actor: actor,
            data: [
                "rule_id": ruleId, "rule_name": .string(rule.name), "trigger_event_id": .string(event.id),
                "contact_id": .string(event.contactId.uuidString.lowercased()),
            ])
        let envelope = EventEnvelope(
            eventId: activity.eventId, type: EventTypes.crmActivity, occurredAt: event.at, source: "crm-matcher",
            payload: activity)
        let queued = try await WebhookDeliveryStore.enqueue(
            .init(
                eventId: activity.eventId, kind: activity.kind,
                body: String(decoding: try envelope.encoded(), as: UTF8.self)), webhookId: webhookId, on: conn,
            logger: logger)
        guard queued else {
            return .skipped("outbound webhook \(webhookId.uuidString.lowercased()) is unknown or paused")
        }
        return .done(["webhook_id": .string(webhookId.uuidString.lowercased()), "event_id": .string(activity.eventId)])
    }
}
