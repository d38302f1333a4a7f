import Foundation
import Synchronization
import WireModels

/// How big a fault-matrix run is. `make test` runs `short`; `make test-faults` runs `full`.
struct FaultProfile: Sendable {
    let name: String
    let customers: Int
    let messagesPerCustomer: Int
    /// The load phase spreads its webhooks and API sends over this long.
    let loadSeconds: Double
    /// When the fault starts, after the load phase began.
    let faultAt: Duration
    /// How long it lasts (outages and Meta's errors).
    let faultFor: Duration

    static let short = FaultProfile(
        name: "short", customers: 10, messagesPerCustomer: 3, loadSeconds: 12, faultAt: .seconds(3),
        faultFor: .seconds(10))
    static let full = FaultProfile(
        name: "full", customers: 60, messagesPerCustomer: 6, loadSeconds: 40, faultAt: .seconds(8),
        faultFor: .seconds(10))

    /// `FAULT_PROFILE=full|short` (default short).
    static var current: FaultProfile {
        ProcessInfo.processInfo.environment["FAULT_PROFILE"] == "full" ? .full : .short
    }
}

/// The seeded workload every run of the matrix drives, the same for each fault: customers
/// (a third already known before the load), their messages in Meta's order (one or several per
/// webhook body), some of them asking for the menu (a workflow rule sends a template and opens
/// a task) or opting out (STOP), API sends to everyone who stays, and a campaign to the same.
struct FaultWorkload: Sendable {
    struct Customer: Sendable {
        let number: String
        let name: String
        let texts: [String]
        let known: Bool
        let optsOut: Bool
        let asksForMenu: Bool
    }

    /// One webhook body (Meta's) or one API send, due `at` seconds into the load phase.
    enum Event: Sendable {
        case webhook(body: [UInt8], messages: Int)
        case send(key: String, to: String)
    }

    let seed: UInt64
    let customers: [Customer]
    let tester: String
    let timeline: [(at: Double, event: Event)]

    var stayers: [Customer] { customers.filter { !$0.optsOut } }
    var inboundMessages: Int { customers.reduce(0) { $0 + $1.texts.count } + customers.filter(\.known).count }
    /// API sends, workflow sends, campaign sends and the campaign's test send.
    var expectedSends: Int { 2 * stayers.count + customers.filter(\.asksForMenu).count + 1 }

    init(profile: FaultProfile, seed: UInt64 = 2026_12_05) {
        self.seed = seed
        var rng = SplitMix64(seed: seed)
        var customers: [Customer] = []
        for i in 0..<profile.customers {
            let number = "55119" + String(format: "%08d", Int(rng.next() % 100_000_000))
            let optsOut = i % 5 == 3
            let asksForMenu = i % 4 == 1 && !optsOut
            var texts = (0..<profile.messagesPerCustomer).map { "message \($0 + 1) from customer \(i)" }
            if asksForMenu { texts[0] = "menu, please" }
            if optsOut { texts[texts.count - 1] = "STOP" }
            customers.append(
                Customer(
                    number: number, name: "Customer \(i)", texts: texts, known: i % 3 == 0, optsOut: optsOut,
                    asksForMenu: asksForMenu))
        }
        self.customers = customers
        tester = "55118" + String(format: "%08d", Int(rng.next() % 100_000_000))

        // Each customer's messages go out in order, one or several per body (as Meta batches
        // them), at seeded moments of the load phase; the API sends are spread the same way.
        var timeline: [(at: Double, event: Event)] = []
        for (i, c) in customers.enumerated() {
            var j = 0
            var at = Double(rng.next() % 1000) / 1000 * profile.loadSeconds / 3
            while j < c.texts.count {
                let n = min(c.texts.count - j, 1 + Int(rng.next() % 3))
                let entries = (j..<(j + n)).map { k in
                    Payloads.inboundText(
                        wamid: Self.wamid(seed: seed, customer: i, message: k), from: c.number, name: c.name,
                        text: c.texts[k], at: 1_764_900_000 + k)
                }
                timeline.append((at, .webhook(body: Payloads.notification(entries), messages: n)))
                at += Double(rng.next() % 1000) / 1000 * profile.loadSeconds / Double(c.texts.count)
                j += n
            }
            if !c.optsOut {
                let sendAt = Double(rng.next() % 1000) / 1000 * profile.loadSeconds
                timeline.append((sendAt, .send(key: "fault-matrix-\(seed)-\(i)", to: c.number)))
            }
        }
        self.timeline = timeline.sorted { $0.at < $1.at }
    }

