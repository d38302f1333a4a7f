import Foundation
import Logging
import PostgresNIO
import Storage
import Synchronization
import Testing

/// A brief database or broker outage is waited out, not blamed on the records: nothing is
/// dead-lettered and every message arrives once the outage ends.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OutageTests {
    /// PostgreSQL itself stopped (fast shutdown: sessions are ended, connections refused) and
    /// started again 10 s later, on a server of the test's own: the webhook path keeps taking
    /// Meta's posts, the stages wait the outage out (in the connection pool, or in the consume
    /// loop when a statement was cut off), nothing is dead-lettered, everything arrives.
    @Test func aTenSecondDatabaseOutageDeadLettersNothing() async throws {
        let server = try await PrivatePostgres.start()
        defer { server.destroy() }
        // A stage waits out an outage for up to 4/5 of max.poll.interval.ms (it would leave its
        // group past it). The tests' 7 s is too short for a 10 s outage; librdkafka's default
        // (5 minutes) is what a deployment has; 60 s here keeps the wait inside the budget.
        let settings = [
            "KAFKA_PROPERTIES": "session.timeout.ms=6000,max.poll.interval.ms=60000,heartbeat.interval.ms=500",
            // What the pool and each transaction do, in the stack's log files, if this hangs again.
            "LOG_LEVEL": "trace",
        ]
        try await E2EStack.with(settings: settings, databaseServer: server.url) { stack in
            let wamids = (0..<20).map { _ in Payloads.newWamid() }
            @Sendable func post(_ range: Range<Int>) async throws {
                for wamid in wamids[range] {
                    // The webhook path needs only the broker: Meta's posts are taken during the outage.
                    #expect(
                        try await stack.postInboundText(wamid: wamid, from: Payloads.newNumber(), text: "oi") == 200)
                }
            }
            // The matcher holds records when the server stops: its insert waits on a lock the test
            // holds until then, so the stop cuts its statement off (on CI that left it hanging).
            do {
                try await stack.postgres.transaction(logger: stack.logger) { conn in
                    try await conn.query("LOCK TABLE messages IN EXCLUSIVE MODE", logger: stack.logger)
                    try await post(0..<5)
                    try await eventually("crm-matcher waiting on the lock with records in hand") {
                        try await stack.count(
                            """
                            SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock'
                              AND query ILIKE '%messages%'
                            """) > 0
                    }
                    try await server.stop()
                }
            } catch is PrivatePostgresFailed {
                throw Failure(what: "PostgreSQL did not stop")
            } catch {
                // The stop ended the test's own transaction too.
            }
            let restart = ContinuousClock.now + .seconds(10)
            try await post(5..<20)
            try await Task.sleep(until: restart)
            try await server.start()
            let list = wamids.map { "'\($0)'" }.joined(separator: ",")
            try await eventually("every message stored after the outage", timeout: .seconds(60)) {
                try await stack.count("SELECT 1 FROM messages WHERE wamid IN (\(list))") == 20
            }
            #expect(try await stack.count("SELECT 1 FROM failures") == 0, "records were dead-lettered")
        }
    }

    /// A transaction whose server stopped under it ends with an error instead of hanging: with
    /// PostgresNIO's own `withTransaction` the `ROLLBACK` (or `COMMIT`) went to the closed
    /// channel and never completed, and the stage that held it stopped consuming (seen on CI);
    /// so did a statement of the transaction's own sent just after the close (seen on CI too).
    @Test(.timeLimit(.minutes(1))) func aTransactionWhoseServerStoppedEndsInsteadOfHanging() async throws {
        let server = try await PrivatePostgres.start()
        defer { server.destroy() }
        let client = PostgresClient(configuration: try DatabaseURL.configuration(server.url))
        let run = Task { await client.run() }
        defer { run.cancel() }
        let logger = Logger(label: "outage-tests")
        // Stopped between two statements: the commit is not sent.
        await #expect(throws: DatabaseConnectionLost.self) {
            try await client.transaction(logger: logger) { conn in
                try await conn.query("SELECT 1", logger: logger)
                try await server.stop()
                try await eventually("the connection to see the close") { conn.isClosed }
            }
        }
        // Stopped between two statements, the second sent after the close: PostgresNIO never
        // answers it; the transaction is given up soon after the close.
        try await server.start()
        var abandoned: (any Error)?
        var started = ContinuousClock.now
        while abandoned == nil && ContinuousClock.now - started < .seconds(10) {
            let reachedTheSecond = Atomic<Bool>(false)
            do {
                try await client.transaction(logger: logger) { conn in
                    try await conn.query("SELECT 1", logger: logger)
                    try await server.stop()
                    try await eventually("the connection to see the close") { conn.isClosed }
                    reachedTheSecond.store(true, ordering: .relaxed)
                    try await conn.query("SELECT 2", logger: logger)
                }
            } catch {
                if reachedTheSecond.load(ordering: .relaxed) {
                    abandoned = error
                } else {
                    try? await server.start()
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        #expect(abandoned is DatabaseConnectionLost, "\(String(describing: abandoned))")
        #expect(ContinuousClock.now - started < .seconds(15))
        // Stopped during a statement: its error comes back, no rollback is sent. (The pool may
        // first hand out the connection the stop closed: that attempt ends at BEGIN.)
        try await server.start()
        var cutOff: (any Error)?
        started = ContinuousClock.now
        while cutOff == nil && ContinuousClock.now - started < .seconds(10) {
            let running = Atomic<Bool>(false)
            do {
                try await client.transaction(logger: logger) { conn in
                    running.store(true, ordering: .relaxed)
                    let stop = Task {
                        try await Task.sleep(for: .milliseconds(500))
                        try await server.stop()
                    }
                    defer { stop.cancel() }
                    try await conn.query("SELECT pg_sleep(20)", logger: logger)
                }
            } catch {
                if running.load(ordering: .relaxed) {
                    cutOff = error
                } else {
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        #expect(cutOff != nil, "the cut-off transaction did not end")
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    /// The broker frozen for 10 s while the normalizer has records in hand: its produces time
    /// out, it waits (`crm_outage_waits_total`) instead of spending the records' attempts, and
    /// dead-letters nothing (before, the batch was split and every record dead-lettered). To be sure it
    /// holds records when the broker freezes, the test locks `webhook_raw` first: the
    /// normalizer's archive insert waits on the lock until the broker is frozen.
    @Test func aFrozenBrokerDeadLettersNothing() async throws {
        guard let broker = try PrivateBroker.start() else { return }
        defer { broker.stop() }
        // Produces give up after 1 s (librdkafka's default is 5 minutes, which would only
        // delay them), so the outage reaches the handlers as errors.
        let settings = [
            "KAFKA_BROKERS": broker.address,
            "KAFKA_PROPERTIES":
                "session.timeout.ms=6000,max.poll.interval.ms=60000,heartbeat.interval.ms=500,message.timeout.ms=1000",
        ]
        try await E2EStack.with(settings: settings) { stack in
            var wamids: [String] = []
            try await stack.postgres.withTransaction(logger: stack.logger) { conn in
                try await conn.query("LOCK TABLE webhook_raw IN EXCLUSIVE MODE", logger: stack.logger)
                for _ in 0..<20 {
                    let wamid = Payloads.newWamid()
                    wamids.append(wamid)
                    #expect(
                        try await stack.postInboundText(wamid: wamid, from: Payloads.newNumber(), text: "oi") == 200)
                }
                try await eventually("the normalizer waiting on the lock with records in hand") {
                    try await stack.count(
                        """
                        SELECT 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%webhook_raw%'
                        """) > 0
                }
                broker.freeze()
            }
            try await Task.sleep(for: .seconds(10))
            broker.thaw()
            let list = wamids.map { "'\($0)'" }.joined(separator: ",")
            try await eventually("every message stored after the outage", timeout: .seconds(90)) {
                try await stack.count("SELECT 1 FROM messages WHERE wamid IN (\(list))") == wamids.count
            }
            #expect(try await stack.count("SELECT 1 FROM failures") == 0, "records were dead-lettered")
            #expect(try await Self.outageWaits("normalizer", stack) > 0, "the outage never reached its consume loop")
        }
    }

    struct Failure: Error { let what: String }

    /// `crm_outage_waits_total` of one service, over its stages.
    static func outageWaits(_ service: String, _ stack: E2EStack) async throws -> Double {
        let metrics = try await HTTP.request(.GET, "\(stack.adminURL(service))/metrics").body
        return metrics.split(separator: "\n").filter { $0.hasPrefix("crm_outage_waits_total") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }
}
