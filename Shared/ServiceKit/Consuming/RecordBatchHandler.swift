import Kafka

/// A stage's logic: handle a batch of records, committing its database work before returning.
/// Throwing means nothing of the batch may be considered done: it is retried, then split.
/// Handlers must be idempotent: any record can be delivered again after a crash or rebalance.
public protocol RecordBatchHandler: Sendable {
    func handle(_ records: [KafkaRecord]) async throws
}