    static func wamid(seed: UInt64, customer: Int, message: Int) -> String {
        "wamid.FM\(seed)C\(customer)M\(message)"
    }

    /// The known customers' first message, before the load (they are contacts already).
    func warmUp() -> [[UInt8]] {
        customers.enumerated().filter { $0.element.known }.map { i, c in
            Payloads.notification([
                Payloads.inboundText(
                    wamid: "wamid.FM\(seed)C\(i)W", from: c.number, name: c.name, text: "hi, it's me again",
                    at: 1_764_800_000)
            ])
        }
    }
}

/// What the load phase did: requests made (retries and duplicates included).
final class LoadCounters: Sendable {
    let webhookPosts = Atomic<Int>(0)
    let webhookRetries = Atomic<Int>(0)
    let apiCalls = Atomic<Int>(0)
    let apiRetries = Atomic<Int>(0)
    /// API sends answered with a 4xx (the run's notes show them).
    let refused = Mutex<[String]>([])
}

/// Drives the timeline against a stack the way its callers behave: Meta posts each webhook
/// until it gets a 200 (backoff doubling to 2 s; `copies` > 1 delivers it again after the
/// 200, as Meta does now and then), an API client retries a send with its idempotency key.
struct LoadDriver: Sendable {
    let workload: FaultWorkload
    let copies: Int
    /// Gateways to post to (base URLs), taken in turn like a load balancer; empty: the stack's.
    var gateways: [String] = []
    let counters = LoadCounters()
    /// A caller gives up after this long (the run then shows what was lost).
    let patience: Duration = .seconds(180)

    func run(on stack: E2EStack) async {
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for (index, (at, event)) in workload.timeline.enumerated() {
                group.addTask {
                    try? await Task.sleep(until: start + .milliseconds(Int(at * 1000)))
                    switch event {
                    case .webhook(let body, _):
                        for copy in 0..<copies {
                            if copy > 0 { try? await Task.sleep(for: .milliseconds(100 * copy)) }
                            await postLikeMeta(body, stack, turn: index + copy)
                        }
                    case .send(let key, let to):
                        await sendLikeAClient(key: key, to: to, stack)
                    }
                }
            }
        }
    }

    func postLikeMeta(_ body: [UInt8], _ stack: E2EStack, turn: Int) async {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(250)
        var turn = turn
        while ContinuousClock.now < deadline {
            counters.webhookPosts.add(1, ordering: .relaxed)
            let gateway = gateways.isEmpty ? nil : gateways[turn % gateways.count]
            turn += 1
            if (try? await stack.postWebhook(body, gateway: gateway).status) == 200 { return }
            counters.webhookRetries.add(1, ordering: .relaxed)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    func sendLikeAClient(key: String, to: String, _ stack: E2EStack) async {
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            counters.apiCalls.add(1, ordering: .relaxed)
            let answer = try? await stack.sendTemplate(to: to, name: "hello_world", key: key)
            if answer?.status == 202 { return }
            if let answer, answer.status < 500, answer.status != 429 {
                // A refusal is final for a client: record it, do not repeat it for three minutes.
                counters.refused.withLock { $0.append("\(key): \(answer.status) \(answer.body.prefix(200))") }
                return
            }
            counters.apiRetries.add(1, ordering: .relaxed)
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
