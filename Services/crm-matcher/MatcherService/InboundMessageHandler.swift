import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.inbound.message` → contacts, messages, leads, conversations and consent, the whole batch
/// in one transaction (`InboundProcessor`); the batch's `crm.activity` events are published after
/// the commit. Redelivered messages hit the wamid primary key and change nothing.
public struct InboundMessageHandler: RecordBatchHandler {
    let context: WorkerContext
    let processor: InboundProcessor
    let publisher: OutboxPublisher

    public init(context: WorkerContext, settings: MatcherSettings, router: any LeadRouter = StickyOwnerRouter()) {
        RoutingMetrics.register()
        self.context = context
        processor = InboundProcessor(settings: settings, router: router)
        publisher = OutboxPublisher(context: context)
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let messages = try records.map { try EventEnvelope<InboundMessage>.decode($0.value).payload }
        let spans = records.map { RecordSpan("match inbound message", record: $0) }
        defer { for span in spans { span.end() } }
        var traces: [String: String] = [:]
        for (m, span) in zip(messages, spans) { traces[m.wamid] = span.traceParent }
        let logger = context.logger
        let processor = processor
        try await publisher.commit(buffered: true) { outbox in
            try await processor.process(messages, traces: traces, outbox: &outbox)
        }
        for (m, span) in zip(messages, spans) {
            logger.debug(
                "inbound message stored", metadata: ["event_id": "\(m.wamid)"].merging(span.metadata) { a, _ in a })
        }
    }
}

extension OutboxPublisher {
    /// A worker's publisher: its pool, producer and topic prefix; `source` = the service.
    public init(context: WorkerContext) {
        self.init(
            postgres: context.postgres, producer: context.producer, topics: context.config.topics,
            source: context.config.service, logger: context.logger)
    }
}
