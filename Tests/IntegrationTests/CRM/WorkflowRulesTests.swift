import CRMCore
import Foundation
import HummingbirdTesting
import Kafka
import Logging
import MatcherService
import PostgresNIO
import Storage
import Testing
import WireModels

/// Workflow rules: saved and validated through the API, run by the matcher's transaction on a
/// real database (and, for `no_reply`, by the scheduler).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkflowRulesTests {
    typealias F = CRMFixtures
    let logger = Logger(label: "workflow-test")

    func user(_ db: TestDatabase, role: String, department: String? = nil) async throws -> UUID {
        let rows = try await db.client.query(
            "INSERT INTO users (name, role, department) VALUES (\(role), \(role), \(department)) RETURNING id")
        for try await id in rows.decode(UUID.self) { return id }
        throw StorageError.invalid("no user")
    }

    func rule(
        _ db: TestDatabase, _ name: String, trigger: WorkflowTrigger, conditions: [WorkflowCondition] = [],
        actions: [WorkflowAction], position: Int = 100
    ) async throws -> WorkflowRule {
        try await db.client.withTransaction(logger: logger) { conn in
            try await WorkflowStore.create(
                .init(
                    name: name, trigger: trigger, conditions: conditions, actions: actions, position: position,
                    active: true), createdBy: "test", on: conn, logger: logger)
        }
    }

    @Test func aKeywordRuleCreatesATaskForTheOwnerOnceEvenWhenTheBatchIsRedelivered() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let owner = try await user(db, role: "agent")
        let customer = Payloads.newNumber()
        try await F.process([F.message(from: customer, text: "Oi")], on: db.client)
        try await db.client.query("UPDATE contacts SET owner_id = \(owner), tags = '{vip}'")
        let taskRule = try await rule(
            db, "price question → task", trigger: .keyword(["preco"]), conditions: [.contactTag("vip")],
            actions: [
                .createTask(title: "Send the price list", dueInMinutes: 15, ownerId: nil), .addTag("asked-price"),
            ],
            position: 2)
        // Runs first (position 1): its stage change is visible in the activity before the task.
        let stageRule = try await rule(
            db, "price question → qualified", trigger: .keyword(["preço"]), actions: [.setLeadStage("qualified")],
            position: 1)
        _ = try await rule(db, "never", trigger: .keyword(["refund"]), actions: [.addTag("refund")])

        let at = Date(timeIntervalSince1970: 1_764_100_000)
        let batch = [F.message(from: customer, text: "Qual o PREÇO do plano?", at: at)]
        try await F.process(batch, on: db.client)
        try await F.process(batch, on: db.client)  // redelivered

        #expect(try await db.count("SELECT 1 FROM workflow_executions") == 2)
        #expect(
            try await db.count(
                "SELECT 1 FROM workflow_executions WHERE rule_id = '\(taskRule.id)' AND outcome = 'done'") == 1)
        #expect(
            try await db.count(
                """
                SELECT 1 FROM tasks WHERE owner_id = '\(owner)' AND kind = 'follow_up' AND title = 'Send the price list'
                AND due_at = '\(RFC3339.string(from: at.addingTimeInterval(900)))'::timestamptz
                AND source_event_id LIKE 'workflow:%' AND lead_id IS NOT NULL
                """) == 1)
        #expect(try await db.count("SELECT 1 FROM contacts WHERE tags = '{vip,asked-price}'") == 1)
        #expect(try await db.count("SELECT 1 FROM leads WHERE stage = 'qualified'") == 1)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE kind = 'task_due'") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'workflow.executed'") == 2)
        let order = try await F.string(
            db,
            """
            SELECT string_agg(data->>'rule_id', ',' ORDER BY id) FROM crm_activity WHERE kind = 'workflow.executed'
            """)
        #expect(order == "\(stageRule.id.uuidString.lowercased()),\(taskRule.id.uuidString.lowercased())")
    }

    @Test func noReplyWithinNMinutesRemindsTheOwnerAndEscalatesToTheDepartmentManager() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let owner = try await user(db, role: "agent", department: "sales")
        let manager = try await user(db, role: "manager", department: "sales")
        let waiting = Payloads.newNumber()
        let answered = Payloads.newNumber()
        try await F.process(
            [F.message(from: waiting, text: "Oi"), F.message(from: answered, text: "Oi")], on: db.client)
        try await db.client.query("UPDATE contacts SET owner_id = \(owner)")
        _ = try await rule(
            db, "no reply in 30 min", trigger: .noReply(minutes: 30),
            actions: [
                .createTask(title: "Answer the customer", dueInMinutes: 0, ownerId: nil),
                .escalate(title: "Customer waiting for 30 minutes", dueInMinutes: 10),
            ])
        // Both wrote 31 minutes ago; only one was answered since.
        let ago = Date().addingTimeInterval(-31 * 60)
        let m1 = F.message(from: waiting, text: "Hello?", at: ago)
        let m2 = F.message(from: answered, text: "Hello?", at: ago)
        try await F.process([m1, m2], on: db.client)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE kind = 'no_reply' AND state = 'pending'") == 2)
        let answeredId = try await F.id(db, "SELECT id FROM contacts WHERE wa_id = '\(answered)'")
        try await db.client.query(
            "INSERT INTO messages (wamid, direction, contact_id, type) VALUES ('wamid.out1', 'outbound', \(answeredId), 'text')"
        )

        let runner = JobRunner(postgres: db.client, settings: AutomationSettings(), instance: "t", logger: logger)
        #expect(try await runner.runDue().fired == 2)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE outcome = 'executed'") == 1)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE outcome = 'replied'") == 1)
        #expect(try await db.count("SELECT 1 FROM tasks WHERE kind = 'follow_up' AND owner_id = '\(owner)'") == 1)
        #expect(try await db.count("SELECT 1 FROM tasks WHERE kind = 'escalation' AND owner_id = '\(manager)'") == 1)
        #expect(
            try await db.count(
                "SELECT 1 FROM workflow_executions WHERE trigger_event_id = 'no_reply:\(m1.wamid)' AND outcome = 'done'"
            )
                == 1)
        // The follow-up was due at once: the next round reminds its owner.
        #expect(try await runner.runDue().fired == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'task.reminder_fired'") == 1)
    }

    @Test func aLeadStageChangeRunsItsRulesOnceAndChangesMadeByRulesTriggerNothing() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message(from: Payloads.newNumber(), text: "Oi")], on: db.client)
        let leadId = try await F.id(db, "SELECT id FROM leads")
        let contactId = try await F.id(db, "SELECT contact_id FROM leads")
        _ = try await rule(
            db, "qualified → proposal task", trigger: .leadStageChanged(["qualified"]),
            actions: [.createTask(title: "Send the proposal", dueInMinutes: 60, ownerId: nil)])
        func change(to stage: String, version: Int, byRule: Bool = false) -> CRMActivity {
            var data: [String: JSONValue] = ["stage": .string(stage), "previous_stage": "new"]
            if byRule { data["rule_id"] = .string(UUID().uuidString) }
            return CRMActivity(
                kind: "lead.stage_changed", entity: "lead", entityId: leadId.uuidString,
                contactId: contactId.uuidString, version: version, at: Date(), actor: "someone",
                data: .object(data))
        }
        let qualified = change(to: "qualified", version: 2)
        let engine = WorkflowEngine(settings: AutomationSettings())
        for batch in [
            [qualified], [qualified, change(to: "won", version: 3)],
            [change(to: "qualified", version: 4, byRule: true)],
        ] {
            try await db.client.withTransaction(logger: logger) { conn in
                var outbox = ActivityOutbox(conn: conn, logger: logger)
                try await engine.runStageChanges(batch, outbox: &outbox)
            }
        }
        #expect(try await db.count("SELECT 1 FROM workflow_executions") == 1)
        #expect(
            try await db.count(
                "SELECT 1 FROM workflow_executions WHERE trigger_event_id = '\(qualified.eventId)' AND outcome = 'done'"
            )
                == 1)
        #expect(
            try await db.count("SELECT 1 FROM tasks WHERE title = 'Send the proposal' AND lead_id = '\(leadId)'") == 1)
    }

    @Test func aFailedMessageRunsItsStatusFailedRulesOnceByErrorCodeAndRuleSendsStartNothing() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message(from: Payloads.newNumber(), text: "Oi")], on: db.client)
        let contactId = try await F.id(db, "SELECT id FROM contacts")
        let waId = try #require(try await F.string(db, "SELECT wa_id FROM contacts"))
        let undeliverable = try await rule(
            db, "undeliverable → call", trigger: .statusFailed([131026]),
            actions: [.createTask(title: "Call: WhatsApp cannot reach them", dueInMinutes: 60, ownerId: nil)])
        let anyFailure = try await rule(
            db, "any failure → tag", trigger: .statusFailed([]), actions: [.addTag("delivery-problem")], position: 200)
        // Two messages we sent (one by a rule) and one send the sender gave up on.
        try await db.client.query(
            """
            INSERT INTO send_requests (request_id, to_wa_id, phone_number_id, payload, state)
            VALUES ('api-1', \(waId), '100000000000002', '{}', 'sent'), ('api-2', \(waId), '100000000000002', '{}', 'failed'),
                   ('workflow:x:y:0', \(waId), '100000000000002', '{}', 'sent')
            """)
        try await db.client.query(
            """
            INSERT INTO messages (wamid, direction, contact_id, phone_number_id, counterpart_wa_id, type, send_request_id)
            VALUES ('wamid.OUT1', 'outbound', \(contactId), '100000000000002', \(waId), 'template', 'api-1'),
                   ('wamid.OUT2', 'outbound', \(contactId), '100000000000002', \(waId), 'template', 'workflow:x:y:0')
            """)
        func status(_ wamid: String, code: Int, to: String? = nil) -> KafkaRecord {
            let update = StatusUpdate(
                wamid: wamid, status: "failed", timestamp: Date(), recipientId: to ?? waId, wabaId: "100000000000001",
                phoneNumberId: "100000000000002", bizOpaqueCallbackData: nil,
                errors: [WhatsAppError(code: code, title: "failed", message: nil, details: nil)], conversation: nil,
                pricing: nil)
            let envelope = EventEnvelope(
                eventId: update.eventId, type: EventTypes.status, occurredAt: update.timestamp, source: "test",
                payload: update)
            return KafkaRecord(topic: "wa.status", partition: 0, offset: 0, key: nil, value: try! envelope.encoded())
        }
        let sendFailed = EventEnvelope(
            eventId: "api-2:1", type: EventTypes.outboundResult, occurredAt: Date(), source: "test",
            payload: OutboundResult(
                requestId: "api-2", attempt: 1, state: "failed", wamid: nil, waId: waId,
                error: WhatsAppError(code: 131047, title: "Re-engagement message", message: nil, details: nil)))
        let records = [
            status("wamid.OUT1", code: 131026), status("wamid.OUT2", code: 131026),  // the second: a rule's send
            status("wamid.UNKNOWN", code: 131026, to: "15550009999"),  // nobody we know
            KafkaRecord(
                topic: "wa.outbound.result", partition: 0, offset: 0, key: nil, value: try sendFailed.encoded()),
            KafkaRecord(
                topic: "wa.status", partition: 0, offset: 0, key: nil,
                value: try EventEnvelope(
                    eventId: "wamid.OUT1:read", type: EventTypes.status, occurredAt: Date(), source: "test",
                    payload: StatusUpdate(
                        wamid: "wamid.OUT1", status: "read", timestamp: Date(), recipientId: waId,
                        wabaId: "100000000000001", phoneNumberId: "100000000000002", bizOpaqueCallbackData: nil,
                        errors: [], conversation: nil, pricing: nil)
                ).encoded()),
        ]
        let failures = try records.compactMap { try DeliveryFailure.from($0, topics: Topics()) }
        #expect(
            failures.map(\.eventId) == [
                "wamid.OUT1:failed:131026", "wamid.OUT2:failed:131026",
                "wamid.UNKNOWN:failed:131026", "send:api-2:failed",
            ])
        let engine = WorkflowEngine(settings: AutomationSettings())
        for _ in 0..<3 {  // redelivered: nothing runs twice
            try await db.client.withTransaction(logger: logger) { conn in
                var outbox = ActivityOutbox(conn: conn, logger: logger)
                try await engine.runFailures(failures, outbox: &outbox)
            }
        }
        let runs = try await F.string(
            db,
            """
            SELECT string_agg(rule_id::text || '@' || trigger_event_id, ',' ORDER BY rule_id::text COLLATE "C", trigger_event_id COLLATE "C")
            FROM workflow_executions WHERE outcome IN ('done', 'skipped', 'partial')
            """)
        let expected = [
            "\(undeliverable.id.uuidString.lowercased())@wamid.OUT1:failed:131026",
            "\(anyFailure.id.uuidString.lowercased())@send:api-2:failed",
            "\(anyFailure.id.uuidString.lowercased())@wamid.OUT1:failed:131026",
        ].sorted().joined(separator: ",")
        #expect(runs == expected)
        #expect(
            try await db.count(
                "SELECT 1 FROM tasks WHERE title = 'Call: WhatsApp cannot reach them' AND contact_id = '\(contactId)'")
                == 1)
        #expect(try await db.count("SELECT 1 FROM contacts WHERE 'delivery-problem' = ANY(tags)") == 1)
    }

    @Test func rulesAreValidatedWholeOnSaveListedInOrderAndAudited() async throws {
        try await APIHarness.run { h, client in
            let bad = try await h.call(
                client, .post, "/api/v1/workflow-rules", token: h.adminToken,
                body: [
                    "trigger": ["type": "full_moon"],
                    "conditions": [["type": "lead_status", "values": ["maybe"]]],
                    "actions": [
                        ["type": "send_template", "name": "nope", "language": "en_US"],
                        ["type": "call_webhook", "webhook_id": .string(UUID().uuidString)],
                        ["type": "assign_owner", "owner_id": .string(UUID().uuidString)],
                        ["type": "teleport"],
                    ],
                    "priority": 1,
                ])
            #expect(bad.status == .badRequest)
            #expect(
                Set(bad.badFields) == [
                    "name", "trigger.type", "conditions[0].values", "actions[0].name", "actions[1].webhook_id",
                    "actions[2].owner_id", "actions[3].type", "priority",
                ], "\(bad.text)")

            let (_, agentToken) = try await h.user(client, role: "agent", name: "Agent")
            let newLead: JSONValue = [
                "name": "new lead → reply within 15 minutes", "trigger": ["type": "inbound_message"],
                "conditions": [["type": "lead_stage", "values": ["new"]]],
                "actions": [["type": "create_task", "title": "Reply within 15 minutes", "due_in_minutes": 15]],
                "position": 10,
            ]
            #expect(
                try await h.call(client, .post, "/api/v1/workflow-rules", token: agentToken, body: newLead).status
                    == .forbidden)
            let created = try await h.call(client, .post, "/api/v1/workflow-rules", token: h.adminToken, body: newLead)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created["id"]?.stringValue)
            let first = try await h.call(
                client, .post, "/api/v1/workflow-rules", token: h.adminToken,
                body: [
                    "name": "vip", "trigger": ["type": "button_reply", "payloads": ["BUY"]],
                    "actions": [["type": "add_tag", "tag": "buyer"]], "position": 1,
                ])
            #expect(first.status == .created, "\(first.text)")
            let listed = try await h.call(client, .get, "/api/v1/workflow-rules", token: h.adminToken)
            #expect(listed.items.map { $0["name"]?.stringValue } == ["vip", "new lead → reply within 15 minutes"])

            let paused = try await h.call(
                client, .patch, "/api/v1/workflow-rules/\(id)", token: h.adminToken, body: ["active": false])
            #expect(paused.status == .ok, "\(paused.text)")
            #expect(paused["active"]?.boolValue == false)
            #expect(paused["version"]?.doubleValue == 2)
            #expect(paused["actions"]?.arrayValue.count == 1)
            let badPatch = try await h.call(
                client, .patch, "/api/v1/workflow-rules/\(id)", token: h.adminToken,
                body: ["trigger": ["type": "no_reply", "minutes": 0]])
            #expect(badPatch.badFields == ["trigger.minutes"], "\(badPatch.text)")
            #expect(
                try await h.call(
                    client, .patch, "/api/v1/workflow-rules/\(UUID())", token: h.adminToken, body: ["active": true]
                ).status == .notFound)
            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE entity = 'workflow_rule'") == 3)
        }
    }
}
