import Logging
import ServiceLifecycle
import Storage

/// The one shape of every polling loop (retry queue, sweeper, template sync, lag and backlog
/// probes, campaign rollout, scheduler, webhook dispatcher, outbox relay): once start-up is
/// done, run `round` every `interval` until SIGTERM. A round that returns true had more work
/// than it took and runs again at once; a failed round is logged and the next one comes after
/// the interval. On SIGTERM the round in progress finishes (it holds a transaction or a
/// claim), unless `cancelOnShutdown`: then it is cancelled (rounds that only publish what is
/// stored anyway, and could wait long on a broker that is gone).
public struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let gate: StartupGate
    let logger: Logger
    let cancelOnShutdown: Bool
    let round: @Sendable () async throws -> Bool

    public init(
        _ name: String, every interval: Duration, gate: StartupGate, logger: Logger, cancelOnShutdown: Bool = false,
        round: @escaping @Sendable () async throws -> Bool
    ) {
        self.name = name
        self.interval = interval
        self.gate = gate
        self.logger = logger
        self.cancelOnShutdown = cancelOnShutdown
        self.round = round
    }

    public func run() async throws {
        guard try await gate.waitUnlessShuttingDown() else { return }
        if cancelOnShutdown {
            await cancelWhenGracefulShutdown { await Self.repeating(name, every: interval, logger: logger, round) }
        } else {
            await Self.repeating(name, every: interval, logger: logger, round)
        }
    }

    /// The loop itself, for a service that must hold something around it (an HTTP client, a
    /// task group of in-flight work) and so cannot be a `PeriodicService` of its own.
    public static func repeating(
        _ name: String, every interval: Duration, logger: Logger, _ round: () async throws -> Bool
    ) async {
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
