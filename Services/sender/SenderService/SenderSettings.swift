import Foundation
import ServiceKit

/// The sender's timing for "exactly one Graph call per accepted send" (environment, read once
/// at start; names in docs/ARCHITECTURE.md's configuration table).
public struct SenderSettings: Sendable {
    /// Who holds a claim: written on each claimed row, so an operator sees which replica has it.
    public var owner: String
    /// How long a claim is this sender's alone. It must outlast one attempt: the governor's
    /// inline wait, the Graph call's timeout and the recording of its answer.
    public var lease: Duration
    /// The Graph call's timeout; after it the call's outcome is unknown.
    public var graphTimeout: Duration
    /// How long a `queued` request may wait for its topic record before the sweeper sends it
    /// from its row (the API's commit happened, the produce may not have).
    public var queuedGrace: Duration
    /// How long an `unknown` send waits for a status from Meta before it is settled as failed.
    public var unknownGrace: Duration
    /// How often the sweeper runs.
    public var sweepInterval: Duration

    /// From `SEND_LEASE_MS` (60 s), `GRAPH_TIMEOUT_MS` (10 s), `SEND_QUEUED_GRACE_MS` (60 s),
    /// `SEND_UNKNOWN_GRACE_MS` (15 min) and `SEND_SWEEP_INTERVAL_MS` (2 s).
    public init(environment: Environment = Environment(), service: String = "sender") throws {
        let lease = try environment.int("SEND_LEASE_MS", default: 60_000)
        let timeout = try environment.int("GRAPH_TIMEOUT_MS", default: 10_000)
        let queued = try environment.int("SEND_QUEUED_GRACE_MS", default: 60_000)
        let unknown = try environment.int("SEND_UNKNOWN_GRACE_MS", default: 900_000)
        let sweep = try environment.int("SEND_SWEEP_INTERVAL_MS", default: 2_000)
        guard timeout >= 100, lease >= timeout + Self.attemptOverhead, queued >= 1000, unknown >= 1000, sweep >= 50
        else {
            throw ConfigError(
                "GRAPH_TIMEOUT_MS must be at least 100, SEND_LEASE_MS at least GRAPH_TIMEOUT_MS + "
                    + "\(Self.attemptOverhead), SEND_QUEUED_GRACE_MS and SEND_UNKNOWN_GRACE_MS at least 1000, "
                    + "SEND_SWEEP_INTERVAL_MS at least 50")
        }
        self.lease = .milliseconds(lease)
        graphTimeout = .milliseconds(timeout)
        queuedGrace = .milliseconds(queued)
        unknownGrace = .milliseconds(unknown)
        sweepInterval = .milliseconds(sweep)
        let host = ProcessInfo.processInfo.hostName
        owner = "\(service)@\(host):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// Milliseconds a lease must have beyond the Graph timeout: the policy gate and governor
    /// before the mark (about 2 s), the governor's inline wait after it (`callSlack`) and the
    /// time to record the answer.
    static let attemptOverhead = 5_000

    /// Seconds beyond the Graph timeout that must remain of a lease when a call is marked
    /// (`SendStore.markCalling`): the governor's inline wait (2 s plus its burst) and slack.
    static let callSlack = 3.0

    var callMargin: Double { graphTimeout.seconds + Self.callSlack }
}
