import Foundation
import WireModels

/// `POST /_sim/inbound`: how much inbound traffic to simulate.
public struct InboundLoadRequest: Codable, Sendable, Equatable {
    /// Messages to post (1…1,000,000).
    public var count: Int
    /// Messages per second (> 0, at most 50,000).
    public var rate: Double
    /// Message text; `{n}` is replaced by the message's number (1…count).
    public var text: String
    /// Distinct simulated customers, used round-robin (default: min(count, 1000)).
    public var customers: Int?
    /// The business number the messages are addressed to (default WHATSAPP_PHONE_NUMBER_ID).
    public var phoneNumberId: String?
    /// Customers' numbers: this prefix + a zero-padded customer number (13 digits in all).
    public var fromPrefix: String
    /// Webhooks in flight at once.
    public var concurrency: Int
    /// Answer when all are posted (200 with the result) instead of at once (202).
    public var wait: Bool

    public init(
        count: Int = 1, rate: Double = 10, text: String = "Olá! Quero saber mais sobre os planos. ({n})",
        customers: Int? = nil, phoneNumberId: String? = nil, fromPrefix: String = "5511990", concurrency: Int = 32,
        wait: Bool = false
    ) {
        self.count = count
        self.rate = rate
        self.text = text
        self.customers = customers
        self.phoneNumberId = phoneNumberId
        self.fromPrefix = fromPrefix
        self.concurrency = concurrency
        self.wait = wait
    }

    enum CodingKeys: String, CodingKey {
        case count, rate, text, customers, concurrency, wait
        case phoneNumberId = "phone_number_id"
        case fromPrefix = "from_prefix"
    }

    public init(from decoder: any Decoder) throws {
        let defaults = InboundLoadRequest()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? defaults.count
        rate = try c.decodeIfPresent(Double.self, forKey: .rate) ?? defaults.rate
        text = try c.decodeIfPresent(String.self, forKey: .text) ?? defaults.text
        customers = try c.decodeIfPresent(Int.self, forKey: .customers)
        phoneNumberId = try c.decodeIfPresent(String.self, forKey: .phoneNumberId)
        fromPrefix = try c.decodeIfPresent(String.self, forKey: .fromPrefix) ?? defaults.fromPrefix
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? defaults.concurrency
        wait = try c.decodeIfPresent(Bool.self, forKey: .wait) ?? defaults.wait
    }

    /// Nil when usable, else what is wrong.
    public var problem: String? {
        if !(1...1_000_000).contains(count) { return "count must be in 1...1000000" }
        if !(rate > 0 && rate <= 50_000) { return "rate must be > 0 and at most 50000 per second" }
        if let customers, customers < 1 { return "customers must be at least 1" }
        if !(1...1024).contains(concurrency) { return "concurrency must be in 1...1024" }
        if fromPrefix.isEmpty || fromPrefix.count > 11 || !fromPrefix.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return "from_prefix must be 1 to 11 digits"
        }
        if let phoneNumberId, phoneNumberId.isEmpty || !phoneNumberId.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return "phone_number_id must be digits"
        }
        return nil
    }

    /// The wa_id of customer `index` (0-based).
    func customer(_ index: Int) -> String {
        let digits = String(index)
        let width = max(digits.count, 13 - fromPrefix.count)
        return fromPrefix + String(repeating: "0", count: width - digits.count) + digits
    }
}

public struct InboundLoadResult: Codable, Sendable, Equatable {
    public var posted: Int
    public var failed: Int
    public var seconds: Double
}

/// Posts inbound-message webhooks from simulated customers at a steady rate, signed like
/// Meta's, to the gateway; each message takes a token from its business number's mps bucket.
struct InboundLoadGenerator: Sendable {
    let simulator: CloudAPISimulator
    let poster: any WebhookPoster

    func run(_ request: InboundLoadRequest) async -> InboundLoadResult {
        let clock = ContinuousClock()
        let start = clock.now
        let phoneNumberId = request.phoneNumberId ?? simulator.settings.phoneNumberId
        let customers = request.customers ?? min(request.count, 1000)
        var posted = 0
        var failed = 0
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            for index in 0..<request.count {
                let due = start + .seconds(Double(index) / request.rate)
                if due > clock.now { try? await Task.sleep(until: due, clock: clock) }
                if inFlight >= request.concurrency, let ok = await group.next() {
                    inFlight -= 1
                    if ok { posted += 1 } else { failed += 1 }
                }
                let customer = request.customer(index % customers)
                simulator.limiter.consumeInbound(phoneNumberId)
                let body = InboundWebhook.body(
                    wabaId: simulator.settings.wabaId, phoneNumberId: phoneNumberId,
                    displayPhoneNumber: simulator.settings.displayPhoneNumber, from: customer,
                    name: "Cliente \(index % customers + 1)",
                    text: request.text.replacingOccurrences(of: "{n}", with: String(index + 1)), at: Date())
                group.addTask {
                    let ok = (try? await poster.post(body)) != nil
                    simulator.stats.inbound(posted: ok)
                    return ok
                }
                inFlight += 1
            }
            for await ok in group {
                if ok { posted += 1 } else { failed += 1 }
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return InboundLoadResult(posted: posted, failed: failed, seconds: seconds)
    }
}

/// An inbound text message notification in Meta's shape.
enum InboundWebhook {
    static func body(
        wabaId: String, phoneNumberId: String, displayPhoneNumber: String, from: String, name: String, text: String,
        at: Date
    ) -> [UInt8] {
        let wamid = "wamid.SIM" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let value = StatusWebhook.envelope(
            wabaId: wabaId,
            value: [
                "messaging_product": .string("whatsapp"),
                "metadata": .object([
                    "display_phone_number": .string(displayPhoneNumber), "phone_number_id": .string(phoneNumberId),
                ]),
                "contacts": .array([.object(["profile": .object(["name": .string(name)]), "wa_id": .string(from)])]),
                "messages": .array([
                    .object([
                        "from": .string(from), "id": .string(wamid),
                        "timestamp": .string(String(Int(at.timeIntervalSince1970))), "type": .string("text"),
                        "text": .object(["body": .string(text)]),
                    ])
                ]),
            ])
        return Array((try? JSONCoding.encoder().encode(value)) ?? Data())
    }
}
