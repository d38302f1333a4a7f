import Foundation
import PostgresNIO

extension WebhookDeliveryStore {
    /// Queues one event for one endpoint, whatever it subscribed to (a workflow rule's
    /// `call_webhook` action names the endpoint). False when the endpoint is unknown or paused,
    /// or the event is queued for it already.
    public static func enqueue(_ event: Event, webhookId: UUID, on conn: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await conn.query(
            """
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_kind, body)
            SELECT w.id, \(event.eventId), \(event.kind), \(event.body) FROM outbound_webhooks w
            WHERE w.id = \(webhookId) AND w.active
            ON CONFLICT (webhook_id, event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }
}
