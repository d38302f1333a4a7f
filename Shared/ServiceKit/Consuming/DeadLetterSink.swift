import Kafka
import Logging
import PostgresNIO
import Storage
import WireModels

/// Where a record goes after its last failed attempt: `wa.dlq` (same key, original event id)
/// and a replayable `failures` row. Both must succeed before the partition moves on.
public struct DeadLetterSink: Sendable {
    let stage: String
    let topics: Topics
    let producer: KafkaProducer
    let postgres: PostgresClient
    let logger: Logger

    public init(stage: String, topics: Topics, producer: KafkaProducer, postgres: PostgresClient, logger: Logger) {
        self.stage = stage
        self.topics = topics
        self.producer = producer
        self.postgres = postgres
        self.logger = logger
    }

    public func deadLetter(_ record: KafkaRecord, error: any Error, attempts: Int) async throws {
        // An envelope names its event; a raw webhook (its metadata in headers) in `crm-event-id`.
        let eventId =
            (try? JSONCoding.decoder().decode(EnvelopeHeader.self, from: .init(record.value)).eventId)
            ?? record.headers.first { $0.key == RawWebhookRecord.eventIdHeader }
            .map { String(decoding: $0.value, as: UTF8.self) }
        let value = String(decoding: record.value, as: UTF8.self)
        let letter = DeadLetter(
            stage: stage, topic: topics.base(of: record.topic), partition: record.partition, offset: record.offset,
            error: ErrorText.describe(error), attempts: attempts, value: value)
        // The dead letter stays in the record's trace.
        let trace = Traces.traceParent(in: record.headers)
        let envelope = EventEnvelope(
            eventId: eventId ?? "\(record.topic):\(record.partition):\(record.offset)", type: EventTypes.deadLetter,
            occurredAt: record.timestamp ?? .now, source: stage, traceId: Traces.traceId(trace), payload: letter)
        try await producer.send(
            OutgoingRecord(
                topic: topics.name(Topics.deadLetter), key: record.key, value: try envelope.encoded(),
                headers: record.headers.filter { $0.key == "traceparent" || $0.key == "tracestate" }))
        try await FailureStore.record(
            .init(
                stage: stage, topic: letter.topic, partition: record.partition, offset: record.offset,
                key: record.key.map { String(decoding: $0, as: UTF8.self) }, eventId: eventId, error: letter.error,
                attempts: attempts, payload: value,
                headers: record.headers.filter { $0.key != Replay.replayHeader }.map {
                    FailureStore.RecordHeader(key: $0.key, value: String(decoding: $0.value, as: UTF8.self))
                }),
            replayOf: record.headers.first { $0.key == Replay.replayHeader }
                .flatMap { Int64(String(decoding: $0.value, as: UTF8.self)) },
            on: postgres, logger: logger)
        logger.error(
            "record dead-lettered",
            metadata: [
                "event_id": "\(eventId ?? "-")", "topic": "\(record.topic)", "partition": "\(record.partition)",
                "offset": "\(record.offset)", "error": "\(ErrorText.describe(error))",
                "trace_id": "\(Traces.traceId(trace) ?? "-")",
            ])
    }
}
