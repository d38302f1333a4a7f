import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.outbound.request` → first attempts. The batch is registered and claimed in two
/// statements, then attempted as a whole (`SendExecutor.attempt`): a recipient's requests go
/// in order, different recipients together, so the number's pace — not the round trips — sets
/// the throughput. Anything that must wait longer than the governor's inline wait goes to the
/// retry queue; the partition never blocks on it.
public struct SendHandler: RecordBatchHandler {
    public struct NotConfigured: Error, CustomStringConvertible {
        public let description: String
    }

    let executor: SendExecutor
    let postgres: PostgresClient
    let logger: Logger

    public init(context: WorkerContext, executor: SendExecutor) {
        self.executor = executor
        postgres = context.postgres
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let requests = try records.map { try EventEnvelope<OutboundRequest>.decode($0.value).payload }
        var traces: [String: String] = [:]
        for (request, record) in zip(requests, records) {
            traces[request.requestId] = Traces.traceParent(in: record.headers)
        }
        // Requests from other producers have no row yet; only `queued` ones are claimed (leased).
        let claimed = try await SendStore.registerAndClaim(
            requests, traceParents: traces, owner: executor.settings.owner, lease: executor.settings.lease.seconds,
            on: postgres, logger: logger)
        if claimed.count < requests.count {
            logger.debug(
                "send requests already claimed, settled or repeated in the batch",
                metadata: ["skipped": "\(requests.count - claimed.count)"])
        }
        try await executor.attempt(claimed)
    }
}
