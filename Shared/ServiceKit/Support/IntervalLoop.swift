import Logging
import ServiceLifecycle
import Storage

/// A background service that runs `round` every `interval` once start-up is done, until
/// SIGTERM: the loop polling services share (retry queue, sweeper, template sync, lag probe;
/// the campaign rollout, scheduler and webhook dispatcher still have loops of their own). A
/// round that returns true had more work than it took and runs again at once; a failed round
/// is logged and the next one comes after the interval.
public struct IntervalLoop: Service {
    let name: String
    let interval: Duration
    let gate: StartupGate
    let logger: Logger
    let round: @Sendable () async throws -> Bool

    public init(
        _ name: String, every interval: Duration, gate: StartupGate, logger: Logger,
        round: @escaping @Sendable () async throws -> Bool
    ) {
        self.name = name
        self.interval = interval
        self.gate = gate
        self.logger = logger
        self.round = round
    }

    public func run() async throws {
        guard try await gate.waitUnlessShuttingDown() else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if try await round() { continue }
            } catch {
                logger.error("\(name) failed", metadata: ["error": "\(ErrorText.describe(error))"])
            }
            await sleepUnlessShuttingDown(for: interval)
        }
    }
}
