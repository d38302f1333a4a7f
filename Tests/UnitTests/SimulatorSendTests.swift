import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import SimulatorService
import Testing
import WireModels

/// `POST /{version}/{phone-number-id}/messages` against the simulator's router: Meta's
/// validation, error shape, injected faults and the status webhooks that follow.
@Suite struct SimulatorSendTests {
    static let orderUpdate = """
        {"messaging_product":"whatsapp","to":"+55 11 98765-4321","type":"template",
         "biz_opaque_callback_data":"req-1",
         "template":{"name":"order_update","language":{"code":"en_US"},"components":[
           {"type":"header","parameters":[{"type":"text","text":"#4821"}]},
           {"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#4821"},
             {"type":"date_time","date_time":{"fallback_value":"May 1, 2026"}}]},
           {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"4821"}]}]}}
        """

    static func template(_ name: String, _ language: String = "en_US", components: String = "[]") -> String {
        """
        {"messaging_product":"whatsapp","to":"5511987654321","type":"template",
         "template":{"name":"\(name)","language":{"code":"\(language)"},"components":\(components)}}
        """
    }

    static func text(to: String, _ body: String = "Olá!") -> String {
        #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"\#(to)","type":"text","#
            + #""text":{"body":"\#(body)"}}"#
    }

    static let welcomeOffer = """
        [{"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.example.com/a.jpg"}}]},
         {"type":"body","parameters":[
           {"type":"text","text":"Ana","parameter_name":"first_name"},
           {"type":"text","text":"20%","parameter_name":"discount"},
           {"type":"text","text":"May 31","parameter_name":"end_date"}]},
         {"type":"button","sub_type":"copy_code","index":"1","parameters":[{"type":"coupon_code","coupon_code":"SAVE20"}]}]
        """

    // MARK: Accepted sends

    @Test func validTemplateSendIsAcceptedAndReachesRead() async throws {
        let sim = SimHarness()
        try await sim.run { client in
            let answer = try await client.sendMessage(Self.orderUpdate)
            #expect(answer.status == 200, "\(String(describing: answer.json))")
            let contact = answer.json?["contacts"]?.arrayValue.first
            #expect(contact?["input"]?.stringValue == "+55 11 98765-4321")
            #expect(contact?["wa_id"]?.stringValue == "5511987654321")
            let message = answer.json?["messages"]?.arrayValue.first
            let wamid = try #require(message?["id"]?.stringValue)
            #expect(wamid.hasPrefix("wamid."))
            #expect(message?["message_status"]?.stringValue == "accepted")

            let statuses = try await sim.poster.statuses(count: 3)
            #expect(statuses.map { $0["status"]?.stringValue } == ["sent", "delivered", "read"])
            for status in statuses {
                #expect(status["id"]?.stringValue == wamid)
                #expect(status["recipient_id"]?.stringValue == "5511987654321")
                #expect(status["biz_opaque_callback_data"]?.stringValue == "req-1")
            }
            let sent = statuses[0]
            #expect(sent["pricing"]?["category"]?.stringValue == "utility")
            #expect(sent["pricing"]?["pricing_model"]?.stringValue == "PMP")
            #expect(sent["pricing"]?["billable"]?.boolValue == true)
            #expect(sent["conversation"]?["origin"]?["type"]?.stringValue == "utility")
            #expect(sent["conversation"]?["expiration_timestamp"]?.stringValue != nil)
            #expect(statuses[2]["pricing"] == nil)
        }
        #expect(sim.simulator.stats.snapshot.accepted == 1)
        #expect(sim.simulator.stats.snapshot.statusesPosted == ["sent": 1, "delivered": 1, "read": 1])
    }

    @Test func namedTemplateWithHeaderImageAndCopyCodeIsAccepted() async throws {
        try await SimHarness().run { client in
            let answer = try await client.sendMessage(Self.template("welcome_offer", components: Self.welcomeOffer))
            #expect(answer.status == 200, "\(String(describing: answer.json))")
        }
    }

    @Test func freeFormTextIsPricedAsService() async throws {
        let sim = SimHarness()
        try await sim.run { client in
            #expect(try await client.sendMessage(Self.text(to: "5511987654321")).status == 200)
            let sent = try await sim.poster.statuses(count: 3)[0]
            #expect(sent["pricing"]?["category"]?.stringValue == "service")
            #expect(sent["pricing"]?["billable"]?.boolValue == false)
            #expect(sent["pricing"]?["type"]?.stringValue == "free_customer_service")
        }
    }

