import Foundation
import HummingbirdTesting
import Logging
import MatcherService
import PostgresNIO
import Storage
import Testing
import WireModels

/// `/tasks` through the gateway's router on a real database: scoping, validation, audit,
/// activity and the reminder each task keeps in the schedule.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TasksTests {
    /// A contact made by the matcher from one inbound message; returns its id.
    func contact(_ h: APIHarness) async throws -> UUID {
        let m = CRMFixtures.message(from: Payloads.newNumber(), name: "Ana")
        try await CRMFixtures.process([m], on: h.db.client)
        return try await CRMFixtures.id(h.db, "SELECT id FROM contacts WHERE wa_id = '\(m.waId!)'")
    }

    @Test func agentsSeeAndChangeOnlyTheirOwnTasksAndEveryWriteIsAuditedAndPublished() async throws {
        try await APIHarness.run { h, client in
            let contactId = try await contact(h)
            let (agentA, tokenA) = try await h.user(client, role: "agent", name: "AgentA")
            let (agentB, tokenB) = try await h.user(client, role: "agent", name: "AgentB")
            let handed = try await h.call(
                client, .patch, "/api/v1/contacts/\(contactId)", token: h.adminToken,
                body: ["owner_id": .string(agentA.uuidString)])
            #expect(handed.status == .ok, "\(handed.text)")

            let due = RFC3339.string(from: Date().addingTimeInterval(3600))
            let created = try await h.call(
                client, .post, "/api/v1/tasks", token: tokenA,
                body: ["contact_id": .string(contactId.uuidString), "title": "Call back", "due_at": .string(due)])
            #expect(created.status == .created, "\(created.text)")
            #expect(created["owner_id"]?.stringValue?.lowercased() == agentA.uuidString.lowercased())
            #expect(created["status"]?.stringValue == "open")
            let taskId = try #require(created["id"]?.stringValue)
            #expect(
                try await h.db.count("SELECT 1 FROM scheduled_jobs WHERE kind = 'task_due' AND state = 'pending'") == 1)

            // Agent B: A's contact and task are not found, lists are empty, giving away is refused.
            let onOthersContact = try await h.call(
                client, .post, "/api/v1/tasks", token: tokenB,
                body: ["contact_id": .string(contactId.uuidString), "title": "Mine now"])
            #expect(onOthersContact.status == .notFound, "\(onOthersContact.text)")
            #expect(try await h.call(client, .get, "/api/v1/tasks", token: tokenB).items.isEmpty)
            let othersPatch = try await h.call(
                client, .patch, "/api/v1/tasks/\(taskId)", token: tokenB, body: ["status": "done"])
            #expect(othersPatch.status == .notFound)
            let giveAway = try await h.call(
                client, .patch, "/api/v1/tasks/\(taskId)", token: tokenA,
                body: ["owner_id": .string(agentB.uuidString)])
            #expect(giveAway.status == .forbidden, "\(giveAway.text)")
            #expect(try await h.call(client, .get, "/api/v1/tasks", token: tokenA).items.count == 1)

            // A second task (admin, no due time): filters and paging.
            let second = try await h.call(
                client, .post, "/api/v1/tasks", token: h.adminToken,
                body: ["contact_id": .string(contactId.uuidString), "title": "Send the quote"])
            #expect(second.status == .created, "\(second.text)")
            let before = RFC3339.string(from: Date().addingTimeInterval(7200))
            let dueSoon = try await h.call(
                client, .get, "/api/v1/tasks?due_before=\(before)&contact_id=\(contactId)", token: h.adminToken)
            #expect(dueSoon.items.map { $0["id"]?.stringValue } == [taskId], "\(dueSoon.text)")
            let page1 = try await h.call(client, .get, "/api/v1/tasks?limit=1&status=open", token: h.adminToken)
            let cursor = try #require(page1["next_cursor"]?.stringValue)
            let page2 = try await h.call(
                client, .get, "/api/v1/tasks?limit=1&status=open&cursor=\(cursor)", token: h.adminToken)
            #expect(page1.items.count == 1 && page2.items.count == 1)
            #expect(page1.items[0]["id"] != page2.items[0]["id"])
            #expect(
                try await h.call(client, .get, "/api/v1/tasks?owner_id=\(agentB)", token: h.adminToken).items.isEmpty)

            // Done: completed, the reminder is cancelled.
            let done = try await h.call(
                client, .patch, "/api/v1/tasks/\(taskId)", token: tokenA, body: ["status": "done"])
            #expect(done.status == .ok, "\(done.text)")
            #expect(done["completed_at"]?.stringValue != nil)
            #expect(try await h.db.count("SELECT 1 FROM scheduled_jobs WHERE state = 'pending'") == 0)
            #expect(try await h.db.count("SELECT 1 FROM scheduled_jobs WHERE state = 'cancelled'") == 1)

            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE action = 'task.create'") == 2)
            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE action = 'task.update'") == 1)
            #expect(try await h.db.count("SELECT 1 FROM crm_activity WHERE kind = 'task.created'") == 2)
            #expect(try await h.db.count("SELECT 1 FROM crm_activity WHERE kind = 'task.completed'") == 1)
            try await eventually("task activity published") {
                try await h.db.count("SELECT 1 FROM crm_activity WHERE entity = 'task' AND published_at IS NULL") == 0
            }
        }
    }

    @Test func badRequestsListEveryBadField() async throws {
        try await APIHarness.run { h, client in
            let empty = try await h.call(client, .post, "/api/v1/tasks", token: h.adminToken, body: [:])
            #expect(empty.status == .badRequest)
            #expect(Set(empty.badFields) == ["contact_id", "title"], "\(empty.text)")
            let bad = try await h.call(
                client, .post, "/api/v1/tasks", token: h.adminToken,
                body: ["contact_id": "nope", "title": "  ", "due_at": "tomorrow", "colour": "red"])
            #expect(Set(bad.badFields) == ["contact_id", "title", "due_at", "colour"], "\(bad.text)")
            let unknownContact = try await h.call(
                client, .post, "/api/v1/tasks", token: h.adminToken,
                body: ["contact_id": .string(UUID().uuidString), "title": "x"])
            #expect(unknownContact.status == .notFound)
            let query = try await h.call(
                client, .get, "/api/v1/tasks?status=later&due_before=soon&contact_id=1&limit=0", token: h.adminToken)
            #expect(Set(query.badFields) == ["status", "due_before", "contact_id", "limit"], "\(query.text)")
            let contactId = try await contact(h)
            let owner = try await h.call(
                client, .post, "/api/v1/tasks", token: h.adminToken,
                body: [
                    "contact_id": .string(contactId.uuidString), "title": "x", "owner_id": .string(UUID().uuidString),
                ])
            #expect(owner.badFields == ["owner_id"], "\(owner.text)")
            #expect(try await h.call(client, .get, "/api/v1/tasks", token: nil).status == .unauthorized)
        }
    }
}

