import Foundation
import NormalizerService
import ServiceKit
import SimulatorService
import Testing
import WireModels

/// Inbound load mode, stats, and the simulator's settings from its environment.
@Suite struct SimulatorInboundTests {
    @Test func inboundLoadPostsMessagesFromSimulatedCustomers() async throws {
        let sim = SimHarness(mps: 80)
        try await sim.run { client in
            let load = #"{"count":6,"rate":2000,"customers":2,"text":"Oi {n}","wait":true}"#
            let answer = try await client.call(.post, "/_sim/inbound", body: load)
            #expect(answer.status == 200)
            #expect(answer.json?["posted"]?.doubleValue == 6)
            #expect(answer.json?["failed"]?.doubleValue == 0)
            let bodies = try await sim.poster.json(count: 6)
            var senders: Set<String> = []
            var texts: Set<String> = []
            for body in bodies {
                let out = WebhookNormalizer().normalize(
                    try WebhookBody(bytes: Array(try JSONCoding.encoder().encode(body))), receivedAt: .now)
                #expect(out.problems.isEmpty)
                let message = try #require(out.messages.first)
                #expect(message.type == "text")
                #expect(message.phoneNumberId == SimHarness.phoneNumberId)
                senders.insert(message.waId ?? "")
                texts.insert(message.text ?? "")
            }
            #expect(senders == ["5511990000000", "5511990000001"])
            #expect(texts == Set((1...6).map { "Oi \($0)" }))
            let stats = try await client.call(.get, "/_sim/stats")
            #expect(stats.json?["inbound_posted"]?.doubleValue == 6)
        }
    }

    @Test func inboundLoadIsPacedAndRefusedWithoutAReceiver() async throws {
        try await SimHarness().run { client in
            let clock = ContinuousClock()
            let start = clock.now
            let answer = try await client.call(.post, "/_sim/inbound", body: #"{"count":5,"rate":20,"wait":true}"#)
            #expect(answer.json?["posted"]?.doubleValue == 5)
            #expect(clock.now - start >= .milliseconds(190), "5 messages at 20/s take 200 ms")
            #expect(try await client.call(.post, "/_sim/inbound", body: #"{"count":0}"#).status == 400)
            #expect(try await client.call(.post, "/_sim/inbound", body: "not json").status == 400)
            let background = try await client.call(.post, "/_sim/inbound", body: #"{"count":1}"#)
            #expect(background.status == 202)
        }
        try await SimHarness(webhooks: false).run { client async throws in
            #expect(try await client.call(.post, "/_sim/inbound", body: #"{"count":1}"#).status == 409)
        }
    }

    @Test func statsCountAndReset() async throws {
        let sim = SimHarness(faults: try FaultSpec.parse("*0047=131047"))
        try await sim.run { client in
            _ = try await client.sendMessage(SimulatorSendTests.text(to: "5511987654321"))
            _ = try await client.sendMessage(SimulatorSendTests.text(to: "5511900000047"))
            _ = try await client.sendMessage(SimulatorSendTests.template("no_such_template"))
            _ = try await sim.poster.json(count: 3)
            let stats = try await client.call(.get, "/_sim/stats")
            #expect(stats.json?["accepted"]?.doubleValue == 1)
            #expect(stats.json?["rejected"]?["131047"]?.doubleValue == 1)
            #expect(stats.json?["rejected"]?["132001"]?.doubleValue == 1)
            #expect(stats.json?["rejected_total"]?.doubleValue == 2)
            #expect(stats.json?["faults_injected"]?["131047"]?.doubleValue == 1)
            #expect(try await client.call(.post, "/_sim/stats/reset").json?["accepted"]?.doubleValue == 0)
            #expect(try await client.call(.get, "/metrics").status == 200)
        }
    }

    // MARK: Settings

    static func settings(_ env: [String: String]) throws -> CloudAPISimulator.Settings {
        let config = try ServiceConfig(service: "wa-simulator", defaultAdminPort: 8090, environment: env)
        return try CloudAPISimulator.Settings.from(config: config, environment: env)
    }

    @Test func defaultsMatchWhatMakeRunAndTheTestsExpect() throws {
        let settings = try Self.settings([:])
        #expect(settings.accessToken == "dev-access-token")
        #expect(settings.webhookURL == nil)
        #expect(settings.statusDelay == .milliseconds(200))
        #expect(settings.mps == 80)
        #expect(settings.faults == FaultConfig())
        #expect(settings.templates.templates.count == TemplateCatalog.bundledCatalog.templates.count)
        #expect(try Self.settings(["SIMULATOR_WEBHOOK_URL": ""]).webhookURL == nil)
    }

    @Test func environmentSetsEverything() throws {
        let settings = try Self.settings([
            "WHATSAPP_ACCESS_TOKEN": "t", "SIMULATOR_WEBHOOK_URL": "http://gw/webhooks/whatsapp",
            "SIMULATOR_STATUS_DELAY_MS": "5", "SIMULATOR_MPS": "1000", "SIMULATOR_FAULTS": "demo,~0.1=130429",
            "SIMULATOR_SHUFFLE_STATUSES": "true", "SIMULATOR_DUPLICATE_STATUSES": "0.25", "SIMULATOR_SEED": "9",
        ])
        #expect(settings.accessToken == "t")
        #expect(settings.webhookURL == "http://gw/webhooks/whatsapp")
        #expect(settings.statusDelay == .milliseconds(5))
        #expect(settings.mps == 1000)
        #expect(settings.faults.rules.map(\.match) == ["*0001", "*0047", "*0056"])
        #expect(settings.faults.rules[0].action == FaultAction(code: 131026, at: .status))
        #expect(settings.faults.rules[2].times == 1)
        #expect(settings.faults.rates == [RateFault(fraction: 0.1, action: FaultAction(code: 130429))])
        #expect(settings.faults.shuffleStatuses)
        #expect(settings.faults.duplicateStatuses == 0.25)
        #expect(settings.faults.seed == 9)
        #expect(try Self.settings(["SIMULATOR_DUPLICATE_STATUSES": "true"]).faults.duplicateStatuses == 1)
    }

    @Test(arguments: [
        ["SIMULATOR_MPS": "fast"], ["SIMULATOR_STATUS_DELAY_MS": "-1"], ["SIMULATOR_FAULTS": "0047"],
        ["SIMULATOR_FAULTS": "*0047=oops"], ["SIMULATOR_FAULTS": "~0.7=130429,~0.7=131000"],
        ["SIMULATOR_FAULTS": "*0001=delay5@status"], ["SIMULATOR_FAULTS": #"{"rules":[{"match":"*1"}]}"#],
        ["SIMULATOR_SHUFFLE_STATUSES": "maybe"], ["SIMULATOR_DUPLICATE_STATUSES": "2"], ["SIMULATOR_SEED": "x"],
        ["SIMULATOR_TEMPLATES_FILE": "/nonexistent.json"],
    ])
    func badSettingsAreRefusedAtStart(env: [String: String]) {
        #expect(throws: (any Error).self) { try Self.settings(env) }
    }
}
