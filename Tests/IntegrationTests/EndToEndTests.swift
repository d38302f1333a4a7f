import Foundation
import Kafka
import Logging
import Testing
import WireModels

/// The walking skeleton, black-box: real processes, real broker, real PostgreSQL.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct EndToEndTests {

    /// Sends a template through the API → sender → simulator, returns the wamid it got.
    func sendText(_ stack: E2EStack, to: String) async throws -> String {
        _ = try await stack.sendHello(to: to)
        var wamid: String?
        try await eventually("the send to reach the simulator") {
            let rows = try await stack.postgres.query(
                "SELECT wamid FROM send_requests WHERE to_wa_id = \(to) AND state = 'sent'")
            for try await w in rows.decode(String?.self) { wamid = w }
            return wamid != nil
        }
        return try #require(wamid)
    }

    @Test func signedWebhookWithTwoEntriesReachesPostgresAndTheAPI() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let outboundWamid = try await sendText(stack, to: customer)
            let inboundWamid = Payloads.newWamid()
            let body = Payloads.notification([
                Payloads.inboundText(
                    wamid: inboundWamid, from: customer, name: "Ana Souza", text: "Quero um orçamento"),
                Payloads.status(wamid: outboundWamid, status: "delivered", recipient: customer, at: 1_764_090_100),
            ])
            let response = try await stack.postWebhook(body)
            #expect(response.status == 200)

            try await eventually("inbound message stored") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(inboundWamid)'") == 1
            }
            try await eventually("status applied") {
                try await stack.count(
                    "SELECT 1 FROM messages WHERE wamid = '\(outboundWamid)' AND status = 'delivered'") == 1
            }

            let contacts = try await stack.api(.GET, "/contacts?phone=%2B\(customer)")
            #expect(contacts.status == 200)
            let items = contacts.json?["items"]?.arrayValue ?? []
            #expect(items.count == 1)
            #expect(items.first?["name"]?.stringValue == "Ana Souza")
            #expect(items.first?["phone"]?.stringValue == "+\(customer)")

            let inbound = try await stack.api(.GET, "/messages/\(inboundWamid)")
            #expect(inbound.status == 200)
            #expect(inbound.json?["direction"]?.stringValue == "inbound")
            #expect(inbound.json?["text"]?.stringValue == "Quero um orçamento")
            #expect(inbound.json?["contact_id"]?.stringValue == items.first?["id"]?.stringValue)

            let outbound = try await stack.api(.GET, "/messages/\(outboundWamid)")
            #expect(outbound.json?["status"]?.stringValue == "delivered")
            #expect(
                outbound.json?["status_history"]?.arrayValue.compactMap { $0["status"]?.stringValue } == ["delivered"])

            #expect(try await stack.api(.GET, "/messages/wamid.unknown").status == 404)
            #expect(try await stack.api(.GET, "/contacts?phone=%2B\(customer)", token: "wrong").status == 401)
            #expect(try await stack.api(.GET, "/contacts?phone=not-a-phone").status == 400)
        }
    }

    @Test func theSameBodyPostedThreeTimesChangesNothing() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            let body = Payloads.notification([
                Payloads.inboundText(wamid: wamid, from: customer, name: "Bruno", text: "oi")
            ])
            #expect(try await stack.postWebhook(body).status == 200)
            try await eventually("first delivery processed") {
                let archived = try await stack.count(
                    "SELECT 1 FROM webhook_raw WHERE state = 'processed' AND body LIKE '%\(wamid)%'")
                let stored = try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(wamid)'")
                return archived == 1 && stored == 1
            }
            let before = try await snapshot(stack)
            for _ in 0..<2 { #expect(try await stack.postWebhook(body).status == 200) }
            // Meta's retry of the same bytes is archived once and produces nothing new.
            try await Task.sleep(for: .seconds(3))
            #expect(try await snapshot(stack) == before)
            #expect(try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(customer)'") == 1)
            #expect(try await stack.count("SELECT 1 FROM webhook_raw WHERE body LIKE '%\(wamid)%'") == 1)
        }
    }

    func snapshot(_ stack: E2EStack) async throws -> [Int] {
        [
            try await stack.count("SELECT 1 FROM webhook_raw"), try await stack.count("SELECT 1 FROM contacts"),
            try await stack.count("SELECT 1 FROM messages"),
            try await stack.count("SELECT 1 FROM message_status_events"),
        ]
    }

    @Test func badSignatureGets401AndNothingIsProduced() async throws {
        try await E2EStack.with { stack in
            let body = Payloads.notification([
                Payloads.inboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), name: "X", text: "forged")
            ])
            let topic = stack.topicPrefix + Topics.webhookRaw
            let before = try await recordCount(stack, topic)
            let wrong = HTTP.signature(body, secret: "not-the-app-secret")
            #expect(try await stack.postWebhook(body, signature: wrong).status == 401)
            #expect(try await stack.postWebhook(body, signature: "sha256=").status == 401)
            let tampered = body.map { $0 == UInt8(ascii: "X") ? UInt8(ascii: "Y") : $0 }
            #expect(
                try await stack.postWebhook(tampered, signature: HTTP.signature(body, secret: E2EStack.appSecret))
                    .status == 401)
            // Control: a correctly signed post is produced, so the count can move.
            #expect(try await stack.postWebhook(body).status == 200)
            #expect(try await recordCount(stack, topic) == before + 1)
        }
    }

    @Test func badRequestsGetPreciseAnswers() async throws {
        try await E2EStack.with { stack in
            let notJSON = Array("not json".utf8)
            #expect(try await stack.postWebhook(notJSON).status == 400)
            let wrongObject = Array(#"{"object":"page","entry":[]}"#.utf8)
            #expect(try await stack.postWebhook(wrongObject).status == 400)
            let huge = Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
            #expect(try await stack.postWebhook(huge).status == 413)
            let ok = try await HTTP.request(
                .GET,
                "\(stack.gatewayURL)/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=\(E2EStack.verifyToken)&hub.challenge=987"
            )
            #expect(ok.status == 200 && ok.body == "987")
            let bad = try await HTTP.request(
                .GET, "\(stack.gatewayURL)/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=987"
            )
            #expect(bad.status == 403)
        }
    }

    @Test func aWorkerKilledAfterItsCommitLeavesNoDuplicates() async throws {
        try await E2EStack.with { stack in
            // Let the first worker settle in its group, as a running deployment would be.
            let customer = Payloads.newNumber()
            let warmUp = Payloads.newWamid()
            #expect(try await stack.postInboundText(wamid: warmUp, from: customer, text: "oi") == 200)
            try await eventually("warm-up message stored") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(warmUp)'") == 1
            }
            let matcher = try #require(stack.processes["crm-matcher"])
            #expect(await matcher.stop() == 0, "graceful shutdown exits 0")
            try stack.start("crm-matcher", extra: ["CRM_FAULT_CRASH_AFTER_COMMIT": "1"])
            let crashing = try #require(stack.processes["crm-matcher"])

            let first = Payloads.newWamid()
            #expect(try await stack.postInboundText(wamid: first, from: customer, text: "primeira") == 200)
            let exit = try await crashing.waitForExit(timeout: .seconds(60))
            #expect(exit.reason == .uncaughtSignal && exit.status == SIGKILL, "killed by SIGKILL")
            // It wrote before it died, and never stored the offset.
            #expect(try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(first)'") == 1)

            try stack.start("crm-matcher")
            try await stack.waitReady(["crm-matcher"])
            let second = Payloads.newWamid()
            #expect(try await stack.postInboundText(wamid: second, from: customer, text: "segunda") == 200)
            try await eventually("the restarted worker to process the next message") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(second)'") == 1
            }
            // The first record was delivered again (never acknowledged) and absorbed.
            let metrics = try await HTTP.request(.GET, "\(stack.adminURL("crm-matcher"))/metrics").body
            #expect(processedCount(metrics) >= 2, "restarted worker handled the redelivered record too")
            #expect(try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(customer)'") == 1)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE c.wa_id = '\(customer)'")
                    == 3)
        }
    }

    func processedCount(_ metrics: String) -> Int {
        // The inbound stage only: crm-matcher also runs the responses and preferences stages.
        for line in metrics.split(separator: "\n")
        where line.hasPrefix("crm_records_processed_total") && line.contains(#"stage="crm-matcher""#) {
            if let v = line.split(separator: " ").last, let n = Double(v) { return Int(n) }
        }
        return 0
    }

    /// Records on a topic, read from the beginning by a throwaway consumer group.
    func recordCount(_ stack: E2EStack, _ topic: String) async throws -> Int {
        let consumer = try KafkaConsumer(
            properties: [
                "bootstrap.servers": stack.env.kafkaBrokers, "group.id": "count-\(UUID().uuidString)",
                "auto.offset.reset": "earliest", "enable.partition.eof": "false",
                "session.timeout.ms": "6000", "max.poll.interval.ms": "7000", "heartbeat.interval.ms": "500",
            ], topics: [topic], logger: Logger(label: "count"))
        var total = 0
        var quietSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(30)
        // Wait for an assignment and drain; stop after 3 s without new records.
        while ContinuousClock.now < deadline {
            let batch = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(250))
            if batch.isEmpty {
                if total > 0 && ContinuousClock.now - quietSince > .seconds(3) { break }
                if total == 0 && ContinuousClock.now - quietSince > .seconds(10) { break }
            } else {
                total += batch.count
                quietSince = .now
            }
        }
        await consumer.close()
        return total
    }
}
