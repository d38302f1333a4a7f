import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Publishes the template sends rules queued (`workflow_sends`) to `wa.outbound.request` after
/// their transaction committed, then marks them. The envelope's event id is the request id, so
/// a send published twice (a crash before the mark) is taken once by the sender.
public struct WorkflowSendPublisher: Sendable {
    let context: WorkerContext

    public init(context: WorkerContext) {
        self.context = context
    }

    /// Publishes sends left unpublished for at least `olderThan`; returns how many.
    @discardableResult
    public func publish(olderThan: Duration = .zero) async throws -> Int {
        let sends = try await WorkflowStore.unpublishedSends(
            olderThan: olderThan, limit: 500, on: context.postgres, logger: context.logger)
        guard !sends.isEmpty else { return 0 }
        let topic = context.config.topics.name(Topics.outboundRequest)
        let records = try sends.map { request in
            OutgoingRecord(
                topic: topic, key: Array(request.to.utf8),
                value: try EventEnvelope(
                    eventId: request.requestId, type: EventTypes.outboundRequest, occurredAt: .now,
                    source: context.config.service, payload: request
                ).encoded())
        }
        try await context.producer.send(records)
        try await WorkflowStore.markPublished(sends.map(\.requestId), on: context.postgres, logger: context.logger)
        return sends.count
    }
}
