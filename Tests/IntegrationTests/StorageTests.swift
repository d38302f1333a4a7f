import Foundation
import Logging
import PostgresNIO
import Storage
import Testing
import WireModels

/// The database layer against the real PostgreSQL of `make test`.
@Suite(.timeLimit(.minutes(2)))
struct StorageTests {
    let logger = Logger(label: "storage-tests")

    @Test func migrationsAreSafeWhenReplicasStartTogether() async throws {
        let db = try await TestDatabase(env: try TestEnvironment.require())
        defer { db.close() }
        let clients = try (0..<4).map { _ in try db.newClient() }
        defer {
            for (_, task) in clients { task.cancel() }
        }
        let logger = self.logger
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for (client, _) in clients { group.addTask { try await MigrationRunner().run(on: client, logger: logger) } }
            return try await group.reduce(into: [[String]]()) { $0.append($1) }
        }
        // Exactly one replica applied each migration; the others found nothing to do.
        #expect(applied.flatMap { $0 }.sorted() == Schema.migrations.map(\.name).sorted())
        #expect(try await db.count("SELECT 1 FROM schema_migrations") == Schema.migrations.count)
        #expect(try await MigrationRunner().run(on: db.client, logger: logger).isEmpty)
    }

    /// Tables updated for every inbound message keep free space on their pages (0013), so
    /// those updates can stay on the page without touching the indexes.
    @Test func tablesUpdatedPerMessageLeaveRoomOnTheirPages() async throws {
        let db = try await migrated()
        defer { db.close() }
        let tuned = try await db.count(
            """
            SELECT 1 FROM pg_class
            WHERE relname IN ('contacts', 'leads', 'conversations', 'webhook_raw')
              AND EXISTS (SELECT 1 FROM unnest(reloptions) o
                          WHERE o LIKE 'fillfactor=%' AND split_part(o, '=', 2)::int BETWEEN 50 AND 90)
            """)
        #expect(tuned == 4)
    }

    func migrated() async throws -> TestDatabase {
        let db = try await TestDatabase(env: try TestEnvironment.require())
        try await MigrationRunner().run(on: db.client, logger: logger)
        return db
    }

    @Test func concurrentFirstMessagesFromOneNumberMakeOneContact() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
            for i in 0..<16 {
                group.addTask {
                    try await db.client.withTransaction(logger: logger) { conn in
                        try await ContactStore.upsertFromWhatsApp(
                            waId: "5511900000001", userId: nil, profileName: "P\(i)", on: conn, logger: logger)
                    }
                }
            }
            return try await group.reduce(into: Set<UUID>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try await db.count("SELECT 1 FROM contacts") == 1)
    }

    @Test func aNameSetByAUserIsNotOverwrittenByTheProfileName() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        let id = try await db.client.withTransaction(logger: logger) { conn in
            try await ContactStore.upsertFromWhatsApp(
                waId: "5511900000002", userId: nil, profileName: nil, on: conn, logger: logger)
        }
        _ = try await db.client.withTransaction(logger: logger) { conn in
            try await ContactStore.upsertFromWhatsApp(
                waId: "5511900000002", userId: nil, profileName: "Ana", on: conn, logger: logger)
        }
        #expect(try await db.count("SELECT 1 FROM contacts WHERE id = '\(id)' AND name = 'Ana'") == 1)
        try await db.client.query("UPDATE contacts SET name = 'Ana Souza (VIP)', name_source = 'api' WHERE id = \(id)")
        _ = try await db.client.withTransaction(logger: logger) { conn in
            try await ContactStore.upsertFromWhatsApp(
                waId: "5511900000002", userId: nil, profileName: "ana", on: conn, logger: logger)
        }
        #expect(
            try await db.count("SELECT 1 FROM contacts WHERE name = 'Ana Souza (VIP)' AND profile_name = 'ana'") == 1)
    }

    func status(_ wamid: String, _ status: String, _ at: Int, code: Int? = nil) -> StatusUpdate {
        StatusUpdate(
            wamid: wamid, status: status, timestamp: Date(timeIntervalSince1970: TimeInterval(at)), recipientId: "5511",
            wabaId: "1", phoneNumberId: "2", bizOpaqueCallbackData: nil,
            errors: code.map { [WhatsAppError(code: $0, title: "err \($0)", message: nil, details: nil)] } ?? [],
            conversation: nil, pricing: nil)
    }

    /// Applies statuses the way the reporter does, each event delivered twice.
    func deliver(_ events: [StatusUpdate], to db: TestDatabase) async throws {
        let logger = self.logger
        for e in events + events {
            try await db.client.withTransaction(logger: logger) { conn in
                guard try await StatusStore.record(e, on: conn, logger: logger) else { return }
                try await StatusStore.apply(
                    wamid: e.wamid, status: e.status, at: e.timestamp, error: e.errors.first, on: conn, logger: logger)
            }
        }
    }

    func outbound(_ wamid: String, db: TestDatabase) async throws {
        let logger = self.logger
        try await db.client.withTransaction(logger: logger) { conn in
            try await MessageStore.insertOutbound(
                [
                    .init(
                        wamid: wamid, contactId: nil, phoneNumberId: "2", toWaId: "5511", type: "text", text: "hi",
                        sendRequestId: "r-\(wamid)")
                ], on: conn, logger: logger)
        }
    }

    func state(_ wamid: String, db: TestDatabase) async throws -> [String] {
        let rows = try await db.client.query(
            """
            SELECT status, coalesce(to_char(sent_at,'SS'),'-'), coalesce(to_char(delivered_at,'SS'),'-'),
                   coalesce(to_char(read_at,'SS'),'-'), coalesce((last_error->>'code'),'-'),
                   (SELECT count(*)::int FROM message_status_events e WHERE e.wamid = m.wamid)
            FROM messages m WHERE wamid = \(wamid)
            """)
        for try await (s, a, b, c, d, n) in rows.decode((String, String, String, String, String, Int).self) {
            return [s, a, b, c, d, String(n)]
        }
        return []
    }

    @Test func statusesInEveryOrderGiveTheSameStateAndHistory() async throws {
        let db = try await migrated()
        defer { db.close() }
        let events = ["sent": 10, "delivered": 20, "read": 30]
        var results = Set<[String]>()
        for (i, order) in permutations(["sent", "delivered", "read"]).enumerated() {
            let wamid = "wamid.ORDER\(i)"
            try await outbound(wamid, db: db)
            try await deliver(order.map { status(wamid, $0, events[$0]!) }, to: db)
            results.insert(try await state(wamid, db: db))
        }
        #expect(results == [["read", "10", "20", "30", "-", "3"]])
    }

    @Test func failedThenDeliveredMeansDeliveredAndFailedDoesNotUndoDelivery() async throws {
        let db = try await migrated()
        defer { db.close() }
        try await outbound("wamid.F1", db: db)
        try await deliver(
            [
                status("wamid.F1", "sent", 1), status("wamid.F1", "failed", 2, code: 131026),
                status("wamid.F1", "delivered", 3),
            ], to: db)
        #expect(try await state("wamid.F1", db: db) == ["delivered", "01", "03", "-", "131026", "3"])
        try await outbound("wamid.F2", db: db)
        try await deliver([status("wamid.F2", "delivered", 3), status("wamid.F2", "failed", 4, code: 131000)], to: db)
        #expect(try await state("wamid.F2", db: db) == ["delivered", "03", "03", "-", "131000", "2"])
        try await outbound("wamid.F3", db: db)
        try await deliver([status("wamid.F3", "sent", 1), status("wamid.F3", "failed", 2, code: 131049)], to: db)
        #expect(try await state("wamid.F3", db: db) == ["failed", "01", "-", "-", "131049", "2"])
    }

    @Test func statusesBeforeTheMessageAreAppliedWhenItAppears() async throws {
        let db = try await migrated()
        defer { db.close() }
        try await deliver([status("wamid.EARLY", "delivered", 5), status("wamid.EARLY", "sent", 4)], to: db)
        #expect(try await state("wamid.EARLY", db: db).isEmpty)
        try await outbound("wamid.EARLY", db: db)
        #expect(try await state("wamid.EARLY", db: db) == ["delivered", "04", "05", "-", "-", "2"])
    }

    @Test func webhookBodiesAreArchivedOnce() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        let item = WebhookRawStore.Item(sha256: "abc", body: "{}", receivedAt: .now)
        for _ in 0..<3 {
            let states = try await WebhookRawStore.archive([item, item], on: db.client, logger: logger)
            #expect(states == ["abc": "received"])
        }
        #expect(try await db.count("SELECT 1 FROM webhook_raw") == 1)
        // Once processed, a body that comes again (Meta retried it) is reported as such and skipped.
        try await WebhookRawStore.markProcessedMany([("abc", "processed", nil)], on: db.client, logger: logger)
        let other = WebhookRawStore.Item(sha256: "def", body: "{}", receivedAt: .now)
        let states = try await WebhookRawStore.archive([item, other], on: db.client, logger: logger)
        #expect(states == ["abc": "processed", "def": "received"])
    }

    /// Every replica runs an outbox relay for workflow sends left unpublished: concurrent relays
    /// claim disjoint rows (`FOR UPDATE SKIP LOCKED`), so each leftover send is published once.
    @Test func concurrentOutboxRelaysClaimEachLeftoverSendOnce() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        try await db.client.withConnection { conn in
            // The rows alone: their rule and execution do not matter to the claim.
            try await conn.query("SET session_replication_role = replica", logger: logger)
            for i in 0..<40 {
                let request = OutboundRequest(
                    requestId: "workflow:claim-\(i)", to: "5511900000\(100 + i)", phoneNumberId: nil, text: "hi",
                    requestedBy: nil)
                try await WorkflowStore.addSend(request, execution: 1, on: conn, logger: logger)
            }
        }
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await db.client.withTransaction(logger: logger) { conn in
                        let sends = try await WorkflowStore.claimUnpublishedSends(
                            olderThan: .zero, limit: 15, on: conn, logger: logger)
                        // Held while the others claim, as a relay holds them while producing.
                        try await Task.sleep(for: .milliseconds(150))
                        let ids = sends.map(\.request.requestId)
                        try await WorkflowStore.markPublished(ids, on: conn, logger: logger)
                        return ids
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(claimed.count == 40, "claimed \(claimed.count) times for 40 sends")
        #expect(Set(claimed).count == 40)
        #expect(try await db.count("SELECT 1 FROM workflow_sends WHERE published_at IS NULL") == 0)
    }
}

func permutations<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    return items.indices.flatMap { i -> [[T]] in
        var rest = items
        let head = rest.remove(at: i)
        return permutations(rest).map { [head] + $0 }
    }
}
