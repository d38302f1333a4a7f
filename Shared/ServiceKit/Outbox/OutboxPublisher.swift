import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import WireModels

/// The transactional outbox's publishing half. A transaction writes its `crm_activity` rows
/// and queued rule sends (`workflow_sends`) through an `ActivityOutbox`; once it committed,
/// `publish` produces exactly the rows it holds in memory and marks them published:
/// - activity → `crm.activity`: envelope `event_id` = the activity's `kind:entity_id:version`,
///   key = the contact id (one contact's changes stay in order);
/// - sends → `wa.outbound.request`: event id = the request id (the sender claims a request once).
/// A crash between the commit and the mark leaves rows unpublished: `publishLeftovers` (the
/// the outbox relay, `PeriodicService.outboxRelay`) publishes them later, with the same event ids, so consumers drop repeats.
public struct OutboxPublisher: Sendable {
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

    /// One transaction with an outbox, then what it wrote published: the shape of every change
    /// the rest of the system hears about. `body` writes through the outbox (its connection is
    /// `outbox.conn`) and its result is returned. If publishing fails the change stays
    /// committed: with `relayOnFailure` (an API request, whose caller gets its answer) the
    /// relay publishes it later; otherwise the error is thrown (a consumer retries its batch).
    public func commit<R: Sendable>(
        actor: String = "system", traceParent: String? = nil, buffered: Bool = false, relayOnFailure: Bool = false,
        _ body: sending @escaping (inout ActivityOutbox) async throws -> R
    ) async throws -> R {
        let logger = logger
        let (result, written) = try await postgres.transaction(logger: logger) { conn in
            var outbox = ActivityOutbox(
                conn: conn, logger: logger, actor: actor, buffered: buffered, traceParent: traceParent)
            let result = try await body(&outbox)
            return (result, try await outbox.flush())
        }
        do {
            try await publish(written)
        } catch  where relayOnFailure {
            logger.warning("activity not published yet, the relay will", metadata: ["error": "\(error)"])
        }
        return result
    }

    /// Publishes what a committed transaction wrote. Activity that cannot be published throws
    /// (the relay publishes it later); sends that cannot be are left to the relay with a warning.
    public func publish(_ commit: OutboxCommit) async throws {
        try await send(commit.activities)
        guard !commit.sends.isEmpty else { return }
        do {
            try await producer.send(try sendRecords(commit.sends))
            try await postgres.withConnection { conn in
                try await WorkflowStore.markPublished(commit.sends.map(\.request.requestId), on: conn, logger: logger)
            }
        } catch {
            logger.warning("workflow sends not published yet", metadata: ["error": "\(error)"])
        }
    }

    /// Publishes rows left unpublished for longer than `olderThan` (a writer crashed after its
    /// commit); returns how many.
    @discardableResult
    public func publishLeftovers(olderThan: Duration) async throws -> Int {
        let activities = try await ActivityStore.unpublished(olderThan: olderThan, on: postgres, logger: logger)
        try await send(activities)
        let (producer, logger) = (self.producer, self.logger)
        let sends = try await postgres.transaction(logger: logger) { conn in
            // Locked (`SKIP LOCKED`) until marked: concurrent relays take disjoint rows.
            let sends = try await WorkflowStore.claimUnpublishedSends(
                olderThan: olderThan, limit: 500, on: conn, logger: logger)
            guard !sends.isEmpty else { return 0 }
            try await producer.send(try sendRecords(sends))
            try await WorkflowStore.markPublished(sends.map(\.request.requestId), on: conn, logger: logger)
            return sends.count
        }
        return activities.count + sends
    }

    func send(_ rows: [OutboxActivity]) async throws {
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

    func sendRecords(_ sends: [OutboxSend]) throws -> [OutgoingRecord] {
        let topic = topics.name(Topics.outboundRequest)
        return try sends.map { send in
            // The send continues the trace of the message whose rule queued it.
            try OutgoingRecord.traced(
                topic: topic, key: send.request.to,
                envelope: EventEnvelope(
                    eventId: send.request.requestId, type: EventTypes.outboundRequest, occurredAt: .now,
                    source: source, payload: send.request),
                traceParent: send.traceParent)
        }
    }
}

extension PeriodicService {
    /// Every few seconds, publishes outbox rows a crashed writer left behind. Cancelled at
    /// SIGTERM: what it would publish stays stored for the next relay.
    public static func outboxRelay(
        _ publisher: OutboxPublisher, gate: StartupGate, interval: Duration = .seconds(5), logger: Logger
    ) -> PeriodicService {
        PeriodicService("outbox relay", every: interval, gate: gate, logger: logger, cancelOnShutdown: true) {
            let n = try await publisher.publishLeftovers(olderThan: .seconds(30))
            if n > 0 { logger.notice("published outbox rows left unpublished", metadata: ["count": "\(n)"]) }
            return false
        }
    }
}
