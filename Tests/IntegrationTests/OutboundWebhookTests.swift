import Foundation
import Kafka
import Logging
import PostgresNIO
import Testing
import WireModels

/// Outbound webhooks, black-box: endpoints registered through the API, `crm.activity`
/// records on the real broker, crm-matcher delivering to real HTTP endpoints.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct OutboundWebhookTests {
    /// Registers an endpoint through the API; returns its id and secret.
    func register(_ stack: E2EStack, url: String, events: [String]) async throws -> (id: String, secret: String) {
        let secret = "whsec-\(UUID().uuidString)"
        let list = events.map { "\"\($0)\"" }.joined(separator: ",")
        let created = try await stack.api(
            .POST, "/outbound-webhooks", body: #"{"url":"\#(url)","events":[\#(list)],"secret":"\#(secret)"}"#)
        #expect(created.status == 201, "\(created.body)")
        #expect(!created.body.contains(secret), "the secret is write-only")
        let id = try #require(created.json?["id"]?.stringValue)
        // Stored sealed, never in clear (the deliveries below are signed with it all the same).
        #expect(
            try await stack.count(
                "SELECT 1 FROM outbound_webhooks WHERE id = '\(id)' AND secret IS NULL AND secret_enc IS NOT NULL") == 1
        )
        return (id, secret)
    }

    /// Puts activities on the stack's `crm.activity` topic, as the matcher would.
    func publish(_ stack: E2EStack, _ activities: [CRMActivity], times: Int = 1) async throws {
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": stack.env.kafkaBrokers], logger: Logger(label: "test-producer"))
        for _ in 0..<times {
            for a in activities {
                let envelope = EventEnvelope(
                    eventId: a.eventId, type: EventTypes.crmActivity, occurredAt: a.at, source: "crm-matcher",
                    payload: a)
                try await producer.send(
                    OutgoingRecord(
                        topic: stack.topicPrefix + Topics.crmActivity, key: Array((a.contactId ?? a.entityId).utf8),
                        value: try envelope.encoded()))
            }
        }
        await producer.shutdown(timeout: .seconds(5))
    }

    func leadOpened(contact: String = UUID().uuidString) -> CRMActivity {
        CRMActivity(
            kind: "lead.opened", entity: "lead", entityId: UUID().uuidString, contactId: contact, version: 1,
            // Whole seconds: the envelope's RFC 3339 keeps milliseconds, so equality holds after the trip.
            at: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
            data: .object(["source": .string("ctwa_ad")]))
    }

    @Test func anEndpointThatFailsTwiceGetsTheEventOnceWithThreeAttemptsRecorded() async throws {
        let receiver = try await WebhookReceiver(script: [500, 503])
        defer { receiver.stop() }
        try await E2EStack.with { stack in
            let hook = try await register(stack, url: receiver.url, events: ["lead.*"])
            let activity = leadOpened()
            // Delivered to the topic twice (a redelivery): still one delivery.
            try await publish(stack, [activity], times: 2)

            try await eventually("delivered after two failures", timeout: .seconds(60)) {
                try await stack.count(
                    "SELECT 1 FROM webhook_deliveries WHERE event_id = '\(activity.eventId)' AND state = 'delivered'")
                    == 1
            }
            try await Task.sleep(for: .seconds(1))
            let got = receiver.received
            #expect(got.count == 3, "one event, three attempts")
            for r in got {
                let signature = try #require(r.headers["x-crm-signature-256"])
                #expect(CRMWebhookSignature.isValid(signature, body: r.body, secret: hook.secret))
                #expect(r.headers["x-crm-event-id"] == activity.eventId)
                let envelope = try EventEnvelope<CRMActivity>.decode(r.body)
                #expect(envelope.payload == activity)
            }
            #expect(got.map { $0.headers["x-crm-delivery-attempt"] } == ["1", "2", "3"])
            #expect(try await stack.count("SELECT 1 FROM webhook_deliveries") == 1)

            let listed = try await stack.api(.GET, "/outbound-webhooks/\(hook.id)/deliveries")
            #expect(listed.status == 200, "\(listed.body)")
            let item = try #require(listed.json?["items"]?.arrayValue.first)
            #expect(item["state"]?.stringValue == "delivered")
            #expect(item["event_id"]?.stringValue == activity.eventId)
            let log = item["attempt_log"]?.arrayValue ?? []
            #expect(log.map { $0["http_status"]?.doubleValue } == [500, 503, 200])
            #expect(log.map { $0["decision"]?.stringValue?.hasPrefix("retry at") } == [true, true, false])
        }
    }

    @Test func aFailingEndpointDoesNotHoldBackAnotherOne() async throws {
        let dead = try await WebhookReceiver(fallback: 500)
        let healthy = try await WebhookReceiver()
        defer {
            dead.stop()
            healthy.stop()
        }
        try await E2EStack.with { stack in
            _ = try await register(stack, url: dead.url, events: ["*"])
            _ = try await register(stack, url: healthy.url, events: ["lead.opened"])
            // Not subscribed by the healthy endpoint: must not reach it.
            let other = CRMActivity(
                kind: "task.created", entity: "task", entityId: UUID().uuidString, contactId: nil, version: 1,
                at: Date())
            let leads = (0..<5).map { _ in leadOpened() }
            try await publish(stack, leads + [other])

            try await eventually("all five delivered to the healthy endpoint", timeout: .seconds(30)) {
                healthy.received.count == 5
            }
            #expect(Set(healthy.received.compactMap { $0.headers["x-crm-event-id"] }) == Set(leads.map(\.eventId)))
            #expect(!dead.received.isEmpty, "the failing endpoint was tried")
            #expect(
                try await stack.count(
                    "SELECT 1 FROM webhook_deliveries d JOIN outbound_webhooks w ON w.id = d.webhook_id "
                        + "WHERE w.url = '\(dead.url)' AND d.state IN ('retrying', 'delivering', 'pending')") == 6)
            // The matcher's own stage kept consuming meanwhile (lag metric present, nothing dead-lettered).
            #expect(try await stack.count("SELECT 1 FROM failures") == 0)
        }
    }

    @Test func registrationIsValidatedAuditedAndAdminOnly() async throws {
        try await E2EStack.with { stack in
            let bad = try await stack.api(
                .POST, "/outbound-webhooks", body: #"{"url":"ftp://x","events":[],"colour":"red"}"#)
            #expect(bad.status == 400)
            for field in ["colour: unknown field", "url:", "events:"] {
                #expect(bad.body.contains(field), "\(bad.body)")
            }

            let agentToken = "agent-\(UUID().uuidString)"
            try await stack.postgres.query(
                """
                WITH u AS (INSERT INTO users (name, email, role) VALUES ('Agent', \(agentToken + "@example.com"), 'agent')
                           RETURNING id)
                INSERT INTO api_tokens (user_id, name, token_sha256)
                SELECT id, 'agent', \(Hashing.sha256Hex(Array(agentToken.utf8))) FROM u
                """)
            let forbidden = try await stack.api(
                .POST, "/outbound-webhooks", body: #"{"url":"http://127.0.0.1:1/x","events":["*"]}"#,
                token: agentToken)
            #expect(forbidden.status == 403)
            #expect(try await stack.api(.GET, "/outbound-webhooks", token: agentToken).status == 403)

            // No secret given: one is generated and shown once.
            let created = try await stack.api(
                .POST, "/outbound-webhooks", body: #"{"url":"http://127.0.0.1:1/x","events":["contact.*"]}"#)
            #expect(created.status == 201)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(created.json?["secret"]?.stringValue?.count == 64)
            let patched = try await stack.api(.PATCH, "/outbound-webhooks/\(id)", body: #"{"active":false}"#)
            #expect(patched.status == 200)
            #expect(patched.json?["active"]?.boolValue == false)
            let listed = try await stack.api(.GET, "/outbound-webhooks")
            #expect(listed.json?["items"]?.arrayValue.count == 1)
            #expect(!listed.body.contains("secret"))
            let audited = try await stack.count(
                "SELECT 1 FROM audit_log WHERE entity = 'outbound_webhook' AND entity_id = '\(id)'")
            #expect(audited == 2, "create and update are in the audit log")
            #expect(try await stack.count("SELECT 1 FROM audit_log WHERE after::text LIKE '%whsec%'") == 0)
        }
    }

    /// No hooks into this host's network: refused at registration, and again at delivery for an
    /// endpoint whose address became internal; a connection error is shown as a category only.
    @Test func internalDestinationsAreRefusedAndConnectionErrorsRevealNothing() async throws {
        try await E2EStack.with { stack in
            for (url, why) in [
                ("http://169.254.169.254/latest/meta-data", "link-local"), ("http://10.1.2.3/hook", "private-network"),
                ("http://postgres:5432/", "cluster-internal"), ("http://[fd00::1]/x", "private-network"),
                ("http://kafka.default.svc.cluster.local/x", "internal name"),
                ("http://[::ffff:192.168.1.1]/", "private"),
            ] {
                let r = try await stack.api(.POST, "/outbound-webhooks", body: #"{"url":"\#(url)","events":["*"]}"#)
                #expect(r.status == 400, "\(url): \(r.body)")
                #expect(r.body.contains(why), "\(url): \(r.body)")
            }
            // This stack allows loopback, as `make run` does: a local listener may be used.
            let local = try await stack.api(
                .POST, "/outbound-webhooks", body: #"{"url":"http://127.0.0.1:1/closed","events":["lead.*"]}"#)
            #expect(local.status == 201, "\(local.body)")
            // An endpoint whose address is internal now (as after a DNS change): refused at delivery.
            try await stack.postgres.query(
                """
                INSERT INTO outbound_webhooks (url, events, secret, created_by)
                VALUES ('http://169.254.169.254/hook', '{lead.*}', 'whsec-0123456789abcdef', 'test')
                """)
            let activity = leadOpened()
            try await publish(stack, [activity])
            try await eventually("both deliveries attempted", timeout: .seconds(30)) {
                try await stack.count(
                    "SELECT 1 FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
                        + "WHERE d.event_id = '\(activity.eventId)'") >= 2
            }
            let rows = try await stack.postgres.query(
                """
                SELECT w.url, d.state, coalesce(d.last_error, '') FROM webhook_deliveries d
                JOIN outbound_webhooks w ON w.id = d.webhook_id WHERE d.event_id = \(activity.eventId)
                """)
            var seen: [String: (String, String)] = [:]
            for try await (url, state, error) in rows.decode((String, String, String).self) {
                seen[url] = (state, error)
            }
            let metadata = try #require(seen["http://169.254.169.254/hook"])
            #expect(metadata.0 == "failed", "refused for good, not retried")
            #expect(
                metadata.1.hasPrefix("destination refused: 169.254.169.254 is a link-local address"), "\(metadata.1)")
            let closed = try #require(seen["http://127.0.0.1:1/closed"])
            #expect(["could not connect", "connection refused"].contains(closed.1), "\(closed.1)")
            #expect(!closed.1.contains("127.0.0.1") && !closed.1.contains("errno"))
        }
    }
}