    // MARK: Template errors

    @Test func unknownTemplateOrLanguageIs132001() async throws {
        try await SimHarness().run { client in
            let unknown = try await client.sendMessage(Self.template("no_such_template"))
            #expect(unknown.status == 404)
            #expect(unknown.code == 132001)
            let otherLanguage = try await client.sendMessage(Self.template("hello_world", "pt_BR"))
            #expect(otherLanguage.code == 132001)
            #expect(otherLanguage.details?.contains("en_US") == true)
            let rejected = try await client.sendMessage(Self.template("black_friday_blast"))
            #expect(rejected.code == 132001)
            #expect(rejected.details?.contains("REJECTED") == true)
        }
    }

    @Test func wrongParameterCountIs132000() async throws {
        try await SimHarness().run { client in
            let twoOfThree = """
                [{"type":"header","parameters":[{"type":"text","text":"#1"}]},
                 {"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#1"}]},
                 {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"1"}]}]
                """
            let body = try await client.sendMessage(Self.template("order_update", components: twoOfThree))
            #expect(body.status == 400)
            #expect(body.code == 132000)
            #expect(body.details?.hasPrefix("body:") == true)

            let noButton = """
                [{"type":"header","parameters":[{"type":"text","text":"#1"}]},
                 {"type":"body","parameters":[{"type":"text","text":"A"},{"type":"text","text":"B"},{"type":"text","text":"C"}]}]
                """
            let button = try await client.sendMessage(Self.template("order_update", components: noButton))
            #expect(button.code == 132000)
            #expect(button.details?.contains("button at index 0") == true)

            let extra = #"[{"type":"body","parameters":[{"type":"text","text":"x"}]}]"#
            #expect(try await client.sendMessage(Self.template("hello_world", components: extra)).code == 132000)
        }
    }

    @Test func pausedTemplateIs132015AndDisabledIs132016() async throws {
        try await SimHarness().run { client in
            let two = #"[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"30%"}]}]"#
            let paused = try await client.sendMessage(Self.template("summer_sale", components: two))
            #expect(paused.status == 400)
            #expect(paused.code == 132015)
            let one = #"[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]"#
            #expect(try await client.sendMessage(Self.template("legacy_promo", components: one)).code == 132016)
        }
    }

