import Foundation
import SimulatorService
import Testing
import WireModels

/// Fault configuration (compact and JSON forms) and the injector's decisions.
@Suite struct SimulatorFaultTests {
    @Test func compactSpecParses() throws {
        let config = try FaultSpec.parse(
            "*0001=131026@status, 5511?????0056=131056x2 ,~0.05=130429,~0.01=http503,~0.01=timeout")
        #expect(
            config.rules == [
                FaultRule(match: "*0001", action: FaultAction(code: 131026, at: .status)),
                FaultRule(match: "5511?????0056", times: 2, action: FaultAction(code: 131056)),
            ])
        #expect(
            config.rates == [
                RateFault(fraction: 0.05, action: FaultAction(code: 130429)),
                RateFault(fraction: 0.01, action: FaultAction(httpStatus: 503)),
                RateFault(fraction: 0.01, action: FaultAction(delayMs: 60_000)),
            ])
        let combined = try FaultSpec.parse("*9=delay2000+131000")
        #expect(combined.rules.first?.action == FaultAction(code: 131000, delayMs: 2000))
    }

    @Test func jsonFormRoundTrips() throws {
        let config = FaultConfig(
            rules: [FaultRule(match: "*0001", times: 3, action: FaultAction(code: 131026, at: .status))],
            rates: [RateFault(fraction: 0.5, action: FaultAction(httpStatus: 500, delayMs: 10))],
            shuffleStatuses: true, duplicateStatuses: 0.5, seed: 11)
        let json = String(decoding: try JSONCoding.encoder().encode(config), as: UTF8.self)
        #expect(json.contains(#""http_status":500"#))
        #expect(try FaultSpec.parse(json) == config)
    }

    @Test func rulesAreDeterministicAndCountedPerRecipient() {
        let injector = FaultInjector(try! FaultSpec.parse("*0056=131056x2,*6=131000"))
        #expect(injector.decide(recipient: "5511900000056").error?.code == 131056)
        #expect(injector.decide(recipient: "5511900000056").error?.code == 131056)
        // The limited rule is used up for this recipient; the next matching rule applies.
        #expect(injector.decide(recipient: "5511900000056").error?.code == 131000)
        #expect(injector.decide(recipient: "5511900010056").error?.code == 131056)
        #expect(injector.decide(recipient: "5511900000057") == .none)
    }

    @Test func ratesFollowTheSeedAndTheFraction() {
        let config = FaultConfig(rates: [RateFault(fraction: 0.2, action: FaultAction(code: 131000))], seed: 5)
        let a = FaultInjector(config)
        let b = FaultInjector(config)
        let first = (0..<1000).map { _ in a.decide(recipient: "5511987654321").error?.code }
        let second = (0..<1000).map { _ in b.decide(recipient: "5511987654321").error?.code }
        #expect(first == second)
        let faulted = first.compactMap { $0 }.count
        #expect((140...260).contains(faulted), "about 20 % of 1000, got \(faulted)")
    }

    @Test func actionsBecomeMetaErrors() {
        let server = FaultInjector(
            try! FaultSpec.parse("*1=http500,*2=http503,*3=130429,*4=131026@status,*5=http429"))
        #expect(server.decide(recipient: "5511900000001").error.map { [$0.httpStatus, $0.code] } == [500, 1])
        #expect(server.decide(recipient: "5511900000002").error.map { [$0.httpStatus, $0.code] } == [503, 2])
        // A bare 4xx keeps its status: a 429 is answered as one (code 1), not as a 400.
        #expect(server.decide(recipient: "5511900000005").error.map { [$0.httpStatus, $0.code] } == [429, 1])
        let throttled = server.decide(recipient: "5511900000003").error
        #expect(throttled?.message == "(#130429) Rate limit hit")
        let failed = server.decide(recipient: "5511900000004")
        #expect(failed.error == nil)
        #expect(failed.failStatus?.code == 131026)
        #expect(failed.label == "131026")
    }

    @Test func graphErrorBodyHasMetasShape() throws {
        let body = GraphError.code(131047).responseBody
        let error = try #require(body["error"])
        #expect(error["message"]?.stringValue == "(#131047) Re-engagement message")
        #expect(error["type"]?.stringValue == "OAuthException")
        #expect(error["code"]?.doubleValue == 131047)
        #expect(error["error_data"]?["messaging_product"]?.stringValue == "whatsapp")
        #expect(error["error_data"]?["details"]?.stringValue?.isEmpty == false)
        #expect(error["fbtrace_id"]?.stringValue?.count == 23)
    }
}
