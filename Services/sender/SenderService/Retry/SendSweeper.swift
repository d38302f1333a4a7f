import Foundation
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import WireModels

/// Settles the send requests whose owner went away, without ever calling Meta twice
/// (`SendStore.sweep`): an expired lease with no Graph call marked goes back to the retry
/// queue; one with a call marked becomes `unknown`; a `queued` row whose topic record never
/// came (the API committed, then crashed or lost the broker) is sent from its row; an
/// `unknown` send is `sent` once a status webhook carries its request id, or `failed` (not
/// retried) when none comes within the grace. Every replica sweeps; the statements skip rows
/// another one holds.
public struct SendSweeper: Sendable {
    let executor: SendExecutor
    let postgres: PostgresClient
    let logger: Logger

    public init(context: WorkerContext, executor: SendExecutor) {
        self.executor = executor
        postgres = context.postgres
        logger = context.logger
    }

    /// The sweeper as a background service, every `SEND_SWEEP_INTERVAL_MS`.
    public func service(gate: StartupGate) -> PeriodicService {
        PeriodicService("send sweep", every: executor.settings.sweepInterval, gate: gate, logger: logger) {
            _ = try await sweepOnce()
            return false
        }
    }

    /// One pass; returns what it did (tests call it directly).
    @discardableResult
    public func sweepOnce() async throws -> SendStore.Sweep {
        let settings = executor.settings
        let sweep = try await SendStore.sweep(
            queuedGrace: settings.queuedGrace.seconds, unknownGrace: settings.unknownGrace.seconds, on: postgres,
            logger: logger)
        guard !sweep.isEmpty else { return sweep }
        for (ids, outcome) in [
            (sweep.released, "lease_released"), (sweep.unknown, "lease_unknown"), (sweep.requeued, "queued_requeued"),
        ] where !ids.isEmpty {
            SenderMetrics.swept(outcome, count: ids.count)
            logger.warning(
                "send requests taken over by the sweeper", metadata: ["outcome": "\(outcome)", "event_ids": "\(ids)"])
        }
        for settled in sweep.confirmed {
            SenderMetrics.swept("unknown_confirmed", count: 1)
            try await executor.publish(
                OutboundResult(
                    requestId: settled.requestId, attempt: settled.attempt, state: "sent", wamid: settled.wamid,
                    waId: settled.waId, error: nil), trace: nil)
            logger.notice(
                "unknown send confirmed by Meta's status",
                metadata: ["event_id": "\(settled.requestId)", "wamid": "\(settled.wamid ?? "")"])
        }
        for settled in sweep.expired {
            SenderMetrics.swept("unknown_expired", count: 1)
            SenderMetrics.send(outcome: "failed", decision: "unknown_outcome")
            try await executor.publish(
                OutboundResult(
                    requestId: settled.requestId, attempt: settled.attempt, state: "failed", wamid: nil, waId: nil,
                    error: WhatsAppError(
                        code: 2, title: "unknown_outcome",
                        message: "no status from Meta within \(Int(settings.unknownGrace.seconds)) s; not sent again",
                        details: nil)), trace: nil)
            logger.warning(
                "unknown send settled as failed: no status from Meta", metadata: ["event_id": "\(settled.requestId)"])
        }
        return sweep
    }
}
