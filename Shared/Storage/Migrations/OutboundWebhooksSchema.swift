/// Outbound webhooks: endpoints that receive CRM events, and every delivery and attempt.
/// Deliveries are a queue in PostgreSQL (claimed with SKIP LOCKED), so retries wait without
/// holding a Kafka partition and several crm-matcher replicas share the work.
extension Schema {
    static let outboundWebhooks = Migration(
        "0007_outbound_webhooks",
        [
            """
            CREATE TABLE outbound_webhooks (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                url text NOT NULL,
                events text[] NOT NULL,
                secret text NOT NULL,
                active boolean NOT NULL DEFAULT true,
                description text,
                created_by text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY,
                webhook_id uuid NOT NULL REFERENCES outbound_webhooks(id) ON DELETE CASCADE,
                event_id text NOT NULL,
                event_kind text NOT NULL,
                body text NOT NULL,
                state text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivering', 'retrying', 'delivered', 'failed')),
                attempts int NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                lease_until timestamptz,
                last_status int,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                UNIQUE (webhook_id, event_id))
            """,
            """
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
                WHERE state IN ('pending', 'retrying', 'delivering')
            """,
            "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)",
            """
            CREATE TABLE webhook_delivery_attempts (
                id bigserial PRIMARY KEY,
                delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
                attempt int NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                http_status int,
                error text,
                duration_ms int NOT NULL,
                decision text NOT NULL,
                UNIQUE (delivery_id, attempt))
            """,
        ])
}
