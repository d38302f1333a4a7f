import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.outbound.request` → first attempts. Records of one batch are grouped by recipient (the
/// record key): a recipient's requests go in order, different recipients concurrently, so the
/// number's pace — not the round trip — sets the throughput. Anything that must wait longer
/// than the governor's inline wait goes to the retry queue; the partition never blocks on it.
public struct SendHandler: RecordBatchHandler {
    public struct NotConfigured: Error, CustomStringConvertible {
        public let description: String
    }

    /// Recipients sent to at once per batch.
    static let concurrency = 64

    let executor: SendExecutor
    let postgres: PostgresClient
    let logger: Logger

    public init(context: WorkerContext, executor: SendExecutor) {
        self.executor = executor
        postgres = context.postgres
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        var order: [String] = []
        var byRecipient: [String: [OutboundRequest]] = [:]
        for record in records {
            let request = try EventEnvelope<OutboundRequest>.decode(record.value).payload
            if byRecipient[request.to] == nil { order.append(request.to) }
            byRecipient[request.to, default: []].append(request)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for recipient in order {
                if running >= Self.concurrency {
                    try await group.next()
                    running -= 1
                }
                let requests = byRecipient[recipient] ?? []
                group.addTask {
                    for request in requests { try await self.first(request) }
                }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    /// Registers the request (requests from other producers have no row yet) and sends it
    /// unless it is already settled or waiting in the retry queue.
    func first(_ request: OutboundRequest) async throws {
        let claimed = try await postgres.withTransaction(logger: logger) { conn in
            try await SendStore.register(request, on: conn, logger: self.logger)
            return try await SendStore.claimFromTopic(requestId: request.requestId, on: conn, logger: self.logger)
        }
        guard let claimed else {
            logger.debug("send request already settled or queued", metadata: ["event_id": "\(request.requestId)"])
            return
        }
        try await executor.attempt(request, attempts: claimed.attempts, httpAttempts: claimed.httpAttempts)
    }
}
