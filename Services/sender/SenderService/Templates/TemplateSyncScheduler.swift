import Foundation
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Re-syncs the template catalog at start and then every `interval`, so statuses and new
/// templates arrive even when a webhook was missed. Several replicas syncing is harmless
/// (the upsert is idempotent); a failure waits for the next round.
public enum TemplateSyncScheduler {
    public static func service(
        context: WorkerContext, sync: TemplateSync, gate: StartupGate, interval: Duration = .seconds(15 * 60)
    ) -> PeriodicService {
        let (postgres, logger) = (context.postgres, context.logger)
        return PeriodicService("template sync", every: interval, gate: gate, logger: logger) {
            do {
                try await sync.run(on: postgres, logger: logger)
            } catch {
                logger.warning("scheduled template sync failed", metadata: ["error": "\(error)"])
            }
            return false
        }
    }
}
