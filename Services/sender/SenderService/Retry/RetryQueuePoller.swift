import Foundation
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// The retry queue: send requests in state `retrying` whose `next_attempt_at` has come.
/// Every replica polls; `FOR UPDATE SKIP LOCKED` and a lease (`sending`, owner and expiry)
/// hand each due request to exactly one of them, and a replica that dies mid-attempt leaves
/// its claims to the sweeper (`SendSweeper`). A PostgreSQL queue (rather than retry topics)
/// lets each
/// request wait exactly its own delay — 1 s, 4 s, 16 s for one recipient, minutes for a
/// paused number — without a topic per delay and without blocking anything else.
public enum RetryQueuePoller {
    static let interval: Duration = .milliseconds(200)
    static let batch = 100

    public static func service(context: WorkerContext, executor: SendExecutor, gate: StartupGate) -> PeriodicService {
        let (postgres, logger) = (context.postgres, context.logger)
        return PeriodicService("retry queue poll", every: interval, gate: gate, logger: logger) {
            let due = try await SendStore.claimDue(
                limit: batch, owner: executor.settings.owner, lease: executor.settings.lease.seconds,
                on: postgres, logger: logger)
            do {
                try await executor.attempt(due)
            } catch {
                // The leases expire and the sweeper decides: retry if uncalled, else unknown.
                logger.error(
                    "retry attempts failed",
                    metadata: ["event_ids": "\(due.map(\.request.requestId))", "error": "\(error)"])
            }
            return due.count == batch
        }
    }
}
