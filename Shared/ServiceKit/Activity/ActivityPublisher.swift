import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import WireModels

/// Publishes `crm_activity` outbox rows to `crm.activity` after their transaction committed:
/// envelope `event_id` = the activity's `kind:entity_id:version`, key = the contact id (so one
/// contact's changes stay in order), then marks the rows published. A crash between the commit
/// and the mark publishes again later (same event id: consumers drop the repeat).
public struct ActivityPublisher: Sendable {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let source: String
    let logger: Logger

    public init(postgres: PostgresClient, producer: KafkaProducer, topics: Topics, source: String, logger: Logger) {
        self.postgres = postgres
        self.producer = producer
        self.topics = topics
        self.source = source
        self.logger = logger
    }

    /// Publishes the given outbox rows (those a committed transaction just wrote).
    public func publish(ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        let rows = try await ActivityStore.unpublished(ids: ids, on: postgres, logger: logger)
        try await send(rows)
    }

    /// Publishes rows left unpublished for longer than `olderThan` (a writer crashed after its
    /// commit); returns how many.
    @discardableResult
    public func publishLeftovers(olderThan: Duration) async throws -> Int {
        let rows = try await ActivityStore.unpublished(ids: nil, olderThan: olderThan, on: postgres, logger: logger)
        try await send(rows)
        return rows.count
    }

    func send(_ rows: [(id: Int64, activity: CRMActivity, traceParent: String?)]) async throws {
        guard !rows.isEmpty else { return }
        let topic = topics.name(Topics.crmActivity)
        let records = try rows.map { row in
            // The event continues the trace of the work that caused it.
            try OutgoingRecord.traced(
                topic: topic, key: row.activity.contactId ?? row.activity.entityId,
                envelope: EventEnvelope(
                    eventId: row.activity.eventId, type: EventTypes.crmActivity, occurredAt: row.activity.at,
                    source: source, payload: row.activity),
                traceParent: row.traceParent)
        }
        try await producer.send(records)  // in order: per-contact order holds
        try await ActivityStore.markPublished(ids: rows.map(\.id), on: postgres, logger: logger)
    }
}

/// Background service: every few seconds, publishes outbox rows a crashed writer left behind.
public struct ActivityRelay: Service {
    let publisher: ActivityPublisher
    let gate: StartupGate
    let interval: Duration
    let logger: Logger

    public init(publisher: ActivityPublisher, gate: StartupGate, interval: Duration = .seconds(5), logger: Logger) {
        self.publisher = publisher
        self.gate = gate
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard (try? await gate.wait()) != nil else { return }
            while !Task.isCancelled {
                do {
                    let n = try await publisher.publishLeftovers(olderThan: .seconds(30))
                    if n > 0 { logger.notice("published activity left unpublished", metadata: ["count": "\(n)"]) }
                } catch {
                    logger.warning("activity relay failed, will retry", metadata: ["error": "\(error)"])
                }
                guard (try? await Task.sleep(for: interval)) != nil else { return }
            }
        }
    }
}
