import Foundation
import Kafka
import Logging
import Testing
import WireModels

/// Loss-free ingestion: batches, duplicates, disorder, poison records, unicode, replay.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct IngestionTests {
    @Test func aBatchOfEntriesChangesMessagesAndStatusesDeliveredThreeTimes() async throws {
        try await E2EStack.with { stack in
            var entries: [JSONValue] = []
            var wamids: [String] = []
            var customers: [String] = []
            for _ in 0..<2 {
                var changes: [JSONValue] = []
                for _ in 0..<2 {
                    let customer = Payloads.newNumber()
                    customers.append(customer)
                    let ids = (0..<3).map { _ in Payloads.newWamid() }
                    wamids += ids
                    changes.append(
                        Payloads.change(
                            messages: ids.map {
                                Payloads.textMessage(wamid: $0, from: customer, text: "msg \($0.suffix(4))")
                            },
                            contacts: [(customer, "Cliente \(customer.suffix(3))")],
                            statuses: [
                                Payloads.statusObject(
                                    wamid: "wamid.OUT\(customer)", status: "sent", recipient: customer, at: 100),
                                Payloads.statusObject(
                                    wamid: "wamid.OUT\(customer)", status: "read", recipient: customer, at: 200),
                            ]))
                }
                entries.append(.object(["id": .string(E2EStack.wabaId), "changes": .array(changes)]))
            }
            let body = Payloads.notification(entries)
            for _ in 0..<3 { #expect(try await stack.postWebhook(body).status == 200) }
            let list = wamids.map { "'\($0)'" }.joined(separator: ",")
            try await eventually("all 12 messages and 8 statuses stored") {
                let m = try await stack.count("SELECT 1 FROM messages WHERE wamid IN (\(list))")
                let s = try await stack.count("SELECT 1 FROM message_status_events")
                return m == 12 && s == 8
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.count("SELECT 1 FROM messages WHERE wamid IN (\(list))") == 12)
            #expect(try await stack.count("SELECT 1 FROM message_status_events") == 8)
            #expect(try await stack.count("SELECT 1 FROM contacts") == 4)
            #expect(try await stack.count("SELECT 1 FROM webhook_raw") == 1)
        }
    }

    @Test func aPoisonRecordIsDeadLetteredAndItsNeighboursProcessed() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let good1 = Payloads.newWamid()
            let good2 = Payloads.newWamid()
            let producer = try KafkaProducer(
                properties: ["bootstrap.servers": stack.env.kafkaBrokers], logger: Logger(label: "t"))
            let topic = stack.topicPrefix + Topics.inboundMessage
            func inbound(_ wamid: String) throws -> [UInt8] {
                let m = InboundMessage(
                    wamid: wamid, waId: customer, userId: nil, profileName: "Dora", wabaId: E2EStack.wabaId,
                    phoneNumberId: E2EStack.phoneNumberId, displayPhoneNumber: nil, type: "text", timestamp: .now,
                    receivedAt: .now, text: "ok", contextId: nil, details: MessageDetails(known: true), content: .null)
                return try EventEnvelope(
                    eventId: wamid, type: EventTypes.inboundMessage, occurredAt: .now, source: "test", payload: m
                ).encoded()
            }
            let poison = Array(#"{"event_id":"poison-1","type":"wa.inbound.message.v1","payload":{"nope":true}}"#.utf8)
            // Same key: one partition, poison between the two good records.
            try await producer.send([
                OutgoingRecord(topic: topic, key: Array(customer.utf8), value: try inbound(good1)),
                OutgoingRecord(topic: topic, key: Array(customer.utf8), value: poison),
                OutgoingRecord(topic: topic, key: Array(customer.utf8), value: try inbound(good2)),
            ])
            await producer.shutdown(timeout: .seconds(5))

            try await eventually("both good records stored and the poison one dead-lettered", timeout: .seconds(60)) {
                let stored = try await stack.count("SELECT 1 FROM messages WHERE wamid IN ('\(good1)', '\(good2)')")
                let failed = try await stack.count(
                    "SELECT 1 FROM failures WHERE stage = 'crm-matcher' AND event_id = 'poison-1' AND state = 'open'")
                return stored == 2 && failed == 1
            }
            let list = try await stack.api(.GET, "/failures?stage=crm-matcher")
            #expect(list.status == 200)
            let item = try #require(list.json?["items"]?.arrayValue.first)
            #expect(item["topic"]?.stringValue == Topics.inboundMessage)
            #expect(item["attempts"]?.doubleValue ?? 0 >= 3)
            #expect(item["error"]?.stringValue?.isEmpty == false)
            let id = try #require(item["id"]?.doubleValue.map { Int($0) })

            // Replaying a record that is still bad fails again: the row reopens with more attempts.
            let replay = try await stack.api(.POST, "/failures/\(id)/replay")
            #expect(replay.status == 202)
            #expect(replay.json?["state"]?.stringValue == "replayed")
            try await eventually("the replayed poison record to fail again", timeout: .seconds(60)) {
                try await stack.count("SELECT 1 FROM failures WHERE id = \(id) AND state = 'open' AND attempts >= 6")
                    == 1
            }
            #expect(try await stack.api(.POST, "/failures/999999/replay").status == 404)
            #expect(try await stack.api(.GET, "/failures?limit=0").status == 400)
        }
    }

    @Test func aUnicodeBodySignedOverItsEscapedFormIsAccepted() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            let text = "Olá! Preço do café ☕ para São Paulo 😀"
            let body = Payloads.notification([
                Payloads.inboundText(wamid: wamid, from: customer, name: "João", text: text)
            ])
            let escaped = try #require(escapeUnicode(body))
            #expect(escaped != body)
            let signature = HTTP.signature(escaped, secret: E2EStack.appSecret)
            #expect(try await stack.postWebhook(body, signature: signature).status == 200)
            try await eventually("unicode message stored") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(wamid)'") == 1
            }
            let message = try await stack.api(.GET, "/messages/\(wamid)")
            #expect(message.json?["text"]?.stringValue == text)
            let contact = try await stack.api(.GET, "/contacts?phone=%2B\(customer)")
            #expect(contact.json?["items"]?.arrayValue.first?["name"]?.stringValue == "João")
        }
    }

    @Test func statusesShuffledDuplicatedAndEarlyEndAsRead() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let requestId = try await stack.sendHello(to: customer)
            var wamid: String?
            try await eventually("the send to be accepted") {
                let state = try await stack.api(.GET, "/sends/\(requestId)")
                wamid = state.json?["wamid"]?.stringValue
                return state.json?["state"]?.stringValue == "sent" && wamid != nil
            }
            let id = try #require(wamid)
            var bodies = [("sent", 10), ("delivered", 20), ("read", 30)].map {
                Payloads.notification([
                    Payloads.status(wamid: id, status: $0.0, recipient: customer, at: 1_764_000_000 + $0.1)
                ])
            }
            bodies = (bodies + bodies).shuffled()
            for b in bodies { #expect(try await stack.postWebhook(b).status == 200) }
            try await eventually("read with a full history") {
                let m = try await stack.api(.GET, "/messages/\(id)")
                return m.json?["status"]?.stringValue == "read" && m.json?["status_history"]?.arrayValue.count == 3
            }
            let m = try await stack.api(.GET, "/messages/\(id)")
            #expect(
                m.json?["status_history"]?.arrayValue.compactMap { $0["status"]?.stringValue } == [
                    "sent", "delivered", "read",
                ])
            let send = try await stack.api(.GET, "/sends/\(requestId)")
            #expect(send.json?["attempts"]?.arrayValue.count == 1)
            #expect(try await stack.api(.GET, "/sends/nope").status == 404)
        }
    }

    @Test func replayRestoresWhatWasLostDownstream() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            let since = RFC3339.string(from: Date().addingTimeInterval(-60))
            #expect(try await stack.postInboundText(wamid: wamid, from: customer, text: "recover me") == 200)
            try await eventually("stored") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(wamid)'") == 1
            }
            // Simulate a loss after the archive (a restore, a broker that forgot unconsumed records).
            try await stack.postgres.query("DELETE FROM messages WHERE wamid = \(wamid)")
            let crmctl = try ServiceProcess(
                binDir: stack.env.binDir, name: "crmctl", environment: stack.environment(for: "crmctl"),
                logDir: stack.logDir, arguments: ["replay", "--since", since])
            let exit = try await crmctl.waitForExit(timeout: .seconds(60))
            #expect(exit.status == 0, "\(crmctl.logTail())")
            #expect(crmctl.logTail().contains("re-published"))
            try await eventually("the message to be back") {
                try await stack.count("SELECT 1 FROM messages WHERE wamid = '\(wamid)'") == 1
            }
            #expect(try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(customer)'") == 1)
        }
    }
}

/// The `\uXXXX` form Meta documents its signature over (lowercase hex, surrogate pairs).
func escapeUnicode(_ body: [UInt8]) -> [UInt8]? {
    guard let text = String(validating: body, as: UTF8.self) else { return nil }
    var out = ""
    for unit in text.utf16 {
        if unit < 0x80 {
            out.unicodeScalars.append(Unicode.Scalar(unit)!)
        } else {
            let hex = String(unit, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }
    return Array(out.utf8)
}
