import CRMCore
import Foundation
import Logging
import Outbound
import PostgresNIO
import Storage
import Testing
import WireModels

/// The sender's batch path on real PostgreSQL: the governor's slots and pair rates for many
/// sends at once (and across replicas), the recipients' policy facts in one look-up, and a
/// batch of sends registered, claimed and recorded in a few statements.
@Suite(.timeLimit(.minutes(2)))
struct SendBatchTests {
    let logger = Logger(label: "send-batch-tests")

    func migrated() async throws -> TestDatabase {
        let db = try await TestDatabase(env: try TestEnvironment.require())
        try await MigrationRunner().run(on: db.client, logger: logger)
        return db
    }

    static func number(_ mps: Int) -> NumberSettings {
        NumberSettings(phoneNumberId: "100200", messagesPerSecond: mps, messagingTier: "UNLIMITED", wabaId: nil)
    }

    static func slotTimes(_ verdicts: [Governor.Verdict]) -> [Date] {
        verdicts.compactMap { if case .sendAt(let at) = $0 { return at } else { return nil } }
    }

    @Test func twoReplicasReservingSlotsTogetherNeverShareOneAndKeepThePace() async throws {
        let db = try await migrated()
        defer { db.close() }
        let replicas = try (0..<2).map { _ in try db.newClient() }
        defer { for (_, task) in replicas { task.cancel() } }
        let logger = self.logger
        // 1,000 mps, 2 s of inline wait (+ 0.2 s of burst): about 2,000 slots can be handed out now.
        let started = Date()
        let calls = try await withThrowingTaskGroup(of: [Governor.Verdict].self) { group in
            for (client, _) in replicas {
                let governor = Governor(postgres: client, logger: logger)
                for _ in 0..<15 {
                    group.addTask { try await governor.numberSlots(Self.number(1000), count: 100) }
                }
            }
            return try await group.reduce(into: [[Governor.Verdict]]()) { $0.append($1) }
        }
        let elapsed = Date().timeIntervalSince(started)
        let verdicts = calls.flatMap { $0 }
        let slots = Self.slotTimes(verdicts).sorted()
        #expect(verdicts.count == 3000)
        #expect(slots.count >= 2000, "granted \(slots.count) slots")
        #expect(Double(slots.count) <= (elapsed + 2.2) * 1000 + 1, "granted \(slots.count) slots in \(elapsed) s")
        // No two sends share a slot: consecutive slots are one interval (1 ms) apart or more
        // (less the microsecond rounding of timestamps).
        let gaps = zip(slots.dropFirst(), slots).map { $0.timeIntervalSince($1) }
        #expect(gaps.allSatisfy { $0 >= 0.000_99 }, "smallest gap \(gaps.min() ?? -1) s")
        // The rest of a call waits for the retry queue, no earlier than the call's last slot.
        for call in calls {
            let last = Self.slotTimes(call).max() ?? .distantPast
            for case .deferred(let until, let reason) in call {
                #expect(until >= last)
                #expect(reason.hasPrefix("number paced"))
            }
        }
    }

    @Test func aBatchOfSlotsIsConsecutive() async throws {
        let db = try await migrated()
        defer { db.close() }
        let governor = Governor(postgres: db.client, logger: logger)
        let slots = Self.slotTimes(try await governor.numberSlots(Self.number(50), count: 10))
        #expect(slots.count == 10)
        for (later, earlier) in zip(slots.dropFirst(), slots) {
            #expect(abs(later.timeIntervalSince(earlier) - 0.02) < 0.000_5)
        }
        // 50 mps and 2 s of inline wait: only the slots that start within 2 s are handed out
        // (about 100, more as time passes); the rest wait from the last of them.
        let next = try await governor.numberSlots(Self.number(50), count: 1000)
        let answered = Date()
        let more = Self.slotTimes(next)
        #expect(more.count >= 90 && more.count < 300, "\(more.count) more slots")
        #expect(more.first! > slots.last!)
        #expect(more.last! <= answered.addingTimeInterval(2.0 + 0.001))
        for case .deferred(let until, _) in next { #expect(until >= more.last!) }
        #expect(next.count - more.count > 700)
    }

    @Test func slotsLeftUnusedMayBeCaughtUpWithinTheBurstTolerance() async throws {
        let db = try await migrated()
        defer { db.close() }
        let governor = Governor(postgres: db.client, logger: logger)
        _ = try await governor.numberSlots(Self.number(100), count: 1)
        try await Task.sleep(for: .seconds(1))
        // After a second unused, the schedule restarts 0.2 s (20 slots at 100 mps) before now:
        // those slots are sendable at once, the following ones 10 ms apart.
        let before = Date()
        let slots = Self.slotTimes(try await governor.numberSlots(Self.number(100), count: 50))
        let after = Date()
        #expect(slots.count == 50)
        #expect(
            slots[0] >= before.addingTimeInterval(-0.2 - 0.001) && slots[0] <= after.addingTimeInterval(-0.2 + 0.001))
        for (later, earlier) in zip(slots.dropFirst(), slots) {
            #expect(abs(later.timeIntervalSince(earlier) - 0.01) < 0.000_5)
        }
    }

