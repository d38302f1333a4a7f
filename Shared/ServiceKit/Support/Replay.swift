import Foundation
import Kafka
import Logging
import PostgresNIO
import Storage
import WireModels

/// Operator replays. Both are safe to repeat: every consumer is idempotent on event ids.
public enum Replay {
    /// Header on a replayed record naming its failure row, so a repeated failure reopens that row.
    public static let replayHeader = "crm-replay-of-failure"

    public enum Outcome: Sendable, Equatable {
        case replayed(FailureRow)
        case notFound
        /// A failed send that is not failed any more (sent, in flight, unknown): not replayed.
        case notReplayable(String)
    }

    /// Publishes a dead-lettered record again, to its original topic with its original key
    /// (so it keeps its place in per-key order), and marks the failure replayed. With an
    /// `actor` (an API user), the audit entry is written in the same transaction as the mark.
    /// The mark comes first and the answer is the row as marked: a replayed record that fails
    /// again reopens the row, and that must happen after the mark, never be overwritten by it
    /// or show in this answer (it did, now and then, when the mark followed the produce).
    public static func failure(
        id: Int64, postgres: PostgresClient, producer: KafkaProducer, topics: Topics, logger: Logger,
        actor: String? = nil
    ) async throws -> Outcome {
        guard let original = try await FailureStore.record(id: id, on: postgres, logger: logger),
            let before = try await FailureStore.get(id: id, on: postgres, logger: logger)
        else {
            return .notFound
        }
        // A failed send is sent again only from `failed`, through the sender's usual claim.
        if before.stage == FailureStore.sendStage, let requestId = before.eventId,
            let state = try await SendStore.reopenFailed(requestId: requestId, on: postgres, logger: logger)
        {
            return .notReplayable("send \(requestId) is \(state), not failed: it is not sent again")
        }
        let marked = try await postgres.transaction(logger: logger) { conn in
            try await FailureStore.markReplayed(id: id, on: conn, logger: logger)
            let after = try await FailureStore.get(id: id, on: conn, logger: logger)
            if let actor {
                try await AuditStore.record(
                    actor: actor, action: "replay", entity: "failure", entityId: String(id),
                    before: try JSONValue(encoding: before), after: try after.map(JSONValue.init(encoding:)),
                    on: conn, logger: logger)
            }
            return after
        }
        do {
            try await producer.send(
                OutgoingRecord(
                    topic: topics.name(original.topic), key: original.key.map { Array($0.utf8) },
                    value: Array(original.payload.utf8),
                    headers: original.headers.map { KafkaHeader(key: $0.key, value: Array($0.value.utf8)) }
                        + [KafkaHeader(key: replayHeader, value: Array(String(id).utf8))]))
        } catch {
            // Nothing was replayed: the row goes back to what it was.
            try? await FailureStore.restore(before, on: postgres, logger: logger)
            throw error
        }
        logger.info("failure replayed", metadata: ["failure_id": "\(id)", "topic": "\(original.topic)"])
        guard let marked else { return .notFound }
        return .replayed(marked)
    }

    /// Re-publishes the archived raw webhooks received in [since, until) to `wa.webhook.raw`,
    /// flagged so the normalizer processes them again even though they were processed before.
    /// Returns how many bodies were published.
    public static func webhooks(
        since: Date, until: Date, postgres: PostgresClient, producer: KafkaProducer, topics: Topics, logger: Logger,
        pageSize: Int = 500
    ) async throws -> Int {
        var after: Int64 = 0
        var total = 0
        while true {
            let page = try await WebhookRawStore.page(
                since: since, until: until, afterId: after, limit: pageSize, on: postgres, logger: logger)
            guard let last = page.last else { return total }
            var records: [OutgoingRecord] = []
            for row in page {
                let body = Array(row.body.utf8)
                let key = (try? WebhookBody(bytes: body))?.partitionKey ?? "replay"
                let raw = RawWebhook(bytes: body, sha256: row.sha256, receivedAt: row.receivedAt, replay: true)
                records.append(
                    RawWebhookRecord.outgoing(
                        raw, topic: topics.name(Topics.webhookRaw), key: key, source: "crmctl"))
            }
            try await producer.send(records)
            total += page.count
            after = last.id
            logger.info("replayed webhook page", metadata: ["count": "\(page.count)", "total": "\(total)"])
        }
    }
}