/// The scheduler on a real database: reminders fire once however many instances run, a
/// crashed instance's claim is taken over after its lease, moved or closed tasks are not reminded.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ReminderSchedulerTests {
    let logger = Logger(label: "scheduler-test")

    func tasks(_ db: TestDatabase, count: Int, due: Date) async throws -> [TaskRow] {
        let m = CRMFixtures.message(from: Payloads.newNumber())
        try await CRMFixtures.process([m], on: db.client)
        let contactId = try await CRMFixtures.id(db, "SELECT id FROM contacts")
        return try await db.client.withTransaction(logger: logger) { conn in
            var out: [TaskRow] = []
            for i in 0..<count {
                let t = try await TaskStore.create(
                    NewTask(contactId: contactId, ownerId: nil, title: "task \(i)", dueAt: due, createdBy: "test"),
                    on: conn, logger: logger)
                if let t { out.append(t) }
            }
            return out
        }
    }

    @Test func twoInstancesFireEachReminderExactlyOnce() async throws {
        let db = try await CRMFixtures.migrated()
        defer { db.close() }
        _ = try await tasks(db, count: 40, due: Date().addingTimeInterval(-1))
        let (other, otherTask) = try db.newClient()
        defer { otherTask.cancel() }
        let settings = AutomationSettings(batchSize: 7)
        let runners = [
            JobRunner(postgres: db.client, settings: settings, instance: "a", logger: logger),
            JobRunner(postgres: other, settings: settings, instance: "b", logger: logger),
        ]
        let fired = try await withThrowingTaskGroup(of: Int.self) { group in
            for runner in runners {
                group.addTask {
                    var total = 0
                    while true {
                        let round = try await runner.runDue()
                        total += round.fired
                        if round.fired == 0 { return total }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(fired == 40)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE state = 'fired' AND outcome = 'reminded'") == 40)
        #expect(try await db.count("SELECT 1 FROM tasks WHERE reminded_at IS NOT NULL AND version = 2") == 40)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'task.reminder_fired'") == 40)
        // A further round finds nothing.
        #expect(try await runners[0].runDue().fired == 0)
    }

    @Test func aClaimWhoseHolderDiedIsTakenOverAfterItsLease() async throws {
        let db = try await CRMFixtures.migrated()
        defer { db.close() }
        _ = try await tasks(db, count: 1, due: Date().addingTimeInterval(-1))
        // "dead" claims the job and never fires it (as if it crashed right after claiming).
        let claimed = try await ScheduleStore.claimDue(
            limit: 10, leaseMs: 1500, instance: "dead", on: db.client, logger: logger)
        #expect(claimed.count == 1)
        let live = JobRunner(postgres: db.client, settings: AutomationSettings(), instance: "live", logger: logger)
        #expect(try await live.runDue().fired == 0, "held by the claim")
        try await Task.sleep(for: .milliseconds(1700))
        #expect(try await live.runDue().fired == 1)
        // The dead instance coming back cannot fire it again.
        let late = try await db.client.withTransaction(logger: logger) { conn in
            try await ScheduleStore.fire(claimed[0], instance: "dead", outcome: "reminded", on: conn, logger: logger)
        }
        #expect(!late)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE fired_by = 'live' AND attempts = 2") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'task.reminder_fired'") == 1)
    }

    @Test func aMovedOrClosedTaskIsNotRemindedAtItsOldTime() async throws {
        let db = try await CRMFixtures.migrated()
        defer { db.close() }
        let made = try await tasks(db, count: 2, due: Date().addingTimeInterval(-1))
        try await db.client.withTransaction(logger: logger) { conn in
            _ = try await TaskStore.update(
                id: made[0].id, title: made[0].title, dueAt: Date().addingTimeInterval(3600), status: "open",
                ownerId: nil, on: conn, logger: logger)
            _ = try await TaskStore.update(
                id: made[1].id, title: made[1].title, dueAt: made[1].dueAt, status: "cancelled", ownerId: nil,
                on: conn, logger: logger)
        }
        let runner = JobRunner(postgres: db.client, settings: AutomationSettings(), instance: "a", logger: logger)
        #expect(try await runner.runDue().fired == 0)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE state = 'cancelled'") == 2)
        #expect(try await db.count("SELECT 1 FROM scheduled_jobs WHERE state = 'pending' AND due_at > now()") == 1)
        #expect(try await db.count("SELECT 1 FROM tasks WHERE reminded_at IS NOT NULL") == 0)
    }
}
