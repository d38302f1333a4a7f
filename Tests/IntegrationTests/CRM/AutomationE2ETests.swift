import Foundation
import PostgresNIO
import Testing
import WireModels

/// Tasks and workflow rules through the running services: the scheduler across a crm-matcher
/// restart, and a rule's template send reaching the simulator through the sender.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct AutomationE2ETests {
    func firstString(_ stack: E2EStack, _ sql: String) async throws -> String? {
        let rows = try await stack.postgres.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }

    @Test func aReminderDueWhileCrmMatcherIsDownFiresOnceAfterItRestarts() async throws {
        try await E2EStack.with { stack in
            #expect(
                try await stack.postInboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), text: "Oi")
                    == 200)
            try await eventually("contact stored") { try await stack.count("SELECT 1 FROM contacts") == 1 }
            let contactId = try #require(try await firstString(stack, "SELECT id::text FROM contacts"))

            // The only scheduler goes away before the task is even created.
            let status = await stack.processes["crm-matcher"]?.stop()
            #expect(status == 0, "clean shutdown")
            let due = RFC3339.string(from: Date().addingTimeInterval(2))
            let created = try await stack.api(
                .POST, "/tasks", body: #"{"contact_id":"\#(contactId)","title":"Call Ana","due_at":"\#(due)"}"#)
            #expect(created.status == 201, "\(created.body)")
            try await Task.sleep(for: .seconds(4))
            #expect(try await stack.count("SELECT 1 FROM tasks WHERE reminded_at IS NOT NULL") == 0)
            #expect(
                try await stack.count("SELECT 1 FROM scheduled_jobs WHERE state = 'pending' AND due_at < now()") == 1)

            try stack.start("crm-matcher")
            try await stack.waitReady(["crm-matcher"])
            try await eventually("reminder fired", timeout: .seconds(30)) {
                try await stack.count("SELECT 1 FROM tasks WHERE reminded_at IS NOT NULL") == 1
            }
            try await eventually("reminder published to crm.activity") {
                try await stack.count(
                    "SELECT 1 FROM crm_activity WHERE kind = 'task.reminder_fired' AND published_at IS NOT NULL") == 1
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.count("SELECT 1 FROM crm_activity WHERE kind = 'task.reminder_fired'") == 1)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM scheduled_jobs WHERE state = 'fired' AND outcome = 'reminded' AND attempts = 1") == 1
            )
        }
    }

    @Test func aKeywordRuleSendsAnApprovedTemplateThroughTheSenderOnce() async throws {
        try await E2EStack.with { stack in
            #expect(try await stack.api(.POST, "/templates/sync").status == 200)
            let created = try await stack.api(
                .POST, "/workflow-rules",
                body: """
                    {"name":"menu","trigger":{"type":"keyword","keywords":["menu"]},
                     "actions":[{"type":"send_template","name":"hello_world","language":"en_US"},
                                {"type":"create_task","title":"Follow up on the menu","due_in_minutes":60}]}
                    """)
            #expect(created.status == 201, "\(created.body)")
            let ruleId = try #require(created.json?["id"]?.stringValue)

            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            let first = Payloads.notification([
                Payloads.inboundText(wamid: wamid, from: customer, name: "Ana", text: "MENU, please")
            ])
            #expect(try await stack.postWebhook(first).status == 200)
            try await eventually("the rule's send went out", timeout: .seconds(60)) {
                try await stack.count(
                    "SELECT 1 FROM send_requests WHERE requested_by = 'workflow:\(ruleId)' AND state = 'sent'") == 1
            }
            #expect(
                try await stack.count(
                    "SELECT 1 FROM messages WHERE direction = 'outbound' AND template = 'hello_world' AND counterpart_wa_id = '\(customer)'"
                ) == 1)
            #expect(try await stack.count("SELECT 1 FROM tasks WHERE title = 'Follow up on the menu'") == 1)
            #expect(try await stack.count("SELECT 1 FROM workflow_sends WHERE published_at IS NOT NULL") == 1)

            // The same message again in another webhook body (Meta redelivers): no second run.
            let again = Payloads.notification([
                Payloads.inboundText(wamid: wamid, from: customer, name: "Ana Maria", text: "MENU, please")
            ])
            #expect(try await stack.postWebhook(again).status == 200)
            try await eventually("the second body was processed") {
                try await stack.count("SELECT 1 FROM webhook_raw WHERE state = 'processed'") == 2
            }
            try await Task.sleep(for: .seconds(3))
            #expect(try await stack.count("SELECT 1 FROM workflow_executions WHERE rule_id = '\(ruleId)'") == 1)
            #expect(try await stack.count("SELECT 1 FROM send_requests WHERE requested_by = 'workflow:\(ruleId)'") == 1)
            #expect(try await stack.count("SELECT 1 FROM tasks") == 1)
        }
    }
}