    @Test func namedTemplatesNeedParameterNames() async throws {
        try await SimHarness().run { client in
            let unnamed = Self.welcomeOffer.replacingOccurrences(of: #","parameter_name":"discount""#, with: "")
            let missing = try await client.sendMessage(Self.template("welcome_offer", components: unnamed))
            #expect(missing.code == 100)
            let renamed = Self.welcomeOffer.replacingOccurrences(of: #""discount""#, with: #""percent""#)
            #expect(try await client.sendMessage(Self.template("welcome_offer", components: renamed)).code == 132012)
        }
    }

    @Test func wrongParameterTypesAndValues() async throws {
        try await SimHarness().run { client async throws in
            let video = Self.welcomeOffer.replacingOccurrences(
                of: #"{"type":"image","image":"#, with: #"{"type":"video","video":"#)
            #expect(try await client.sendMessage(Self.template("welcome_offer", components: video)).code == 132012)
            let empty = Self.welcomeOffer.replacingOccurrences(of: #""text":"Ana""#, with: #""text":"""#)
            #expect(try await client.sendMessage(Self.template("welcome_offer", components: empty)).code == 131008)
            let newline = Self.welcomeOffer.replacingOccurrences(of: #""text":"Ana""#, with: #""text":"A\nna""#)
            #expect(try await client.sendMessage(Self.template("welcome_offer", components: newline)).code == 132018)
        }
    }

    // MARK: Request errors

    @Test func badTokenIs401Code190() async throws {
        let sim = SimHarness()
        try await sim.run { client in
            let wrong = try await client.sendMessage(Self.text(to: "5511987654321"), token: "nope")
            #expect(wrong.status == 401)
            #expect(wrong.code == 190)
            #expect(wrong.json?["error"]?["type"]?.stringValue == "OAuthException")
            #expect(wrong.json?["error"]?["fbtrace_id"]?.stringValue != nil)
            let none = try await client.sendMessage(Self.text(to: "5511987654321"), token: nil)
            #expect(none.code == 190)
        }
        #expect(sim.simulator.stats.snapshot.rejected == ["190": 2])
    }

    @Test func requestShapeErrors() async throws {
        try await SimHarness().run { client in
            #expect(try await client.sendMessage(#"{"to":"5511987654321","text":{"body":"x"}}"#).code == 100)
            #expect(try await client.sendMessage(Self.text(to: "abc")).code == 100)
            let noBody = #"{"messaging_product":"whatsapp","to":"5511987654321","type":"text","text":{}}"#
            let missing = try await client.sendMessage(noBody)
            #expect(missing.code == 100)
            #expect(missing.json?["error"]?["message"]?.stringValue == "(#100) The parameter text['body'] is required.")
            let long = try await client.sendMessage(Self.text(to: "5511987654321", String(repeating: "a", count: 4097)))
            #expect(long.code == 100)
            #expect(
                try await client.sendMessage(Self.text(to: "5511987654321", String(repeating: "a", count: 4096))).status
                    == 200)
            let poll = #"{"messaging_product":"whatsapp","to":"5511987654321","type":"poll","poll":{}}"#
            #expect(try await client.sendMessage(poll).code == 131051)
            let image =
                #"{"messaging_product":"whatsapp","to":"5511987654321","type":"image","#
                + #""image":{"link":"https://x/a.png"}}"#
            #expect(try await client.sendMessage(image).status == 200)
            let bare = #"{"messaging_product":"whatsapp","to":"5511987654321","type":"image","image":{}}"#
            #expect(try await client.sendMessage(bare).code == 100)
            let phone = try await client.sendMessage(Self.text(to: "5511987654321"), phoneNumberId: "not-a-number")
            #expect(phone.code == 100)
        }
    }

    // MARK: Injected faults

    @Test func patternInjected131047AtSendTime() async throws {
        let sim = SimHarness(faults: try FaultSpec.parse("*0047=131047"))
        try await sim.run { client in
            let refused = try await client.sendMessage(Self.text(to: "+5511900000047"))
            #expect(refused.status == 400)
            #expect(refused.code == 131047)
            #expect(refused.json?["error"]?["message"]?.stringValue == "(#131047) Re-engagement message")
            #expect(refused.details?.contains("24 hours") == true)
            // Deterministic: the same recipient is refused again, others are not.
            #expect(try await client.sendMessage(Self.text(to: "5511900000047")).code == 131047)
            #expect(try await client.sendMessage(Self.text(to: "5511900000048")).status == 200)
        }
        #expect(sim.simulator.stats.snapshot.rejected == ["131047": 2])
        #expect(sim.simulator.stats.snapshot.faultsInjected == ["131047": 2])
    }

    @Test func patternInjected131026FailsTheStatus() async throws {
        let sim = SimHarness(faults: try FaultSpec.parse("demo"))
        try await sim.run { client in
            let answer = try await client.sendMessage(Self.text(to: "5511900000001"))
            #expect(answer.status == 200)
            let statuses = try await sim.poster.statuses(count: 2)
            #expect(statuses.map { $0["status"]?.stringValue } == ["sent", "failed"])
            let error = statuses[1]["errors"]?.arrayValue.first
            #expect(error?["code"]?.doubleValue == 131026)
            #expect(error?["title"]?.stringValue == "Message undeliverable")
            #expect(error?["error_data"]?["details"]?.stringValue != nil)
        }
    }

    @Test func pairRateFaultLimitedToTheFirstSend() async throws {
        try await SimHarness(faults: try FaultSpec.parse("demo")).run { client in
            let first = try await client.sendMessage(Self.text(to: "5511900000056"))
            #expect(first.code == 131056)
            #expect(try await client.sendMessage(Self.text(to: "5511900000056")).status == 200)
            #expect(try await client.sendMessage(Self.text(to: "5511900010056")).code == 131056)
        }
    }

    @Test func runtimeFaultEndpointChangesBehaviour() async throws {
        try await SimHarness().run { client in
            #expect(try await client.sendMessage(Self.text(to: "5511900000047")).status == 200)
            let set = try await client.call(.post, "/_sim/faults", body: "*0047=131047,~1=http503@send")
            #expect(set.status == 200)
            #expect(set.json?["rules"]?.arrayValue.count == 1)
            #expect(try await client.sendMessage(Self.text(to: "5511900000047")).code == 131047)
            let server = try await client.sendMessage(Self.text(to: "5511900000048"))
            #expect(server.status == 503)
            #expect(server.code == 2)

            let json = #"{"rules":[{"match":"5511*","code":130429,"times":1}]}"#
            #expect(try await client.call(.post, "/_sim/faults", body: json).status == 200)
            #expect(try await client.sendMessage(Self.text(to: "5511900000048")).code == 130429)
            #expect(try await client.sendMessage(Self.text(to: "5511900000048")).status == 200)

            #expect(try await client.call(.post, "/_sim/faults", body: "*00x=1").status == 400)
            #expect(try await client.call(.delete, "/_sim/faults").status == 200)
            #expect(try await client.sendMessage(Self.text(to: "5511900000047")).status == 200)
        }
    }

    @Test func delayFaultAnswersLate() async throws {
        try await SimHarness(faults: try FaultSpec.parse("*0099=delay300")).run { client async throws in
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await client.sendMessage(Self.text(to: "5511900000099")).status == 200)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }
}

// MARK: - Test support shared by the Simulator*Tests files

/// A simulator for tests: status webhooks go to a recorder (no HTTP), without delay.
struct SimHarness {
    static let token = "sim-test-token"
    static let phoneNumberId = "100000000000002"
    let simulator: CloudAPISimulator
    let poster: SimRecordingPoster

    init(mps: Double = 0, faults: FaultConfig = FaultConfig(), webhooks: Bool = true) {
        let poster = SimRecordingPoster()
        let settings = CloudAPISimulator.Settings(
            accessToken: Self.token, appSecret: "sim-secret", webhookURL: webhooks ? "http://127.0.0.1:1/" : nil,
            wabaId: "100000000000001", statusDelay: .zero, mps: mps, faults: faults)
        var logger = Logger(label: "wa-simulator-test")
        logger.logLevel = .critical
        simulator = CloudAPISimulator(settings: settings, logger: logger, poster: webhooks ? poster : nil)
        self.poster = poster
    }

    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: simulator.buildRouter(registry: PrometheusCollectorRegistry()))
        try await app.test(.router, test)
    }
}

struct SimAnswer {
    var status: Int
    var json: JSONValue?
    var code: Int? { json?["error"]?["code"]?.doubleValue.map { Int($0) } }
    var details: String? { json?["error"]?["error_data"]?["details"]?.stringValue }
}

extension TestClientProtocol {
    func sendMessage(
        _ body: String, token: String? = SimHarness.token, phoneNumberId: String = SimHarness.phoneNumberId
    ) async throws -> SimAnswer {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await call(.post, "/v21.0/\(phoneNumberId)/messages", headers: headers, body: body)
    }

    func call(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil
    ) async throws -> SimAnswer {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            SimAnswer(status: Int($0.status.code), json: try? JSONDecoder().decode(JSONValue.self, from: $0.body))
        }
    }
}

/// Records webhook bodies instead of posting them.
actor SimRecordingPoster: WebhookPoster {
    private(set) var bodies: [[UInt8]] = []

    func post(_ body: [UInt8]) async throws {
        bodies.append(body)
    }

    /// The first `count` bodies as JSON, waiting up to `timeout` for them.
    func json(count: Int, timeout: Duration = .seconds(5)) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        while bodies.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try #require(bodies.count >= count, "expected \(count) webhooks, got \(bodies.count)")
        return try bodies.map { try JSONDecoder().decode(JSONValue.self, from: Data($0)) }
    }

    /// `statuses[0]` of each recorded status webhook.
    func statuses(count: Int) async throws -> [JSONValue] {
        try await json(count: count).compactMap(Self.firstValue).compactMap { $0["statuses"]?.arrayValue.first }
    }

    static func firstValue(_ body: JSONValue) -> JSONValue? {
        body["entry"]?.arrayValue.first?["changes"]?.arrayValue.first?["value"]
    }
}
