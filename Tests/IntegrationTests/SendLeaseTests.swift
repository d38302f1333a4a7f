import Foundation
import Logging
import PostgresNIO
import Storage
import Testing
import WireModels

/// The claims, leases and sweeps behind "exactly one Graph call per accepted send", on real
/// PostgreSQL: a request is claimed once however often it is delivered, a lease that expired
/// before the call is retried, one that expired after it is `unknown` until Meta's status
/// settles it, and a `queued` row whose topic record was lost is sent from its row.
@Suite(.timeLimit(.minutes(2)))
struct SendLeaseTests {
    let logger = Logger(label: "send-lease-tests")

    func migrated() async throws -> TestDatabase {
        let db = try await TestDatabase(env: try TestEnvironment.require())
        try await MigrationRunner().run(on: db.client, logger: logger)
        return db
    }

    static func request(_ id: String, to: String = "5511900000001") -> OutboundRequest {
        OutboundRequest(requestId: id, to: to, phoneNumberId: "100200", text: "hello \(id)", requestedBy: nil)
    }

    static func call(_ r: OutboundRequest) -> SendStore.Call {
        .init(
            requestId: r.requestId,
            message: .init(
                wamid: "", contactId: nil, phoneNumberId: "100200", toWaId: r.to, type: "text", text: r.text,
                sendRequestId: r.requestId))
    }

    /// Moves a row's lease into the past, as if its owner had died that long ago.
    func expire(_ id: String, _ db: TestDatabase) async throws {
        try await db.client.query(
            "UPDATE send_requests SET lease_until = now() - interval '1 second' WHERE request_id = \(id)",
            logger: logger)
    }

    func state(_ id: String, _ db: TestDatabase) async throws -> String? {
        let rows = try await db.client.query(
            "SELECT state FROM send_requests WHERE request_id = \(id)", logger: logger)
        for try await s in rows.decode(String.self) { return s }
        return nil
    }

