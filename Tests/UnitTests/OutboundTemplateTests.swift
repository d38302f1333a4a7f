import CRMCore
import Foundation
import HummingbirdTesting
import Outbound
import SimulatorService
import Testing
import WireModels

/// Template variables, mappings and the components we build, checked against the simulator's
/// Meta-like validation of every approved template in the fixture.
@Suite struct OutboundTemplateTests {
    static func catalog() throws -> [TemplateRecord] {
        let raw = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: SimulatorTemplateTests.fixture))
        return raw["data"]?.arrayValue.compactMap { TemplateRecord(meta: $0, wabaId: "100000000000001") } ?? []
    }

    static func template(_ name: String, _ language: String = "en_US") throws -> TemplateRecord {
        try #require(try catalog().first { $0.name == name && $0.language == language })
    }

    @Test func variablesAreFoundInHeaderBodyAndButtons() throws {
        #expect(
            try Self.template("order_update").variables.map(\.id) == [
                "header.1", "body.1", "body.2", "body.3", "button.0.1",
            ])
        let offer = try Self.template("welcome_offer")
        #expect(
            offer.variables.map(\.id) == [
                "header.image", "body.first_name", "body.discount", "body.end_date", "button.1.coupon_code",
            ])
        #expect(offer.variables.first?.kind == .image)
        #expect(offer.variables.first { $0.id == "body.discount" }?.example == "20%")
        #expect(try Self.template("hello_world").variables.isEmpty)
        #expect(TemplateVariables.placeholders(in: "{{2}} {{1}} {{ 2 }}") == ["2", "1"])
    }

    /// Every APPROVED template, filled with plausible values, is accepted by the simulator,
    /// which validates counts, names and types like Meta.
    @Test func builtComponentsPassTheSimulatorsValidation() async throws {
        let templates = try Self.catalog().filter { $0.status == "APPROVED" }
        #expect(templates.count >= 6)
        try await SimHarness(webhooks: false).run { client in
            for template in templates {
                var values: [String: String] = [:]
                for v in template.variables {
                    switch v.kind {
                    case .image, .video, .document: values[v.id] = "https://cdn.example.com/file"
                    case .location: values[v.id] = "-23.5,-46.6"
                    case .couponCode: values[v.id] = "SAVE20"
                    case .text: values[v.id] = v.example ?? "x"
                    }
                }
                #expect(template.missing(in: values).isEmpty)
                let body = JSONValue.object([
                    "messaging_product": .string("whatsapp"), "to": .string("5511987650001"),
                    "type": .string("template"),
                    "template": .object([
                        "name": .string(template.name), "language": .object(["code": .string(template.language)]),
                        "components": .array(TemplateComponents.build(template, values: values)),
                    ]),
                ])
                let answer = try await client.sendMessage(
                    String(decoding: try JSONCoding.encoder().encode(body), as: UTF8.self))
                #expect(
                    answer.status == 200, "\(template.name)/\(template.language): \(answer.json.map { "\($0)" } ?? "")")
            }
        }
    }

    @Test func renderFillsTheTextARecipientReads() throws {
        let t = try Self.template("order_update")
        let r = TemplateComponents.render(
            t, values: ["header.1": "#9", "body.1": "Ana", "body.2": "#9", "body.3": "May 2", "button.0.1": "9"])
        #expect(r.header == "Order #9")
        #expect(r.body == "Hi Ana, your order #9 ships on May 2. Track it with the button below.")
        #expect(r.buttons.first == "Track order → https://shop.example.com/track/9")
    }

    @Test func mappingValidationListsEveryProblem() throws {
        let t = try Self.template("welcome_offer")
        let bad = TemplateMapping(variables: [
            "header.image": .init(source: "contact", field: "name"),
            "body.first_name": .init(source: "contact", field: "shoe_size"),
            "body.discount": .init(source: "literal", value: ""),
            "body.nope": .init(source: "literal", value: "x"),
            "button.1.coupon_code": .init(source: "literal", value: "THIS-CODE-IS-TOO-LONG"),
        ])
        let problems = bad.problems(for: t)
        #expect(problems.contains { $0.hasPrefix("body.nope: not a variable") })
        #expect(problems.contains { $0.hasPrefix("header.image: a image variable cannot take") })
        #expect(problems.contains { $0.hasPrefix("body.first_name: contact field must be one of") })
        #expect(problems.contains { $0.hasPrefix("body.discount: literal value required") })
        #expect(problems.contains { $0.hasPrefix("body.end_date: not mapped") })
        #expect(problems.contains { $0.hasPrefix("button.1.coupon_code: a coupon code") })
        #expect(problems.count == 6)

        let good = TemplateMapping(variables: [
            "header.image": .init(source: "literal", value: "https://cdn.example.com/o.jpg"),
            "body.first_name": .init(source: "contact", field: "name"),
            "body.discount": .init(source: "campaign", field: "discount"),
            "body.end_date": .init(source: "literal", value: "May 31"),
            "button.1.coupon_code": .init(source: "literal", value: "SAVE20"),
        ])
        #expect(good.problems(for: t).isEmpty)
        #expect(
            TemplateComponents.render(t, values: good.previewValues(for: t)).body
                == "Hi {contact.name}, enjoy {campaign.discount} off your next order until May 31.")
        let values = good.resolve(for: t, contact: ["name": "Ana"], lead: [:], columns: ["discount": "15%"])
        #expect(values["body.first_name"] == "Ana" && values["body.discount"] == "15%")
        #expect(good.resolve(for: t, contact: [:], lead: [:], columns: [:])["body.first_name"] == nil)
    }
}

