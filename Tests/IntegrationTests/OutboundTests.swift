import Foundation
import Kafka
import Logging
import Testing
import WireModels

/// The send path against the simulator over real HTTP: templates, the policy gate, the
/// governor and the error policy (issue #4).
@Suite(.serialized, .timeLimit(.minutes(6)))
struct OutboundTests {
    static let orderVariables =
        ##"{"header.1":"#4821","1":"Ana","2":"#4821","3":"May 1, 2026","button.0.1":"4821"}"##

    @Test func templatesSyncListAndMapWithAPreview() async throws {
        try await E2EStack.with { stack in
            let sync = try await stack.api(.POST, "/templates/sync")
            #expect(sync.status == 200, "\(sync.body)")
            #expect((sync.json?["templates"]?.doubleValue ?? 0) >= 10)
            // A page size of 100 would hide a paging bug: the simulator pages at our limit, so
            // check that the listing went through all of them by comparing with the catalog.
            let listed = try await stack.api(.GET, "/templates?limit=500")
            let items = listed.json?["items"]?.arrayValue ?? []
            #expect(items.count == 10)
            let order = try #require(
                items.first { $0["name"]?.stringValue == "order_update" && $0["language"]?.stringValue == "pt_BR" })
            #expect(
                order["variables"]?.arrayValue.compactMap { $0["id"]?.stringValue } == [
                    "header.1", "body.1", "body.2", "body.3", "button.0.1",
                ])
            let paused = try await stack.api(.GET, "/templates?status=paused")
            #expect(paused.json?["items"]?.arrayValue.compactMap { $0["name"]?.stringValue } == ["summer_sale"])
            let firstPage = try await stack.api(.GET, "/templates?limit=4")
            let cursor = try #require(firstPage.json?["next_cursor"]?.stringValue)
            let secondPage = try await stack.api(
                .GET,
                "/templates?limit=4&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(secondPage.json?["items"]?.arrayValue.count == 4)
            #expect(secondPage.json?["items"]?.arrayValue.first != firstPage.json?["items"]?.arrayValue.first)

            let bad = try await stack.api(
                .PUT, "/templates/order_update/pt_BR/mapping",
                body:
                    ##"{"variables":{"1":{"source":"contact","field":"shoe_size"},"header.1":{"source":"literal","value":"#1"}}}"##
            )
            #expect(bad.status == 400)
            let message = bad.json?["error"]?["message"]?.stringValue ?? ""
            for problem in [
                "body.1: contact field", "body.2: not mapped", "body.3: not mapped", "button.0.1: not mapped",
            ] {
                #expect(message.contains(problem), "\(message)")
            }
            let good = try await stack.api(
                .PUT, "/templates/order_update/pt_BR/mapping",
                body: #"""
                    {"variables":{"header.1":{"source":"campaign","field":"order"},
                     "1":{"source":"contact","field":"name"},
                     "2":{"source":"campaign","field":"order"},
                     "3":{"source":"literal","value":"amanhã"},
                     "button.0.1":{"source":"campaign","field":"order_id"}}}
                    """#)
            #expect(good.status == 200, "\(good.body)")
            #expect(
                good.json?["preview"]?["body"]?.stringValue
                    == "Olá {contact.name}, seu pedido {campaign.order} será enviado em amanhã. Acompanhe pelo botão abaixo."
            )
            #expect(good.json?["mapping"]?["variables"]?["body.3"]?["value"]?.stringValue == "amanhã")
            #expect(try await stack.count("SELECT 1 FROM audit_log WHERE action = 'template.mapping.update'") == 1)
            #expect(try await stack.api(.PUT, "/templates/nope/en_US/mapping", body: "{}").status == 404)

            // A send resolves the contact's name through the mapping and the columns it is given.
            let customer = Payloads.newNumber()
            #expect(
                try await stack.postInboundText(wamid: Payloads.newWamid(), from: customer, text: "oi", name: "Bia")
                    == 200)
            try await eventually("contact stored") {
                try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(customer)'") == 1
            }
            let sent = try await stack.sendTemplate(
                to: customer, name: "order_update", language: "pt_BR", variables: ##"{"order":"#77","order_id":"77"}"##)
            #expect(sent.status == 202, "\(sent.body)")
            let state = try await stack.waitForSend(try #require(sent.json?["request_id"]?.stringValue), state: "sent")
            let wamid = try #require(state["wamid"]?.stringValue)
            let text = try await stack.api(.GET, "/messages/\(wamid)").json?["text"]?.stringValue ?? ""
            #expect(text.contains("Olá Bia, seu pedido #77 será enviado em amanhã."), "\(text)")

            // Test sends: only to configured test recipients; the test-send endpoint reaches them.
            let outsider = try await stack.sendTemplate(to: customer, name: "hello_world", extra: #","test":true"#)
            #expect(outsider.status == 422)
            #expect(outsider.json?["error"]?["code"]?.stringValue == "not_a_test_recipient")
            let tester = Payloads.newNumber()
            try await stack.postgres.query("INSERT INTO test_recipients (phone, name) VALUES (\("+" + tester), 'QA')")
            let testSend = try await stack.api(
                .POST, "/templates/order_update/en_US/test-send", body: #"{"variables":\#(Self.orderVariables)}"#)
            #expect(testSend.status == 202, "\(testSend.body)")
            let item = try #require(testSend.json?["items"]?.arrayValue.first)
            #expect(item["state"]?.stringValue == "queued")
            try await stack.waitForSend(try #require(item["request_id"]?.stringValue), state: "sent")
        }
    }

    @Test func aTemplateSendReachesReadAndTheSameKeySendsOnce() async throws {
        try await E2EStack.with(simulatorPostsStatuses: true) { stack in
            try await stack.waitForTemplates()
            let customer = Payloads.newNumber()
            let before = try await stack.simulatorRequests()
            let key = "order-4821-\(customer)"
            var ids: Set<String> = []
            for _ in 0..<3 {
                let r = try await stack.sendTemplate(
                    to: customer, name: "order_update", variables: Self.orderVariables, key: key,
                    extra: #","campaign_id":"6f1c2a4e-0000-4000-8000-000000000001""#)
                #expect(r.status == 202, "\(r.body)")
                ids.insert(r.json?["request_id"]?.stringValue ?? "")
            }
            #expect(ids == [key])
            let state = try await stack.waitForSend(key, state: "sent")
            let wamid = try #require(state["wamid"]?.stringValue)
            try await eventually("the message to be read", timeout: .seconds(30)) {
                try await stack.api(.GET, "/messages/\(wamid)").json?["status"]?.stringValue == "read"
            }
            let message = try await stack.api(.GET, "/messages/\(wamid)").json
            #expect(message?["template"]?.stringValue == "order_update")
            #expect(message?["campaign_id"]?.stringValue?.lowercased() == "6f1c2a4e-0000-4000-8000-000000000001")
            #expect(message?["direction"]?.stringValue == "outbound")
            // Our request id travels as biz_opaque_callback_data and comes back with each status.
            #expect(
                try await stack.count(
                    "SELECT 1 FROM message_status_events WHERE wamid = '\(wamid)' AND biz_opaque_callback_data = '\(key)'"
                )
                    >= 3)
            // Three posts, one send.
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.simulatorRequests() == before + 1)
            #expect(try await stack.count("SELECT 1 FROM send_requests WHERE request_id = '\(key)'") == 1)
            #expect(try await stack.count("SELECT 1 FROM messages WHERE send_request_id = '\(key)'") == 1)
            #expect(try await stack.count("SELECT 1 FROM audit_log WHERE entity_id = '\(key)'") == 1)
        }
    }

    @Test func thePolicyGateRefusesBeforeAnyHTTPCall() async throws {
        try await E2EStack.with { stack in
            try await stack.waitForTemplates()
            let customer = Payloads.newNumber()
            let before = try await stack.simulatorRequests()

            // A missing variable: 422 with the variable named, state blocked, no request to Meta.
            let missing = try await stack.sendTemplate(
                to: customer, name: "order_update",
                variables: ##"{"header.1":"#1","1":"Ana","3":"May 1","button.0.1":"1"}"##)
            #expect(missing.status == 422, "\(missing.body)")
            #expect(missing.json?["error"]?["code"]?.stringValue == "variables_unresolved")
            #expect(missing.json?["error"]?["message"]?.stringValue?.contains("body.2") == true)
            let blockedId = try #require(missing.json?["request_id"]?.stringValue)
            let blocked = try await stack.api(.GET, "/sends/\(blockedId)").json
            #expect(blocked?["state"]?.stringValue == "blocked")
            #expect(blocked?["blocked_reason"]?.stringValue?.hasPrefix("variables_unresolved") == true)

            // Other refusals, each precise.
            let language = try await stack.sendTemplate(to: customer, name: "order_update", language: "fr_FR")
            #expect(language.json?["error"]?["code"]?.stringValue == "template_not_found")
            #expect(language.json?["error"]?["message"]?.stringValue?.contains("en_US, pt_BR") == true)
            let paused = try await stack.sendTemplate(to: customer, name: "summer_sale", variables: #"["a","b"]"#)
            #expect(paused.json?["error"]?["code"]?.stringValue == "template_not_approved")

            // Free-form text outside the 24 h window (the customer never wrote).
            let text = try await stack.api(.POST, "/messages", body: #"{"to":"+\#(customer)","text":"oi"}"#)
            #expect(text.status == 422)
            #expect(text.json?["error"]?["code"]?.stringValue == "outside_service_window")

            // Opted out: no marketing template (a utility one still goes).
            // Meta's timestamp (now) opens the 24 h window.
            let now = Int(Date().timeIntervalSince1970)
            #expect(
                try await stack.postWebhook(
                    Payloads.notification([
                        Payloads.inboundText(
                            wamid: Payloads.newWamid(), from: customer, name: "Eva", text: "PARAR", at: now)
                    ])
                ).status == 200)
            try await eventually("contact stored") {
                try await stack.count("SELECT 1 FROM contacts WHERE wa_id = '\(customer)'") == 1
            }
            try await stack.postgres.query("UPDATE contacts SET opted_out = true WHERE wa_id = \(customer)")
            let offer =
                ##"{"header.image":"https://cdn.example.com/o.jpg","first_name":"Ana","discount":"20%","end_date":"May 31","button.1.coupon_code":"SAVE20"}"##
            let marketing = try await stack.sendTemplate(to: customer, name: "welcome_offer", variables: offer)
            #expect(marketing.status == 422)
            #expect(marketing.json?["error"]?["code"]?.stringValue == "opted_out")
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.simulatorRequests() == before, "no refused send reached the Graph API")

            // The sender re-checks: a marketing request put on the topic directly (as an
            // automation would) is blocked there too, without an HTTP call.
            let producer = try KafkaProducer(
                properties: ["bootstrap.servers": stack.env.kafkaBrokers], logger: Logger(label: "t"))
            let direct = OutboundRequest(
                requestId: "direct-\(customer)", to: customer, phoneNumberId: nil, text: nil, requestedBy: nil,
                template: OutboundTemplate(
                    name: "welcome_offer", language: "en_US",
                    variables: [
                        "header.image": "https://cdn.example.com/o.jpg", "body.first_name": "Ana",
                        "body.discount": "20%", "body.end_date": "May 31", "button.1.coupon_code": "SAVE20",
                    ]))
            try await producer.send(
                OutgoingRecord(
                    topic: stack.topicPrefix + Topics.outboundRequest, key: Array(customer.utf8),
                    value: try EventEnvelope(
                        eventId: direct.requestId, type: EventTypes.outboundRequest, occurredAt: .now, source: "test",
                        payload: direct
                    ).encoded()))
            await producer.shutdown(timeout: .seconds(5))
            let directState = try await stack.waitForSend(direct.requestId, state: "blocked")
            #expect(directState["blocked_reason"]?.stringValue?.hasPrefix("opted_out") == true)

            // Inside the window (the customer just wrote) free-form text goes, and a utility template too.
            let reply = try await stack.api(.POST, "/messages", body: #"{"to":"+\#(customer)","text":"Claro!"}"#)
            #expect(reply.status == 202, "\(reply.body)")
            try await stack.waitForSend(try #require(reply.json?["request_id"]?.stringValue), state: "sent")
            #expect(try await stack.simulatorRequests() == before + 1)
        }
    }

    @Test func errorsAreRetriedDelayedOrFailedByCode() async throws {
        try await E2EStack.with { stack in
            try await stack.waitForTemplates()
            let base = "5511977"
            let pairLimited = base + "01056"
            let other = base + "02000"
            let throttled = base + "00429"
            let serverError = base + "00503"
            let undeliverable = base + "01026"
            try await stack.setSimulatorFaults("*01056=131056x2,*00429=130429x2,*00503=http503x2,*01026=131026")

            // 131056: only that recipient waits (1 s, then 4 s); another recipient goes at once.
            let limited = try await stack.sendTemplate(to: pairLimited, name: "hello_world", key: "pair-\(stack.id)")
            #expect(limited.status == 202)
            try await eventually("the pair-limited attempt") {
                (try await stack.api(.GET, "/sends/pair-\(stack.id)").json?.attemptDecisions ?? []).first
                    == "pair rate limited"
            }
            let free = try await stack.sendTemplate(to: other, name: "hello_world", key: "free-\(stack.id)")
            #expect(free.status == 202)
            let freeState = try await stack.waitForSend("free-\(stack.id)", state: "sent")
            let limitedState = try await stack.waitForSend("pair-\(stack.id)", state: "sent")
            #expect(limitedState.attemptDecisions == ["pair rate limited", "pair rate limited", "sent"])
            let tries = limitedState["attempts"]?.arrayValue ?? []
            #expect(tries.first?["error_code"]?.doubleValue == 131056 && tries.first?["retryable"]?.boolValue == true)
            #expect(freeState.attemptDecisions == ["sent"])
            func at(_ attempt: JSONValue?) -> Date? { attempt?["at"]?.stringValue.flatMap(RFC3339.date(from:)) }
            let gaps = zip(tries.dropFirst(), tries).compactMap { pair -> Double? in
                guard let a = at(pair.0), let b = at(pair.1) else { return nil }
                return a.timeIntervalSince(b)
            }
            #expect(gaps.count == 2 && gaps[0] >= 0.9 && gaps[1] >= 3.9, "4^n back-off: \(gaps)")
            let freeSentAt = try #require(at(freeState["attempts"]?.arrayValue.first))
            let limitedSentAt = try #require(at(tries.last))
            #expect(freeSentAt < limitedSentAt, "the other recipient did not wait for the limited one")

            // 130429 twice, then accepted; 503 twice, then accepted; 131026 fails at once.
            for (to, key) in [(throttled, "t"), (serverError, "s"), (undeliverable, "u")] {
                let r = try await stack.sendTemplate(to: to, name: "hello_world", key: "\(key)-\(stack.id)")
                #expect(r.status == 202)
            }
            let t = try await stack.waitForSend("t-\(stack.id)", state: "sent")
            #expect(t.attemptDecisions == ["back off number", "back off number", "sent"])
            #expect(t["attempts"]?.arrayValue.first?["error_code"]?.doubleValue == 130429)
            let s = try await stack.waitForSend("s-\(stack.id)", state: "sent")
            #expect(s.attemptDecisions == ["retry", "retry", "sent"])
            #expect(s["attempts"]?.arrayValue.first?["http_status"]?.doubleValue == 503)
            let u = try await stack.waitForSend("u-\(stack.id)", state: "failed")
            #expect(u.attemptDecisions == ["permanent failure"])
            #expect(u["attempts"]?.arrayValue.first?["error_code"]?.doubleValue == 131026)
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.api(.GET, "/sends/u-\(stack.id)").json?.attemptDecisions.count == 1, "no retry")

            let metrics = try await HTTP.request(.GET, "\(stack.adminURL("sender"))/metrics").body
            #expect(metrics.contains(#"crm_sends_total{outcome="retrying",decision="pair rate limited"}"#))
            #expect(metrics.contains(#"crm_sends_total{outcome="failed",decision="permanent failure"}"#))
        }
    }
}