    @Test func theSameRequestTwiceInOnePollOrAgainInALaterOneIsClaimedOnce() async throws {
        let db = try await migrated()
        defer { db.close() }
        let a = Self.request("dup-a")
        let b = Self.request("dup-b", to: "5511900000002")
        let claimed = try await SendStore.registerAndClaim(
            [a, b, a, a], owner: "r1", lease: 60, on: db.client, logger: logger)
        #expect(claimed.map(\.request.requestId) == ["dup-a", "dup-b"])
        // The same batch redelivered (to this replica after a failure, or to another after a
        // rebalance): the leases hold, nothing is claimed again.
        for owner in ["r1", "r2"] {
            #expect(
                try await SendStore.registerAndClaim([a, b], owner: owner, lease: 60, on: db.client, logger: logger)
                    .isEmpty)
        }
        // Two replicas racing for the same fresh requests: each is claimed by exactly one.
        let fresh = (0..<40).map { Self.request("race-\($0)", to: "55119000001\(String(format: "%02d", $0))") }
        let (second, task) = try db.newClient()
        defer { task.cancel() }
        let logger = self.logger
        async let one = SendStore.registerAndClaim(fresh, owner: "r1", lease: 60, on: db.client, logger: logger)
        async let two = SendStore.registerAndClaim(
            fresh.reversed(), owner: "r2", lease: 60, on: second, logger: logger)
        let ids = try await one.map(\.request.requestId) + two.map(\.request.requestId)
        #expect(ids.count == 40 && Set(ids).count == 40)
    }

    @Test func aCallIsMarkedOnlyUnderALiveLeaseOfItsOwner() async throws {
        let db = try await migrated()
        defer { db.close() }
        let requests = (0..<3).map { Self.request("mark-\($0)", to: "551190000002\($0)") }
        _ = try await SendStore.registerAndClaim(requests, owner: "r1", lease: 60, on: db.client, logger: logger)
        try await expire("mark-2", db)
        #expect(
            try await SendStore.markCalling(
                requests.map(Self.call), owner: "r2", margin: 15, on: db.client, logger: logger
            ).isEmpty)
        // mark-2's lease is gone; the others have 60 s left, more than the 15 s margin.
        #expect(
            try await SendStore.markCalling(
                requests.map(Self.call), owner: "r1", margin: 15, on: db.client, logger: logger) == [
                    "mark-0", "mark-1",
                ])
        // Less lease left than a call may take: not called.
        #expect(
            try await SendStore.markCalling(
                [Self.call(requests[0])], owner: "r1", margin: 120, on: db.client, logger: logger
            ).isEmpty)
    }

    @Test func expiredLeasesAreRetriedBeforeTheCallAndUnknownAfterIt() async throws {
        let db = try await migrated()
        defer { db.close() }
        let uncalled = Self.request("lease-uncalled")
        let called = Self.request("lease-called", to: "5511900000031")
        _ = try await SendStore.registerAndClaim(
            [uncalled, called], owner: "r1", lease: 60, on: db.client, logger: logger)
        _ = try await SendStore.markCalling([Self.call(called)], owner: "r1", margin: 1, on: db.client, logger: logger)
        // Live leases are left alone.
        #expect(
            try await SendStore.sweep(queuedGrace: 60, unknownGrace: 60, on: db.client, logger: logger).isEmpty)
        try await expire("lease-uncalled", db)
        try await expire("lease-called", db)
        let sweep = try await SendStore.sweep(queuedGrace: 60, unknownGrace: 60, on: db.client, logger: logger)
        #expect(sweep.released == ["lease-uncalled"])
        #expect(sweep.unknown == ["lease-called"])
        #expect(try await state("lease-uncalled", db) == "retrying")
        #expect(try await state("lease-called", db) == "unknown")
        #expect(
            try await db.count(
                """
                SELECT 1 FROM send_attempts WHERE request_id = 'lease-called' AND attempt = 1
                  AND decision LIKE 'unknown:%' AND http_status IS NULL
                """) == 1)
        // The retry queue takes the uncalled one; the unknown one is never claimed again.
        let due = try await SendStore.claimDue(limit: 10, owner: "r2", lease: 60, on: db.client, logger: logger)
        #expect(due.map(\.request.requestId) == ["lease-uncalled"])
        #expect(
            try await SendStore.registerAndClaim([called], owner: "r2", lease: 60, on: db.client, logger: logger)
                .isEmpty)
    }

    @Test func anUnknownSendIsSentWhenMetasStatusCarriesItsIdAndFailedWhenNoneComes() async throws {
        let db = try await migrated()
        defer { db.close() }
        let confirmed = Self.request("unknown-confirmed", to: "5511900000041")
        let silent = Self.request("unknown-silent", to: "5511900000042")
        _ = try await SendStore.registerAndClaim(
            [confirmed, silent], owner: "r1", lease: 60, on: db.client, logger: logger)
        _ = try await SendStore.markCalling(
            [Self.call(confirmed), Self.call(silent)], owner: "r1", margin: 1, on: db.client, logger: logger)
        try await expire("unknown-confirmed", db)
        try await expire("unknown-silent", db)
        _ = try await SendStore.sweep(queuedGrace: 60, unknownGrace: 60, on: db.client, logger: logger)

        // Meta did send the first one: its statuses carry our request id.
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try await db.client.withTransaction(logger: logger) { conn in
            for (status, offset) in [("sent", 0.0), ("delivered", 2.0)] {
                _ = try await StatusStore.ingest(
                    StatusUpdate(
                        wamid: "wamid.late-1", status: status, timestamp: at.addingTimeInterval(offset),
                        recipientId: confirmed.to, wabaId: "100100", phoneNumberId: "100200",
                        bizOpaqueCallbackData: "unknown-confirmed", errors: [], conversation: nil, pricing: nil),
                    on: conn, logger: self.logger)
            }
        }
        let sweep = try await SendStore.sweep(queuedGrace: 60, unknownGrace: 3600, on: db.client, logger: logger)
        #expect(sweep.confirmed.map(\.requestId) == ["unknown-confirmed"])
        #expect(sweep.confirmed.first?.wamid == "wamid.late-1")
        #expect(sweep.expired.isEmpty)
        #expect(try await state("unknown-confirmed", db) == "sent")
        #expect(try await state("unknown-silent", db) == "unknown")
        // The message row comes from the call, with the statuses that arrived first applied.
        #expect(
            try await db.count(
                """
                SELECT 1 FROM messages m JOIN contacts c ON c.id = m.contact_id
                WHERE m.wamid = 'wamid.late-1' AND m.direction = 'outbound' AND m.status = 'delivered'
                  AND m.text = 'hello unknown-confirmed' AND m.send_request_id = 'unknown-confirmed'
                  AND c.wa_id = '5511900000041'
                """) == 1)
        #expect(
            try await db.count(
                "SELECT 1 FROM send_requests WHERE request_id = 'unknown-confirmed' AND wamid = 'wamid.late-1'") == 1)

        // No status for the other one within the grace: failed, and never sent again.
        try await db.client.query(
            "UPDATE send_requests SET updated_at = now() - interval '2 hours' WHERE request_id = 'unknown-silent'",
            logger: logger)
        let later = try await SendStore.sweep(queuedGrace: 60, unknownGrace: 3600, on: db.client, logger: logger)
        #expect(later.expired.map(\.requestId) == ["unknown-silent"])
        #expect(try await state("unknown-silent", db) == "failed")
        #expect(
            try await db.count(
                "SELECT 1 FROM send_attempts WHERE request_id = 'unknown-silent' AND decision LIKE '%not sent again%'")
                == 1)
        #expect(try await SendStore.sweep(queuedGrace: 60, unknownGrace: 3600, on: db.client, logger: logger).isEmpty)
    }

    @Test func aQueuedRowWhoseTopicRecordNeverCameIsSentFromTheRow() async throws {
        let db = try await migrated()
        defer { db.close() }
        let logger = self.logger
        // The API committed these; the process died before producing them to the topic.
        for (id, age) in [("queued-old", 120), ("queued-new", 0)] {
            try await db.client.withTransaction(logger: logger) { conn in
                try await SendStore.register(Self.request(id), on: conn, logger: logger)
                try await conn.query(
                    """
                    UPDATE send_requests SET updated_at = now() - make_interval(secs => \(Double(age)))
                    WHERE request_id = \(id)
                    """, logger: logger)
            }
        }
        let sweep = try await SendStore.sweep(queuedGrace: 60, unknownGrace: 60, on: db.client, logger: logger)
        #expect(sweep.requeued == ["queued-old"])
        let due = try await SendStore.claimDue(limit: 10, owner: "r1", lease: 60, on: db.client, logger: logger)
        #expect(due.map(\.request.requestId) == ["queued-old"])
        // If its record turns up after all, it finds the request claimed and takes nothing.
        #expect(
            try await SendStore.registerAndClaim(
                [Self.request("queued-old")], owner: "r2", lease: 60, on: db.client, logger: logger
            ).isEmpty)
    }
}
