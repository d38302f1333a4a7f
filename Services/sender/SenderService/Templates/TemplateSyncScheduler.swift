import Foundation
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Re-syncs the template catalog at start and then every `interval`, so statuses and new
/// templates arrive even when a webhook was missed. Several replicas syncing is harmless
/// (the upsert is idempotent); a failure waits for the next round.
public struct TemplateSyncScheduler: Service {
    let sync: TemplateSync
    let postgres: PostgresClient
    let gate: StartupGate
    let interval: Duration
    let logger: Logger

    public init(
        context: WorkerContext, sync: TemplateSync, gate: StartupGate, interval: Duration = .seconds(15 * 60)
    ) {
        self.sync = sync
        postgres = context.postgres
        self.gate = gate
        self.interval = interval
        logger = context.logger
    }

    public func run() async throws {
        guard try await gate.waitUnlessShuttingDown() else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await sync.run(on: postgres, logger: logger)
            } catch {
                logger.warning("scheduled template sync failed", metadata: ["error": "\(error)"])
            }
            await sleepUnlessShuttingDown(for: interval)
        }
    }
}
