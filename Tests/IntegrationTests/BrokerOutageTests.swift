import Foundation
import Kafka
import Logging
import ServiceKit
import Testing
import WireModels

/// The gateway answers 503 while the broker cannot take a webhook (Meta retries), and
/// recovers by itself without losing what it acknowledged. Runs on a private broker, which
/// the test freezes (SIGSTOP) and thaws (SIGCONT) like a network partition.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BrokerOutageTests {
    @Test func aFrozenBrokerGets503ThenTheGatewayRecoversWithoutLoss() async throws {
        let env = try TestEnvironment.require()
        guard let broker = try PrivateBroker.start() else { return }
        let database = try await TestDatabase(env: env, prefix: "outage")
        let logDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "crm-outage-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let port = freePort()
        let brokers = broker.address
        let gateway = try ServiceProcess(
            binDir: env.binDir, name: "gateway",
            environment: [
                "KAFKA_BROKERS": brokers, "DATABASE_URL": database.url, "HTTP_PORT": String(port),
                "WHATSAPP_APP_SECRET": E2EStack.appSecret, "WEBHOOK_ACK_TIMEOUT_MS": "1500", "CRM_DEV_MODE": "1",
                "KAFKA_TOPIC_PARTITIONS": "1", "LOG_LEVEL": "info",
            ], logDir: logDir)
        defer {
            broker.stop()
            database.close()
        }
        let url = "http://127.0.0.1:\(port)"
        func post(_ body: [UInt8]) async throws -> Int {
            try await HTTP.request(
                .POST, "\(url)/webhooks/whatsapp",
                headers: [("X-Hub-Signature-256", HTTP.signature(body, secret: E2EStack.appSecret))], body: body
            ).status
        }
        func body(_ n: Int) -> [UInt8] {
            Payloads.notification([
                Payloads.inboundText(wamid: "wamid.OUTAGE\(n)", from: "5511900000100", name: "Eva", text: "n\(n)")
            ])
        }
        do {
            try await eventually("gateway ready", timeout: .seconds(60)) {
                try await HTTP.request(.GET, "\(url)/readyz").status == 200
            }
            #expect(try await post(body(1)) == 200)

            broker.freeze()
            let started = ContinuousClock.now
            #expect(try await post(body(2)) == 503)
            #expect(ContinuousClock.now - started < .seconds(5), "answered within the ack timeout, not hanging")
            #expect(try await HTTP.request(.GET, "\(url)/readyz").status == 503)

            broker.thaw()
            // Meta retries the 503'd notification; the gateway takes it once the broker is back.
            try await eventually("the retried webhook to be accepted", timeout: .seconds(60), every: .seconds(1)) {
                try await post(body(2)) == 200
            }
            #expect(try await post(body(3)) == 200)

            let ids = try await eventIds(brokers: brokers, topic: Topics.webhookRaw, expected: 3)
            let expected = Set([1, 2, 3].map { Hashing.sha256Hex(body($0)) })
            #expect(Set(ids) == expected, "every acknowledged body is in the topic (a duplicate is allowed)")
            #expect(await gateway.stop() == 0)
        } catch {
            Issue.record("gateway log:\n\(gateway.logTail())")
            await gateway.stop()
            throw error
        }
    }

    func eventIds(brokers: String, topic: String, expected: Int) async throws -> [String] {
        let consumer = try KafkaConsumer(
            properties: [
                "bootstrap.servers": brokers, "group.id": "outage-\(UUID().uuidString)",
                "session.timeout.ms": "6000", "max.poll.interval.ms": "7000", "heartbeat.interval.ms": "500",
            ], topics: [topic], logger: Logger(label: "outage"))
        var ids: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline && Set(ids).count < expected {
            for r in try await consumer.poll(maxRecords: 100, timeout: .milliseconds(250)) {
                ids.append(try RawWebhookRecord.decode(r).sha256)
            }
        }
        await consumer.close()
        return ids
    }
}
