import Foundation
import GatewayService
import Hummingbird
import HummingbirdTesting
import NormalizerService
import SimulatorService
import Synchronization
import Testing
import WireModels

/// Status plans (order, duplicates), the status webhook bodies and their signed delivery.
@Suite struct SimulatorStatusTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    static func multiset(_ plan: StatusPlan) -> [String: Int] {
        plan.steps.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
    }

    @Test func plainPlanIsSentDeliveredRead() {
        var random = Seeded(state: 1)
        let plan = StatusPlan(failure: nil, shuffle: false, duplicate: 0, using: &random)
        #expect(plan.steps.map(\.status) == ["sent", "delivered", "read"])
        #expect(plan.steps.map(\.sequence) == [0, 1, 2])
    }

    @Test(arguments: 0..<20)
    func shufflingAndDuplicatingKeepTheMultiset(seed: Int) {
        var random = Seeded(state: UInt64(seed))
        let both = StatusPlan(failure: nil, shuffle: true, duplicate: 1, using: &random)
        #expect(Self.multiset(both) == ["sent": 2, "delivered": 2, "read": 2])
        let shuffled = StatusPlan(failure: nil, shuffle: true, duplicate: 0, using: &random)
        #expect(Self.multiset(shuffled) == ["sent": 1, "delivered": 1, "read": 1])
        let failed = StatusPlan(failure: .code(131026), shuffle: true, duplicate: 1, using: &random)
        #expect(Self.multiset(failed) == ["sent": 2, "failed": 2])
        #expect(failed.steps.filter { $0.status == "failed" }.allSatisfy { $0.error?.code == 131026 })
        // Each step keeps its logical position, whatever the posting order.
        for step in both.steps { #expect(["sent": 0, "delivered": 1, "read": 2][step.status] == step.sequence) }
    }

    @Test func shufflingChangesTheOrderAndDuplicatesFollowTheirOriginal() {
        var random = Seeded(state: 42)
        let orders = Set(
            (0..<50).map { _ in
                StatusPlan(failure: nil, shuffle: true, duplicate: 0, using: &random).steps.map(\.status)
            })
        #expect(orders.count > 1)
        let doubled = StatusPlan(failure: nil, shuffle: false, duplicate: 1, using: &random)
        #expect(doubled.steps.map(\.status) == ["sent", "sent", "delivered", "delivered", "read", "read"])
        var total = 0
        for _ in 0..<200 {
            total += StatusPlan(failure: nil, shuffle: false, duplicate: 0.5, using: &random).steps.count
        }
        #expect((750...1050).contains(total), "about half of 600 statuses duplicated, got \(total - 600)")
    }

    @Test func sameSeedSamePlans() {
        let config = FaultConfig(shuffleStatuses: true, duplicateStatuses: 0.5, seed: 7)
        let a = FaultInjector(config)
        let b = FaultInjector(config)
        for _ in 0..<10 { #expect(a.statusPlan(failure: nil) == b.statusPlan(failure: nil)) }
    }

    @Test func simulatorPostsShuffledDuplicatedStatuses() async throws {
        let sim = SimHarness(faults: FaultConfig(shuffleStatuses: true, duplicateStatuses: 1, seed: 3))
        try await sim.run { client in
            #expect(try await client.sendMessage(SimulatorSendTests.text(to: "5511987654321")).status == 200)
            let statuses = try await sim.poster.statuses(count: 6)
            let counts = statuses.reduce(into: [String: Int]()) { $0[$1["status"]?.stringValue ?? "", default: 0] += 1 }
            #expect(counts == ["sent": 2, "delivered": 2, "read": 2])
            // Timestamps follow the logical order even when posting does not.
            let at = Dictionary(
                statuses.map { ($0["status"]?.stringValue ?? "", Int($0["timestamp"]?.stringValue ?? "") ?? 0) },
                uniquingKeysWith: { first, _ in first })
            #expect(at["sent"]! <= at["delivered"]! && at["delivered"]! <= at["read"]!)
        }
    }

    @Test func statusBodyIsWhatTheNormalizerReads() throws {
        let event = StatusEvent(
            wamid: "wamid.X", status: "failed", recipient: "5511987654321", phoneNumberId: "100000000000002",
            displayPhoneNumber: "15550000000", wabaId: "100000000000001", callbackData: "req-9",
            at: Date(timeIntervalSince1970: 1_800_000_000), category: "marketing", error: .code(131049))
        let body = try WebhookBody(bytes: StatusWebhook.body(event))
        let out = WebhookNormalizer().normalize(body, receivedAt: .now)
        #expect(out.problems.isEmpty)
        #expect(out.statuses.count == 1)
        let status = try #require(out.statuses.first)
        #expect(status.status == "failed")
        #expect(status.bizOpaqueCallbackData == "req-9")
        #expect(status.errors.first?.code == 131049)
        #expect(status.pricing == nil)
        #expect(status.wabaId == "100000000000001")
    }

    @Test func httpPosterSignsLikeMetaAndRetries() async throws {
        let received = Mutex<[(body: [UInt8], signature: String?)]>([])
        let failFirst = Mutex(1)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append((Array(buffer: body), request.headers[.init("X-Hub-Signature-256")!])) }
            let fail = failFirst.withLock { left in
                defer { left -= 1 }
                return left > 0
            }
            return Response(status: fail ? .serviceUnavailable : .ok)
        }
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let poster = HTTPWebhookPoster(
                url: "http://127.0.0.1:\(port)/hook", appSecret: "sim-secret", attempts: 2, backoff: .milliseconds(10))
            let body = Array(#"{"object":"whatsapp_business_account","entry":[],"text":"Olá"}"#.utf8)
            try await poster.post(body)
            let calls = received.withLock { $0 }
            #expect(calls.count == 2, "one 503, then one retry")
            for call in calls {
                #expect(call.body == body)
                try SignatureVerifier(appSecrets: ["sim-secret"]).verify(body: call.body, header: call.signature)
            }
            failFirst.withLock { $0 = 5 }
            await #expect(throws: (any Error).self) { try await poster.post(body) }
        }
    }
}
