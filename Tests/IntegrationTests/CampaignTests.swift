import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing
import WireModels

/// Campaigns (issue 5): the API's validation and gate on the gateway's router, then whole runs
/// through the real services against the simulator over HTTP — the test-send gate, the rollout
/// through the sender, per-recipient states and the report, pause and resume.
@Suite(.serialized, .timeLimit(.minutes(8)))
struct CampaignTests {
    static func body(_ value: JSONValue) -> String {
        String(decoding: try! JSONCoding.encoder().encode(value), as: UTF8.self)
    }

    /// A two-variable template in the catalog, as a sync would store it.
    static func insertInvoiceTemplate(_ db: TestDatabase) async throws {
        try await db.client.query(
            """
            INSERT INTO templates (waba_id, name, language, template_id, status, category, parameter_format,
                                   components, variables)
            VALUES ('w1', 'invoice_ready', 'es', 't1', 'APPROVED', 'UTILITY', 'POSITIONAL',
                    '[{"type":"BODY","text":"Hola {{1}}, tu factura {{2}}"}]',
                    '[{"id":"body.1","component":"body","name":"1","kind":"text"},
                      {"id":"body.2","component":"body","name":"2","kind":"text"}]')
            """)
    }

    @Test func theAPIValidatesAudiencesAndRefusesALaunchBeforeATestSend() async throws {
        try await APIHarness.run { h, c in
            try await Self.insertInvoiceTemplate(h.db)
            let mapping = try await h.call(
                c, .put, "/api/v1/templates/invoice_ready/es/mapping", token: h.adminToken,
                body: [
                    "variables": [
                        "1": ["source": "campaign", "field": "first_name"],
                        "2": ["source": "campaign", "field": "invoice"],
                    ]
                ])
            #expect(mapping.status == .ok, "\(mapping.text)")
            let (_, manager) = try await h.user(c, role: "manager", name: "Mara")
            let (_, agent) = try await h.user(c, role: "agent", name: "Alex")
            #expect(try await h.call(c, .get, "/api/v1/campaigns", token: agent).status == .forbidden)
            #expect(
                try await h.call(c, .post, "/api/v1/campaigns", token: agent, body: ["name": "x"]).status == .forbidden)

            // Every bad row is reported with its number and reason; nothing is created.
            let optedOut = "5511900000004"
            try await h.db.client.query(
                "INSERT INTO contacts (phone, wa_id, opted_out) VALUES (\("+" + optedOut), \(optedOut), true)")
            let csv = """
                phone,first_name,invoice
                +5511900000001,Ana,F-1
                not a phone,Bia,F-2
                +5511900000001,Ana,F-3
                +5511900000002,,F-4
                +5511900000003,Dora,F-5
                +5511900000004,Eva,F-6
                """
            func create(_ audience: JSONValue, template: String = "invoice_ready", language: String = "es")
                async throws -> APIHarness.Reply
            {
                try await h.call(
                    c, .post, "/api/v1/campaigns", token: manager,
                    body: [
                        "name": "March invoices", "template": .string(template), "language": .string(language),
                        "audience": audience,
                    ])
            }
            let refused = try await create(["csv": .string(csv)])
            #expect(refused.status == .badRequest, "\(refused.text)")
            let messages = (refused.json?["error"]?["fields"]?.arrayValue ?? []).compactMap {
                $0["message"]?.stringValue
            }
            #expect(messages.count == 3, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("row 3: phone not a phone: ") }, "\(messages)")
            #expect(messages.contains("row 4: phone +5511900000001 duplicates row 2"))
            #expect(messages.contains("row 5: missing value for first_name"))
            #expect(try await h.db.count("SELECT 1 FROM campaigns") == 0)

            let noColumn = try await create(["csv": "phone,first_name\n+5511900000001,Ana\n"])
            #expect(noColumn.status == .badRequest)
            #expect(noColumn.text.contains("column invoice is missing"), "\(noColumn.text)")
            let both = try await create(["csv": "phone\n+5511900000001\n", "filters": ["tags": ["vip"]]])
            #expect(both.badFields == ["audience"])
            let filtered = try await create(["filters": ["tags": ["vip"]]])
            #expect(filtered.badFields == ["audience.filters"], "a filter audience has no campaign columns")
            let unknown = try await create(["csv": "phone\n+5511900000001\n"], template: "nope")
            #expect(unknown.badFields == ["template"])
            let badFilter = try await create(
                ["filters": ["owner_id": "x", "colour": "red"]], template: "invoice_ready")
            #expect(Set(badFilter.badFields).isSuperset(of: ["audience.filters.owner_id", "audience.filters.colour"]))

            // With skip_invalid_rows the good rows are kept, the bad ones listed, the opted-out
            // contact excluded with a count.
            let created = try await create(["csv": .string(csv), "skip_invalid_rows": true])
            #expect(created.status == .created, "\(created.text)")
            #expect(created["state"] == "draft")
            #expect(created["recipients"]?.doubleValue == 2)
            #expect(created["excluded_opted_out"]?.doubleValue == 1)
            #expect(created["rejected_rows"]?.arrayValue.compactMap { $0["row"]?.doubleValue } == [3, 4, 5])
            let id = try #require(created["id"]?.stringValue)
            #expect(
                try await h.db.count(
                    "SELECT 1 FROM campaign_recipients WHERE phone IN ('5511900000001', '5511900000003')") == 2)
            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE action = 'campaign.create'") == 1)

