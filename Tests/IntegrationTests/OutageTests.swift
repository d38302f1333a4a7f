import Foundation
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
        let server = try PrivatePostgres.start()
        defer { server.destroy() }
        // A stage waits out an outage for up to 4/5 of max.poll.interval.ms (it would leave its
        // group past it). The tests' 7 s is too short for a 10 s outage; librdkafka's default
        // (5 minutes) is what a deployment has; 60 s here keeps the wait inside the budget.
        let settings = [
            "KAFKA_PROPERTIES": "session.timeout.ms=6000,max.poll.interval.ms=60000,heartbeat.interval.ms=500"
        ]
        try await E2EStack.with(settings: settings, databaseServer: server.url) { stack in
            var wamids: [String] = []
            func post(_ count: Int) async throws {
                for _ in 0..<count {
                    let wamid = Payloads.newWamid()
                    wamids.append(wamid)
                    // The webhook path needs only the broker: Meta's posts are taken during the outage.
                    #expect(
                        try await stack.postInboundText(wamid: wamid, from: Payloads.newNumber(), text: "oi") == 200)
                }
            }
            try await post(5)
            try server.stop()
            let restart = ContinuousClock.now + .seconds(10)
            try await post(15)
            try await Task.sleep(until: restart)
            try server.start()
            let list = wamids.map { "'\($0)'" }.joined(separator: ",")
            try await eventually("every message stored after the outage", timeout: .seconds(60)) {
                try await stack.count("SELECT 1 FROM messages WHERE wamid IN (\(list))") == 20
            }
            #expect(try await stack.count("SELECT 1 FROM failures") == 0, "records were dead-lettered")
        }
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

    /// `crm_outage_waits_total` of one service, over its stages.
    static func outageWaits(_ service: String, _ stack: E2EStack) async throws -> Double {
        let metrics = try await HTTP.request(.GET, "\(stack.adminURL(service))/metrics").body
        return metrics.split(separator: "\n").filter { $0.hasPrefix("crm_outage_waits_total") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }
}
