import Foundation
import Kafka
import Logging
import NIOHTTP1
import PostgresNIO
import Testing
import WireModels

/// The CRM through the running services: webhooks in, the REST API and `crm.activity` out.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct CRMApiTests {
    /// A user with a token, made in SQL (the users/tokens API is not this suite's subject).
    func user(_ stack: E2EStack, role: String) async throws -> (id: String, token: String) {
        let token = "tok-\(role)-\(UUID().uuidString)"
        let rows = try await stack.postgres.query(
            """
            WITH u AS (INSERT INTO users (name, email, role) VALUES (\(role), \(token + "@example.com"), \(role))
                       RETURNING id)
            INSERT INTO api_tokens (user_id, name, token_sha256)
            SELECT id, 'test', \(Hashing.sha256Hex(Array(token.utf8))) FROM u RETURNING upper(user_id::text)
            """)
        for try await id in rows.decode(String.self) { return (id, token) }
        throw TimedOut(what: "user insert")
    }

    func firstString(_ stack: E2EStack, _ sql: String) async throws -> String? {
        let rows = try await stack.postgres.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }

    @Test func agentsReachOnlyTheirOwnContactsAndEveryChangeIsAuditedAndPublished() async throws {
        try await E2EStack.with { stack in
            let agentA = try await user(stack, role: "agent")
            let agentB = try await user(stack, role: "agent")
            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            #expect(try await stack.postInboundText(wamid: wamid, from: customer, text: "Quero um orçamento") == 200)
            try await eventually("lead opened") { try await stack.count("SELECT 1 FROM leads") == 1 }
            let contactId = try #require(try await firstString(stack, "SELECT upper(id::text) FROM contacts"))
            let leadId = try #require(try await firstString(stack, "SELECT upper(id::text) FROM leads"))

            // A manager-level token (the bootstrap admin) hands the contact and the lead to agent A.
            let assigned = try await stack.api(
                .PATCH, "/contacts/\(contactId)",
                body: #"{"owner_id":"\#(agentA.id)","tags":["vip","vip","sp"],"name":"Carla Dias"}"#)
            #expect(assigned.status == 200, "\(assigned.body)")
            #expect(assigned.json?["owner_id"]?.stringValue == agentA.id)
            #expect(assigned.json?["tags"]?.arrayValue.count == 2)
            #expect(assigned.json?["name"]?.stringValue == "Carla Dias")
            let lead = try await stack.api(
                .PATCH, "/leads/\(leadId)", body: #"{"owner_id":"\#(agentA.id)","stage":"qualified"}"#)
            #expect(lead.status == 200, "\(lead.body)")

            // Agent B: every read and write of A's records is a 404, lists come back empty.
            for (method, path, body) in [
                (NIOHTTP1.HTTPMethod.GET, "/contacts/\(contactId)", nil),
                (.PATCH, "/contacts/\(contactId)", #"{"tags":["mine"]}"#),
                (.GET, "/contacts/\(contactId)/timeline", nil),
                (.GET, "/leads/\(leadId)", nil),
                (.PATCH, "/leads/\(leadId)", #"{"status":"lost"}"#),
            ] {
                let r = try await stack.api(method, path, body: body, token: agentB.token)
                #expect(r.status == 404, "\(method) \(path) as another agent: \(r.status) \(r.body)")
            }
            #expect(
                try await stack.api(.GET, "/contacts?phone=%2B\(customer)", token: agentB.token).json?["items"]?
                    .arrayValue.count == 0)
            #expect(try await stack.api(.GET, "/leads", token: agentB.token).json?["items"]?.arrayValue.count == 0)

            // Agent A sees them, by any phone format and by name.
            #expect(try await stack.api(.GET, "/contacts/\(contactId)", token: agentA.token).status == 200)
            let national = "0055 " + customer.dropFirst(2)
            let byPhone = try await stack.api(
                .GET, "/contacts?phone=\(national.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)",
                token: agentA.token)
            #expect(byPhone.json?["items"]?.arrayValue.count == 1, "\(byPhone.body)")
            #expect(
                try await stack.api(.GET, "/contacts?q=carla", token: agentA.token).json?["items"]?.arrayValue.count
                    == 1)
            #expect(
                try await stack.api(.GET, "/leads?status=open&contact_id=\(contactId)", token: agentA.token).json?[
                    "items"]?.arrayValue.count == 1)

            // Every bad field is listed; unknown fields are refused.
            let bad = try await stack.api(
                .PATCH, "/contacts/\(contactId)",
                body: #"{"nickname":"x","tags":"vip","opted_out":"yes","owner_id":"\#(UUID())"}"#,
                token: agentA.token)
            #expect(bad.status == 400)
            let message = bad.json?["error"]?["message"]?.stringValue ?? ""
            for field in ["nickname", "tags", "opted_out", "owner_id"] {
                #expect(message.contains("\(field):"), "\(message)")
            }
            #expect(
                try await stack.api(.PATCH, "/leads/\(leadId)", body: #"{"status":"maybe","x":1}"#).status == 400)
            // An agent cannot give its contact away.
            #expect(
                try await stack.api(
                    .PATCH, "/contacts/\(contactId)", body: #"{"owner_id":"\#(agentB.id)"}"#, token: agentA.token
                ).status == 403)

            // Opt-out through the API writes the ledger.
            let optOut = try await stack.api(
                .PATCH, "/contacts/\(contactId)", body: #"{"opted_out":true}"#, token: agentA.token)
            #expect(optOut.json?["opted_out"]?.boolValue == true)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM consent_ledger WHERE how = 'api' AND opted_out AND actor = '\(agentA.id)'") == 1)
            // Lifting it is not an agent's call: the customer opted out.
            let optIn = try await stack.api(
                .PATCH, "/contacts/\(contactId)", body: #"{"opted_out":false}"#, token: agentA.token)
            #expect(optIn.status == 403, "\(optIn.body)")
            #expect(optIn.body.contains("cannot clear a customer's opt-out"))
            let won = try await stack.api(.PATCH, "/leads/\(leadId)", body: #"{"status":"won"}"#, token: agentA.token)
            #expect(won.json?["status"]?.stringValue == "won")
            #expect(won.json?["closed_at"] != nil)

            // Audited, before and after, in the same transactions.
            #expect(
                try await stack.count(
                    """
                    SELECT 1 FROM audit_log WHERE entity = 'contact' AND upper(entity_id) = '\(contactId)'
                      AND before IS NOT NULL AND after IS NOT NULL
                    """) == 2)
            #expect(try await stack.count("SELECT 1 FROM audit_log WHERE entity = 'lead'") == 2)

            // The timeline: the message with its wamid, then the changes, in order.
            let timeline = try await stack.api(.GET, "/contacts/\(contactId)/timeline", token: agentA.token)
            let kinds = timeline.json?["items"]?.arrayValue.compactMap { $0["kind"]?.stringValue } ?? []
            for kind in ["message", "contact.created", "lead.opened", "contact.owner_changed", "contact.opted_out"] {
                #expect(kinds.contains(kind), "timeline kinds: \(kinds)")
            }
            #expect(
                timeline.json?["items"]?.arrayValue.first { $0["kind"]?.stringValue == "message" }?["wamid"]?
                    .stringValue == wamid)

            // And on crm.activity, after the commits, with their deterministic ids.
            let expected: Set<String> = [
                "contact.created:\(contactId):1", "lead.opened:\(leadId):1", "lead.closed:\(leadId):3",
                "contact.owner_changed:\(contactId):2",
            ]
            let seen = try await eventIds(stack, until: expected)
            #expect(expected.isSubset(of: seen), "crm.activity had: \(seen.sorted())")
        }
    }

    @Test func firstResponseAndWhatsAppsMarketingOptOutThroughTheRunningServices() async throws {
        try await E2EStack.with { stack in
            let customer = Payloads.newNumber()
            // Written now, so that a free-form reply is inside the 24-hour customer-service window.
            let now = Int(Date().timeIntervalSince1970)
            let inbound = Payloads.inboundText(
                wamid: Payloads.newWamid(), from: customer, name: "Carla", text: "Oi", at: now)
            #expect(try await stack.postWebhook(Payloads.notification([inbound])).status == 200)
            try await eventually("conversation opened") { try await stack.count("SELECT 1 FROM conversations") == 1 }
            let sent = try await stack.api(.POST, "/messages", body: #"{"to":"+\#(customer)","text":"Olá!"}"#)
            #expect(sent.status == 202)
            try await eventually("first response recorded", timeout: .seconds(60)) {
                try await stack.count("SELECT 1 FROM conversations WHERE first_response_at IS NOT NULL") == 1
            }

            let preferences = JSONValue.object([
                "id": .string(E2EStack.wabaId),
                "changes": .array([
                    .object([
                        "field": .string("user_preferences"),
                        "value": .object([
                            "messaging_product": .string("whatsapp"), "metadata": Payloads.metadata,
                            "user_preferences": .array([
                                .object([
                                    "wa_id": .string(customer),
                                    "detail": .string("User requested to stop marketing messages"),
                                    "category": .string("marketing_messages"), "value": .string("stop"),
                                    "timestamp": .number(1_764_090_500),
                                ])
                            ]),
                        ]),
                    ])
                ]),
            ])
            #expect(try await stack.postWebhook(Payloads.notification([preferences])).status == 200)
            try await eventually("marketing opt-out applied", timeout: .seconds(60)) {
                try await stack.count(
                    """
                    SELECT 1 FROM contacts c JOIN consent_ledger l ON l.contact_id = c.id
                    WHERE c.opted_out AND l.how = 'marketing_preferences'
                    """) == 1
            }
        }
    }

    /// Event ids on the stack's `crm.activity`, read until all of `wanted` were seen (or 30 s).
    func eventIds(_ stack: E2EStack, until wanted: Set<String>) async throws -> Set<String> {
        let consumer = try KafkaConsumer(
            properties: [
                "bootstrap.servers": stack.env.kafkaBrokers, "group.id": "activity-\(UUID().uuidString)",
                "auto.offset.reset": "earliest", "enable.partition.eof": "false",
                "session.timeout.ms": "6000", "max.poll.interval.ms": "7000", "heartbeat.interval.ms": "500",
            ], topics: [stack.topicPrefix + "crm.activity"], logger: Logger(label: "activity"))
        var seen = Set<String>()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !wanted.isSubset(of: seen) {
            for record in try await consumer.poll(maxRecords: 500, timeout: .milliseconds(250)) {
                let envelope = try EventEnvelope<CRMActivity>.decode(record.value)
                #expect(envelope.eventId == envelope.payload.eventId)
                #expect(envelope.type == EventTypes.crmActivity)
                seen.insert(envelope.eventId)
            }
        }
        await consumer.close()
        return seen
    }
}