            let early = try await h.call(c, .post, "/api/v1/campaigns/\(id)/launch", token: manager)
            #expect(early.status == .conflict)
            #expect(early.json?["error"]?["code"] == "test_send_required")
            let pauseDraft = try await h.call(c, .post, "/api/v1/campaigns/\(id)/pause", token: manager)
            #expect(pauseDraft.status == .conflict)
            #expect(pauseDraft.json?["error"]?["code"] == "invalid_state")
            let noTesters = try await h.call(c, .post, "/api/v1/campaigns/\(id)/test-send", token: manager)
            #expect(noTesters.json?["error"]?["code"] == "no_test_recipients")
            #expect(try await h.call(c, .get, "/api/v1/campaigns/\(UUID())", token: manager).status == .notFound)

            let report = try await h.call(c, .get, "/api/v1/campaigns/\(id)/report", token: manager)
            #expect(report["recipients"]?.doubleValue == 2 && report["pending"]?.doubleValue == 2)
            #expect(report["queued"]?.doubleValue == 2 && report["sent"]?.doubleValue == 0)
            let first = try await h.call(c, .get, "/api/v1/campaigns/\(id)/recipients?limit=1", token: manager)
            #expect(first.items.first?["phone"] == "+5511900000001")
            #expect(first.items.first?["state"] == "pending")
            let cursor = try #require(first["next_cursor"]?.stringValue)
            let second = try await h.call(
                c, .get, "/api/v1/campaigns/\(id)/recipients?limit=1&cursor=\(cursor)", token: manager)
            #expect(second.items.compactMap { $0["phone"]?.stringValue } == ["+5511900000003"])
            let listed = try await h.call(c, .get, "/api/v1/campaigns?state=draft", token: manager)
            #expect(listed.items.compactMap { $0["id"]?.stringValue } == [id])

