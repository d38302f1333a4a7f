import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Publishes the template sends rules queued (`workflow_sends`) to `wa.outbound.request` after
/// their transaction committed, then marks them, in one transaction that holds the rows
/// (`FOR UPDATE SKIP LOCKED`): publishers running at once take disjoint rows. The envelope's
/// event id is the request id, and the sender claims a request once however often it is
/// delivered (a crash between the produce and the commit publishes it again).
public struct WorkflowSendPublisher: Sendable {
    let context: WorkerContext

    public init(context: WorkerContext) {
        self.context = context
    }

    /// Publishes sends left unpublished for at least `olderThan`; returns how many.
    @discardableResult
    public func publish(olderThan: Duration = .zero) async throws -> Int {
        let topic = context.config.topics.name(Topics.outboundRequest)
        let producer = context.producer
        let source = context.config.service
        let logger = context.logger
        return try await context.postgres.transaction(logger: logger) { conn in
            let sends = try await WorkflowStore.claimUnpublishedSends(
                olderThan: olderThan, limit: 500, on: conn, logger: logger)
            guard !sends.isEmpty else { return 0 }
            let records = try sends.map { request, traceParent in
                // The send continues the trace of the message whose rule queued it.
                try OutgoingRecord.traced(
                    topic: topic, key: request.to,
                    envelope: EventEnvelope(
                        eventId: request.requestId, type: EventTypes.outboundRequest, occurredAt: .now,
                        source: source, payload: request),
                    traceParent: traceParent)
            }
            try await producer.send(records)
            try await WorkflowStore.markPublished(sends.map(\.request.requestId), on: conn, logger: logger)
            return sends.count
        }
    }
}
