import Metrics
import Synchronization
import WireModels

/// Counters behind `GET /_sim/stats`, mirrored as Prometheus series on `/metrics`:
/// `wa_simulator_sends_total{outcome, code}`, `wa_simulator_faults_injected_total{fault}`,
/// `wa_simulator_status_webhooks_total{status, result}`, `wa_simulator_inbound_webhooks_total{result}`,
/// `wa_simulator_template_listings_total`.
public final class SimulatorStats: Sendable {
    public struct Snapshot: Encodable, Sendable, Equatable {
        public var accepted = 0
        /// Rejected sends by error code (as a string key, like JSON needs), 130429 included.
        public var rejected: [String: Int] = [:]
        /// Sends refused by the mps limit (also counted under rejected["130429"]).
        public var throttled = 0
        /// Faults applied by rule or rate, by label (code, `http_503`, `delay`).
        public var faultsInjected: [String: Int] = [:]
        /// Status webhooks the receiver accepted, by status.
        public var statusesPosted: [String: Int] = [:]
        public var statusesFailed = 0
        public var inboundPosted = 0
        public var inboundFailed = 0
        public var templateListings = 0
        /// `biz_opaque_callback_data` of every accepted send (the CRM's request id), to tell
        /// a request sent once from one sent twice.
        public var acceptedCallbacks: Set<String> = []
        /// Accepted sends whose callback data had been accepted before: the doubled sends.
        public var duplicateCallbacks = 0

        public var rejectedTotal: Int { rejected.values.reduce(0, +) }

        enum CodingKeys: String, CodingKey {
            case accepted, rejected, throttled
            case rejectedTotal = "rejected_total"
            case faultsInjected = "faults_injected"
            case statusesPosted = "statuses_posted"
            case statusesFailed = "statuses_failed"
            case inboundPosted = "inbound_posted"
            case inboundFailed = "inbound_failed"
            case templateListings = "template_listings"
            case distinctCallbacks = "distinct_callbacks"
            case duplicateCallbacks = "duplicate_callbacks"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(accepted, forKey: .accepted)
            try c.encode(rejected, forKey: .rejected)
            try c.encode(rejectedTotal, forKey: .rejectedTotal)
            try c.encode(throttled, forKey: .throttled)
            try c.encode(faultsInjected, forKey: .faultsInjected)
            try c.encode(statusesPosted, forKey: .statusesPosted)
            try c.encode(statusesFailed, forKey: .statusesFailed)
            try c.encode(inboundPosted, forKey: .inboundPosted)
            try c.encode(inboundFailed, forKey: .inboundFailed)
            try c.encode(templateListings, forKey: .templateListings)
            try c.encode(acceptedCallbacks.count, forKey: .distinctCallbacks)
            try c.encode(duplicateCallbacks, forKey: .duplicateCallbacks)
        }
    }

    let counters = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot {
        counters.withLock { $0 }
    }

    public func reset() {
        counters.withLock { $0 = Snapshot() }
    }

    func accepted(callback: String?) {
        counters.withLock {
            $0.accepted += 1
            if let callback, !$0.acceptedCallbacks.insert(callback).inserted { $0.duplicateCallbacks += 1 }
        }
        Counter(label: "wa_simulator_sends_total", dimensions: [("outcome", "accepted"), ("code", "")]).increment()
    }

    func rejected(_ code: Int, throttled: Bool = false) {
        counters.withLock {
            $0.rejected[String(code), default: 0] += 1
            if throttled { $0.throttled += 1 }
        }
        Counter(label: "wa_simulator_sends_total", dimensions: [("outcome", "rejected"), ("code", String(code))])
            .increment()
    }

    func faultInjected(_ label: String) {
        counters.withLock { $0.faultsInjected[label, default: 0] += 1 }
        Counter(label: "wa_simulator_faults_injected_total", dimensions: [("fault", label)]).increment()
    }

    func status(_ status: String, posted: Bool) {
        counters.withLock {
            if posted { $0.statusesPosted[status, default: 0] += 1 } else { $0.statusesFailed += 1 }
        }
        Counter(
            label: "wa_simulator_status_webhooks_total",
            dimensions: [("status", status), ("result", posted ? "posted" : "failed")]
        ).increment()
    }

    func inbound(posted: Bool) {
        counters.withLock {
            if posted { $0.inboundPosted += 1 } else { $0.inboundFailed += 1 }
        }
        Counter(label: "wa_simulator_inbound_webhooks_total", dimensions: [("result", posted ? "posted" : "failed")])
            .increment()
    }

    func templateListing() {
        counters.withLock { $0.templateListings += 1 }
        Counter(label: "wa_simulator_template_listings_total").increment()
    }
}
