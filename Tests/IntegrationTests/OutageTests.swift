import Foundation
import Testing

/// A brief database or broker outage is waited out, not blamed on the records: nothing is
/// dead-lettered and every message arrives once the outage ends.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OutageTests {
    /// Disabled again: on the clean-clone CI (not locally, also not under parallel load) every
    /// service's connection attempts kept failing with "database … is not currently accepting
    /// connections" for ~50 s after the 10 s outage should have ended, so the test helper's
    /// `ALTER DATABASE … ALLOW_CONNECTIONS true` (or the outage itself) lasted far longer than
    /// asked — suspected: it waits on a lock taken by the parallel suites' `CREATE DATABASE`.
    /// Issue 23's fault matrix stops PostgreSQL itself instead; this test comes back with it.
    @Test(.disabled("the helper's outage outlasts 10 s on CI; see the comment and issue 23"))
    func aTenSecondDatabaseOutageDeadLettersNothing() async throws {
        // A stage waits out an outage for up to 4/5 of max.poll.interval.ms (it would leave its
        // group past it). The tests' 7 s is too short for a 10 s outage; librdkafka's default
        // (5 minutes) is what a deployment has; 60 s here keeps the wait inside the budget.
        let settings = [
            "KAFKA_PROPERTIES": "session.timeout.ms=6000,max.poll.interval.ms=60000,heartbeat.interval.ms=500"
        ]
        try await E2EStack.with(settings: settings) { stack in
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
            async let outage: Void = stack.database.refuseConnections(for: .seconds(10))
            try await Task.sleep(for: .milliseconds(300))
            try await post(15)
            try await outage
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
            let metrics = try await HTTP.request(.GET, "\(stack.adminURL("normalizer"))/metrics").body
            let waited = metrics.split(separator: "\n").filter { $0.hasPrefix("crm_outage_waits_total") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(waited > 0, "the outage never reached the normalizer's consume loop")
        }
    }
}