    @Test func pairRateAllowsTheBurstThenDefersOnlyThatRecipient() async throws {
        let db = try await migrated()
        defer { db.close() }
        let governor = Governor(postgres: db.client, logger: logger)
        let number = Self.number(1000)
        // A fresh pair may burst: ten sends in a row are admitted.
        for _ in 0..<10 {
            #expect(
                Self.slotTimes(try await governor.admit(number: number, sends: [("5511900000009", false)])).count == 1)
        }
        // A pair whose burst is spent (45 sends within the last seconds: tat 270 s ahead)
        // waits about 6 s for its next place; the other recipients of the round do not.
        try await db.client.query(
            """
            INSERT INTO sender_pairs (phone_number_id, wa_id, tat) VALUES ('100200', '5511900000001', now() + interval '270 seconds')
            """, logger: logger)
        let asked = Date()
        let verdicts = try await governor.admit(
            number: number, sends: [("5511900000001", true), ("5511900000002", true), ("5511900000003", false)])
        guard case .deferred(let until, let reason) = verdicts[0] else {
            Issue.record("a recipient whose burst is spent must wait: \(verdicts[0])")
            return
        }
        #expect(reason.hasPrefix("pair rate limit"))
        #expect(until > asked.addingTimeInterval(3) && until < asked.addingTimeInterval(7))
        #expect(Self.slotTimes(Array(verdicts[1...])).count == 2)
        // Waiting did not spend a place: asking again still defers to the same time.
        guard
            case .deferred(let again, _) = try await governor.admit(number: number, sends: [("5511900000001", true)])[0]
        else {
            Issue.record("still within the pair limit")
            return
        }
        #expect(abs(again.timeIntervalSince(until)) < 0.5)
    }

    @Test func recipientsFactsForABatchMatchTheOneByOneLookUp() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        // A contact by wa_id who wrote an hour ago and opted out; one known only by a typed
        // phone; a test recipient with no contact; a stranger.
        try await db.client.withTransaction(logger: logger) { conn in
            let known = try await ContactStore.upsertFromWhatsApp(
                waId: "5511900000010", userId: nil, profileName: "Ana", on: conn, logger: logger)
            try await conn.query("UPDATE contacts SET opted_out = true WHERE id = \(known)", logger: logger)
            try await conn.query(
                """
                INSERT INTO messages (wamid, direction, contact_id, counterpart_wa_id, type, meta_timestamp)
                VALUES ('wamid.in1', 'inbound', \(known), '5511900000010', 'text', now() - interval '1 hour')
                """, logger: logger)
            try await conn.query(
                "INSERT INTO contacts (phone, name, match_key) VALUES ('+5511900000011', 'Typed', 'typed-key')",
                logger: logger)
            try await conn.query("INSERT INTO test_recipients (phone) VALUES ('+5511900000012')", logger: logger)
        }
        let ids = ["5511900000010", "5511900000011", "5511900000012", "5511900000013"]
        let batch = try await Recipient.loadMany(waIds: ids + ["5511900000010"], on: db.client, logger: logger)
        #expect(batch.count == 4)
        for id in ids {
            let single = try await Recipient.load(waId: id, on: db.client, logger: logger)
            #expect(batch[id] == single)
        }
        #expect(batch["5511900000010"]?.optedOut == true)
        #expect(batch["5511900000010"]?.insideServiceWindow() == true)
        #expect(batch["5511900000010"]?.fields["name"] == "Ana")
        #expect(batch["5511900000011"]?.fields["name"] == "Typed")
        #expect(batch["5511900000011"]?.contactId != nil)
        #expect(batch["5511900000012"]?.isTestRecipient == true)
        #expect(batch["5511900000013"] == Recipient(waId: "5511900000013"))
    }

    @Test func aBatchIsRegisteredClaimedAndRecordedOnce() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        let requests = (0..<50).map { i in
            OutboundRequest(
                requestId: "batch-\(i)", to: "55119000001\(String(format: "%02d", i))", phoneNumberId: "100200",
                text: "hello \(i)", requestedBy: i % 2 == 0 ? "crm-bench" : nil,
                campaignId: i == 3 ? "7d4f5b8e-4a55-4c3e-9f57-2a6f3d1f0b11" : nil)
        }
        // One request is already settled, as after an earlier delivery.
        try await db.client.query(
            """
            INSERT INTO send_requests (request_id, to_wa_id, payload, state) VALUES ('batch-7', '5511900000107', '{}', 'sent')
            """, logger: logger)
        let claimed = try await SendStore.registerAndClaim(
            requests, owner: "test", lease: 60, on: db.client, logger: logger)
        #expect(claimed.map(\.request.requestId) == requests.map(\.requestId).filter { $0 != "batch-7" })
        #expect(claimed.allSatisfy { $0.attempts == 0 && $0.httpAttempts == 0 })
        #expect(try await db.count("SELECT 1 FROM send_requests WHERE state = 'sending'") == 49)
        #expect(try await db.count("SELECT 1 FROM send_requests WHERE campaign_id IS NOT NULL") == 1)
        #expect(try await db.count("SELECT 1 FROM send_requests WHERE requested_by IS NULL") == 25)

        let answered = Date(timeIntervalSince1970: 1_800_000_000)
        // A status that arrived before its message row is applied when the row appears.
        try await db.client.withTransaction(logger: logger) { conn in
            _ = try await StatusStore.record(
                StatusUpdate(
                    wamid: "wamid.out-0", status: "delivered", timestamp: answered.addingTimeInterval(2),
                    recipientId: requests[0].to, wabaId: "100100", phoneNumberId: "100200",
                    bizOpaqueCallbackData: "batch-0", errors: [], conversation: nil, pricing: nil),
                on: conn, logger: logger)
        }
        for _ in 0..<2 {  // a second recording (a retried transaction) changes nothing
            try await db.client.withTransaction(logger: logger) { conn in
                try await SendStore.recordSent(
                    claimed.map {
                        .init(
                            requestId: $0.request.requestId, attempt: 1,
                            wamid: "wamid.out-\($0.request.requestId.dropFirst(6))",
                            at: answered)
                    }, on: conn, logger: logger)
                let contacts = try await ContactStore.matchMany(
                    claimed.map { ContactIdentity(waId: $0.request.to, userId: nil, profileName: nil) },
                    fromCustomer: false, on: conn, logger: logger)
                try await MessageStore.insertOutbound(
                    zip(claimed, contacts).map { item, contact in
                        .init(
                            wamid: "wamid.out-\(item.request.requestId.dropFirst(6))", contactId: contact.id,
                            phoneNumberId: "100200", toWaId: item.request.to, type: "text", text: item.request.text,
                            sendRequestId: item.request.requestId, campaignId: item.request.campaignId)
                    }, on: conn, logger: logger)
            }
        }
        #expect(
            try await db.count("SELECT 1 FROM send_attempts WHERE decision = 'sent' AND at = '2027-01-15 08:00:00+00'")
                == 49)
        #expect(try await db.count("SELECT 1 FROM send_requests WHERE state = 'sent' AND http_attempts = 1") == 49)
        #expect(try await db.count("SELECT 1 FROM messages WHERE direction = 'outbound'") == 49)
        #expect(try await db.count("SELECT 1 FROM contacts") == 49)
        #expect(try await db.count("SELECT 1 FROM messages WHERE wamid = 'wamid.out-0' AND status = 'delivered'") == 1)
        #expect(
            try await db.count("SELECT 1 FROM messages WHERE wamid = 'wamid.out-3' AND campaign_id IS NOT NULL") == 1)
        // Nothing is left to claim: every request is settled.
        #expect(
            try await SendStore.registerAndClaim(requests, owner: "test", lease: 60, on: db.client, logger: logger)
                .isEmpty)
    }
}