            // A filter audience: tagged contacts, the opted-out one counted, not included.
            try await h.db.client.query(
                """
                INSERT INTO contacts (phone, wa_id, tags, opted_out) VALUES
                    ('+5511900000011', '5511900000011', '{vip,sp}', false),
                    ('+5511900000012', '5511900000012', '{vip}', true),
                    ('+5511900000013', '5511900000013', '{sp}', false)
                """)
            let hello = try await create(["filters": ["tags": ["vip"]]], template: "invoice_ready")
            #expect(hello.status == .badRequest, "invoice_ready takes campaign columns")
            try await h.db.client.query(
                """
                INSERT INTO templates (waba_id, name, language, status, category, components, variables)
                VALUES ('w1', 'hello_world', 'en_US', 'APPROVED', 'UTILITY', '[{"type":"BODY","text":"Hi"}]', '[]')
                """)
            let vip = try await create(["filters": ["tags": ["vip"]]], template: "hello_world", language: "en_US")
            #expect(vip.status == .created, "\(vip.text)")
            #expect(vip["recipients"]?.doubleValue == 1 && vip["excluded_opted_out"]?.doubleValue == 1)
            let nobody = try await create(["filters": ["tags": ["none"]]], template: "hello_world", language: "en_US")
            #expect(nobody.status == .unprocessableContent)
            #expect(nobody.json?["error"]?["code"] == "empty_audience")
        }
    }

    /// The CSV audience of a full run: two good numbers and one that fails at send time
    /// (131026), one accepted and then failed by a status, one opted-out contact, one bad row.
    @Test func aCampaignRunsToCompletionWithACorrectPerRecipientReport() async throws {
        try await E2EStack.with(simulatorPostsStatuses: true) { stack in
            try await stack.waitForTemplates()
            let base = "5511977" + String(format: "%01d", Int.random(in: 0...9))
            let good = [base + "10001", base + "10002"]
            let replying = base + "10003"
            let failsAtSend = base + "01026"
            let failsByStatus = base + "02026"
            try await stack.setSimulatorFaults("*01026=131026,*02026=131026@status")
            let tester = Payloads.newNumber()
            try await stack.postgres.query("INSERT INTO test_recipients (phone, name) VALUES (\("+" + tester), 'QA')")
            let optedOut = Payloads.newNumber()
            #expect(try await stack.postInboundText(wamid: Payloads.newWamid(), from: optedOut, text: "oi") == 200)
            try await eventually("the opted-out contact") {
                try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(optedOut)'") == 1
            }
            try await stack.postgres.query("UPDATE contacts SET opted_out = true WHERE wa_id = \(optedOut)")

            let mapping = try await stack.api(
                .PUT, "/templates/invoice_ready/es/mapping",
                body:
                    #"{"variables":{"header.document":{"source":"literal","value":"https://cdn.example.com/invoice.pdf"},"1":{"source":"campaign","field":"first_name"},"2":{"source":"campaign","field":"invoice"},"3":{"source":"literal","value":"R$ 10"}}}"#
            )
            #expect(mapping.status == 200, "\(mapping.body)")
            let rows = (good + [replying, failsAtSend, failsByStatus, optedOut]).enumerated().map {
                "+\($0.element),Cliente \($0.offset),F-\($0.offset)"
            }
            let csv = (["phone,first_name,invoice"] + rows + ["+12,x,y"]).joined(separator: "\n")
            let created = try await stack.api(
                .POST, "/campaigns",
                body: Self.body([
                    "name": "invoices", "template": "invoice_ready", "language": "es",
                    "audience": ["csv": .string(csv), "skip_invalid_rows": true],
                ]))
            #expect(created.status == 201, "\(created.body)")
            let id = try #require(created.json?["id"]?.stringValue).lowercased()
            #expect(created.json?["recipients"]?.doubleValue == 5)
            #expect(created.json?["excluded_opted_out"]?.doubleValue == 1)
            #expect(created.json?["rejected_rows"]?.arrayValue.first?["row"]?.doubleValue == 8)

            let early = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(early.status == 409)
            #expect(early.json?["error"]?["code"]?.stringValue == "test_send_required")
            let requestsBefore = try await stack.simulatorRequests()

            let test = try await stack.api(.POST, "/campaigns/\(id)/test-send")
            #expect(test.status == 202, "\(test.body)")
            let testRequest = try #require(test.json?["items"]?.arrayValue.first?["request_id"]?.stringValue)
            let testState = try await stack.waitForSend(testRequest, state: "sent")
            let testText = try await stack.api(.GET, "/messages/\(testState["wamid"]?.stringValue ?? "")")
            #expect(testText.json?["text"]?.stringValue?.contains("Hola Cliente 0, tu factura F-0") == true)
            try await eventually("the campaign to be tested") {
                try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "tested"
            }
            let launched = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(launched.status == 200, "\(launched.body)")
            #expect(launched.json?["state"]?.stringValue == "running")
            let again = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(again.status == 409 && again.json?["error"]?["code"]?.stringValue == "invalid_state")

            try await eventually("the campaign to be done", timeout: .seconds(60)) {
                try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "done"
            }
            func recipients() async throws -> [String: JSONValue] {
                let items = try await stack.api(.GET, "/campaigns/\(id)/recipients").json?["items"]?.arrayValue ?? []
                var out: [String: JSONValue] = [:]
                for item in items { out[String(item["phone"]?.stringValue?.dropFirst() ?? "")] = item }
                return out
            }
            // Each recipient was sent to exactly once (plus the one test send).
            #expect(try await stack.simulatorRequests() == requestsBefore + 1 + 5)
            // The customer answers the campaign message (context.id = its wamid).
            let replied = try #require(try await recipients()[replying]?["wamid"]?.stringValue)
            let answer = JSONValue.object([
                "from": .string(replying), "id": .string(Payloads.newWamid()),
                "timestamp": .string(String(Int(Date().timeIntervalSince1970))), "type": "text",
                "text": ["body": "paguei"], "context": ["from": "15550000000", "id": .string(replied)],
            ])
            let posted = try await stack.postWebhook(
                Payloads.notification([
                    .object([
                        "id": .string(E2EStack.wabaId),
                        "changes": .array([
                            Payloads.change(messages: [answer], contacts: [(replying, "Rita")], statuses: [])
                        ]),
                    ])
                ]))
            #expect(posted.status == 200)

            let expected: [String: String] = [
                good[0]: "read", good[1]: "read", replying: "read", failsAtSend: "failed", failsByStatus: "failed",
            ]
            var last: [String: JSONValue] = [:]
            do {
                try await eventually("every recipient settled", timeout: .seconds(40)) {
                    last = try await recipients()
                    return expected.allSatisfy { last[$0.key]?["state"]?.stringValue == $0.value }
                        && last[replying]?["replied"]?.boolValue == true
                }
            } catch {
                Issue.record("recipients: \(last)")
                throw error
            }
            #expect(last.count == 5)
            #expect(last[optedOut] == nil)
            #expect(last[failsAtSend]?["error_code"]?.doubleValue == 131026)
            #expect(last[failsAtSend]?["wamid"] == nil)
            #expect(last[failsByStatus]?["error_code"]?.doubleValue == 131026)
            #expect(last[failsByStatus]?["wamid"]?.stringValue != nil)
            #expect(last[good[0]]?["replied"]?.boolValue == false)

            // The report equals a hand count of what this test made happen.
            let report = try #require(try await stack.api(.GET, "/campaigns/\(id)/report").json)
            let hand: [String: Double] = [
                "recipients": 5, "pending": 0, "queued": 0, "sent": 3, "delivered": 3, "read": 3, "failed": 2,
                "replied": 1, "excluded_opted_out": 1,
            ]
            for (key, value) in hand { #expect(report[key]?.doubleValue == value, "\(key): \(report)") }
            #expect(report["errors_by_code"] == .object(["131026": .number(2)]))

            // Under the campaign's request ids.
            #expect(
                try await stack.count(
                    "SELECT 1 FROM send_requests WHERE campaign_id = '\(id)' AND request_id LIKE 'campaign:\(id):%'")
                    == 5)
            #expect(
                try await stack.count("SELECT 1 FROM messages WHERE campaign_id = '\(id)' AND direction = 'outbound'")
                    == 4)
            for action in ["campaign.create", "campaign.test_send", "campaign.launch", "campaign.done"] {
                #expect(
                    try await stack.count("SELECT 1 FROM audit_log WHERE entity_id = '\(id)' AND action = '\(action)'")
                        == 1, "\(action)")
            }
            let metrics = try await HTTP.request(.GET, "\(stack.gatewayURL)/metrics").body
            #expect(metrics.contains(#"crm_campaign_recipients_published_total{outcome="queued"} 5"#), "\(metrics)")
        }
    }

    /// A mapping change sends the campaign back to needing a test; pause stops the rollout
    /// (chunks of 2, see E2EStack), resume finishes it without sending anyone twice.
    @Test func pauseStopsTheRolloutAndAChangedMappingNeedsANewTest() async throws {
        try await E2EStack.with { stack in
            try await stack.waitForTemplates()
            let tester = Payloads.newNumber()
            try await stack.postgres.query("INSERT INTO test_recipients (phone, name) VALUES (\("+" + tester), 'QA')")
            let phones = (0..<10).map { _ in Payloads.newNumber() }
            let csv = (["phone"] + phones.map { "+" + $0 }).joined(separator: "\n")
            let created = try await stack.api(
                .POST, "/campaigns",
                body: Self.body([
                    "name": "hello", "template": "hello_world", "language": "en_US", "audience": ["csv": .string(csv)],
                ]))
            #expect(created.status == 201, "\(created.body)")
            let id = try #require(created.json?["id"]?.stringValue).lowercased()

            func testAndWait() async throws {
                let test = try await stack.api(.POST, "/campaigns/\(id)/test-send")
                #expect(test.status == 202, "\(test.body)")
                let request = try #require(test.json?["items"]?.arrayValue.first?["request_id"]?.stringValue)
                try await stack.waitForSend(request, state: "sent")
            }
            try await testAndWait()
            try await eventually("tested") {
                try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "tested"
            }
            // Saving a mapping changes what would be sent: back to draft, launch refused.
            #expect(
                try await stack.api(.PUT, "/templates/hello_world/en_US/mapping", body: #"{"variables":{}}"#).status
                    == 200)
            #expect(try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "draft")
            let refused = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(refused.status == 409 && refused.json?["error"]?["code"]?.stringValue == "test_send_required")
            try await testAndWait()

            let launched = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(launched.status == 200, "\(launched.body)")
            func published() async throws -> Int {
                try await stack.count(
                    "SELECT 1 FROM campaign_recipients WHERE campaign_id = '\(id)' AND state <> 'pending'")
            }
            try await eventually("the first chunk", every: .milliseconds(20)) { try await published() >= 1 }
            let paused = try await stack.api(.POST, "/campaigns/\(id)/pause")
            #expect(paused.status == 200, "\(paused.body)")
            #expect(paused.json?["state"]?.stringValue == "paused")
            let atPause = try await published()
            #expect(atPause < 10)
            try await Task.sleep(for: .seconds(2))
            #expect(try await published() == atPause, "nothing is published while paused")
            #expect(try await stack.api(.POST, "/campaigns/\(id)/pause").status == 409)

            let resumed = try await stack.api(.POST, "/campaigns/\(id)/launch")
            #expect(resumed.status == 200, "\(resumed.body)")
            try await eventually("done", timeout: .seconds(60)) {
                try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "done"
            }
            let report = try #require(try await stack.api(.GET, "/campaigns/\(id)/report").json)
            #expect(report["recipients"]?.doubleValue == 10 && report["sent"]?.doubleValue == 10, "\(report)")
            #expect(try await stack.count("SELECT 1 FROM send_requests WHERE campaign_id = '\(id)'") == 10)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM audit_log WHERE entity_id = '\(id)' AND action = 'campaign.resume'") == 1)
        }
    }
}