/// The policy gate's decisions and the error table.
@Suite struct OutboundPolicyTests {
    func request(text: String? = nil, template: OutboundTemplate? = nil, test: Bool = false) -> OutboundRequest {
        OutboundRequest(
            requestId: "r1", to: "5511987650001", phoneNumberId: nil, text: text, requestedBy: nil, test: test,
            template: template)
    }

    func code(_ result: Result<SendPlan, Refusal>) -> String? {
        if case .failure(let r) = result { return r.code }
        return nil
    }

    @Test func refusalsArePrecise() throws {
        let order = try OutboundTemplateTests.template("order_update")
        let offer = try OutboundTemplateTests.template("welcome_offer")
        let paused = try #require(try OutboundTemplateTests.catalog().first { $0.name == "summer_sale" })
        var fresh = Recipient(waId: "5511987650001")
        fresh.lastInboundAt = Date().addingTimeInterval(-3600)
        var stale = fresh
        stale.lastInboundAt = Date().addingTimeInterval(-25 * 3600)
        var optedOut = fresh
        optedOut.optedOut = true
        let full = ["header.1": "#1", "body.1": "Ana", "body.2": "#1", "body.3": "May 1", "button.0.1": "1"]
        let offerValues = [
            "header.image": "https://x.example/i.jpg", "body.first_name": "Ana", "body.discount": "5%",
            "body.end_date": "May", "button.1.coupon_code": "C",
        ]

        #expect(code(PolicyGate.evaluate(request(text: "hi"), recipient: fresh, template: nil)) == nil)
        #expect(
            code(PolicyGate.evaluate(request(text: "hi"), recipient: stale, template: nil)) == "outside_service_window")
        #expect(
            code(PolicyGate.evaluate(request(text: "hi"), recipient: Recipient(waId: "1"), template: nil))
                == "outside_service_window")
        #expect(
            code(PolicyGate.evaluate(request(text: "hi", test: true), recipient: fresh, template: nil))
                == "not_a_test_recipient")
        let t = OutboundTemplate(name: "order_update", language: "en_US", variables: full)
        #expect(code(PolicyGate.evaluate(request(template: t), recipient: stale, template: order)) == nil)
        var partial = t
        partial.variables["body.2"] = nil
        guard
            case .failure(let missing) = PolicyGate.evaluate(
                request(template: partial), recipient: stale, template: order)
        else {
            Issue.record("missing variable must be refused")
            return
        }
        #expect(missing.code == "variables_unresolved" && missing.message.contains("body.2"))
        let sale = OutboundTemplate(name: "summer_sale", language: "en_US", variables: ["body.1": "a", "body.2": "b"])
        #expect(
            code(PolicyGate.evaluate(request(template: sale), recipient: fresh, template: paused))
                == "template_not_approved")
        let promo = OutboundTemplate(name: "welcome_offer", language: "en_US", variables: offerValues)
        #expect(
            code(PolicyGate.evaluate(request(template: promo), recipient: optedOut, template: offer)) == "opted_out")
        #expect(code(PolicyGate.evaluate(request(template: promo), recipient: fresh, template: offer)) == nil)
        // Opted out still gets utility templates (order updates).
        #expect(code(PolicyGate.evaluate(request(template: t), recipient: optedOut, template: order)) == nil)
        #expect(
            code(PolicyGate.evaluate(request(template: t), recipient: fresh, template: nil)) == "template_not_found")
    }

    @Test func errorCodesFollowTheTable() {
        #expect(ErrorPolicy.decide(code: 130429, httpStatus: 400) == .backOffNumber(pause: 1, maxAttempts: 10))
        #expect(ErrorPolicy.decide(code: 131056, httpStatus: 400) == .pairLimited)
        #expect(ErrorPolicy.decide(code: 131026, httpStatus: 400) == .permanent)
        #expect(ErrorPolicy.decide(code: 131047, httpStatus: 400) == .permanent)
        #expect(ErrorPolicy.decide(code: 2, httpStatus: 503) == .retry(maxAttempts: 6))
        #expect(ErrorPolicy.decide(code: 99999, httpStatus: 502) == .retry(maxAttempts: 6))
        #expect(ErrorPolicy.decide(code: 99999, httpStatus: 400) == .permanent)
        #expect(ErrorPolicy.decide(code: nil, httpStatus: nil) == .retry(maxAttempts: 6))
        #expect(ErrorPolicy.decide(code: 190, httpStatus: 401) == .refreshAndAlert(pause: 30))
        #expect(ErrorPolicy.decide(code: 131031, httpStatus: 400) == .haltNumber(pause: 3600))
        #expect(ErrorPolicy.decide(code: 1, httpStatus: 400) == .retry(maxAttempts: 3))
        // A 429 is a throttle even with a generic or unknown code.
        #expect(ErrorPolicy.decide(code: 1, httpStatus: 429) == .backOffNumber(pause: 1, maxAttempts: 10))
        #expect(ErrorPolicy.decide(code: 99999, httpStatus: 429) == .backOffNumber(pause: 1, maxAttempts: 10))
        #expect(ErrorPolicy.decide(code: 131056, httpStatus: 429) == .pairLimited)
        #expect(ErrorPolicy.pairBackoff(hits: 0) == 1 && ErrorPolicy.pairBackoff(hits: 2) == 16)
        for attempt in 1...12 {
            let b = ErrorPolicy.backoff(attempt: attempt)
            let base = min(300, pow(2, Double(attempt - 1)))
            #expect(b >= base * 0.8 && b <= base * 1.2)
        }
    }
}
