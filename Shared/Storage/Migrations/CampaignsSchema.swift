/// Campaigns: the campaign, its materialized audience (one row per recipient phone), the test
/// sends that gate its launch, and a view that derives each recipient's delivery state from
/// the send path's own tables (send_requests, send_attempts, messages), so the state is
/// always as current as those tables and a redelivered status can never count twice.
extension Schema {
    static let campaigns = Migration(
        "0010_campaigns",
        [
            """
            CREATE TABLE campaigns (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL,
                template_name text NOT NULL,
                template_language text NOT NULL,
                phone_number_id text,
                audience jsonb NOT NULL,
                state text NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'tested', 'running', 'paused', 'done')),
                recipients int NOT NULL DEFAULT 0,
                excluded_opted_out int NOT NULL DEFAULT 0,
                excluded_no_phone int NOT NULL DEFAULT 0,
                rejected_rows jsonb NOT NULL DEFAULT '[]',
                created_by text NOT NULL,
                launched_by uuid,
                launched_at timestamptz,
                paused_at timestamptz,
                done_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX campaigns_created ON campaigns (created_at DESC, id DESC)",
            "CREATE INDEX campaigns_running ON campaigns (id) WHERE state = 'running'",
            // `state` is the rollout's: pending (not published yet), queued (handed to the send
            // path under request_id = campaign:<id>:<phone>) or blocked (refused by the policy
            // gate at publish time). Delivery states come from the view below.
            """
            CREATE TABLE campaign_recipients (
                campaign_id uuid NOT NULL REFERENCES campaigns(id),
                phone text NOT NULL,
                contact_id uuid REFERENCES contacts(id),
                row_number int,
                columns jsonb NOT NULL DEFAULT '{}',
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'queued', 'blocked')),
                request_id text,
                blocked_reason text,
                queued_at timestamptz,
                PRIMARY KEY (campaign_id, phone))
            """,
            "CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, phone) WHERE state = 'pending'",
            "CREATE INDEX campaign_recipients_request ON campaign_recipients (request_id)",
            // One row per test-send request; `fingerprint` is the template + mapping it tested.
            """
            CREATE TABLE campaign_test_sends (
                campaign_id uuid NOT NULL REFERENCES campaigns(id),
                batch_id uuid NOT NULL,
                request_id text NOT NULL,
                phone text NOT NULL,
                fingerprint text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (campaign_id, request_id))
            """,
            "CREATE INDEX campaign_test_sends_batch ON campaign_test_sends (campaign_id, fingerprint, created_at DESC)",
            // Per recipient: pending, queued (published, not accepted yet), sent, delivered, read
            // or failed, with the Meta error code (failed at send or by a status) or the policy
            // refusal, and the first reply (an inbound message whose context is our message).
            // messages.status only moves forward (a late read beats an earlier failed), so it
            // wins over the send request's state once the message exists.
            """
            CREATE VIEW campaign_recipient_states AS
            SELECT r.campaign_id, r.phone, r.contact_id, r.row_number, r.request_id, s.wamid, r.queued_at,
                CASE
                    WHEN r.state = 'pending' THEN 'pending'
                    WHEN r.state = 'blocked' THEN 'failed'
                    WHEN m.status IN ('delivered', 'read', 'failed') THEN m.status
                    WHEN s.state IN ('failed', 'blocked') THEN 'failed'
                    WHEN s.state = 'sent' THEN 'sent'
                    ELSE 'queued'
                END AS state,
                CASE
                    WHEN m.status = 'failed' THEN (m.last_error->>'code')::int
                    WHEN m.status IS NULL AND s.state = 'failed' THEN a.error_code
                END AS error_code,
                CASE
                    WHEN r.state = 'blocked' THEN r.blocked_reason
                    WHEN s.state = 'blocked' THEN s.blocked_reason
                END AS blocked_reason,
                rep.replied_at,
                COALESCE(m.status_at, s.updated_at, r.queued_at) AS updated_at
            FROM campaign_recipients r
            LEFT JOIN send_requests s ON s.request_id = r.request_id
            LEFT JOIN messages m ON m.wamid = s.wamid AND m.direction = 'outbound'
            LEFT JOIN LATERAL (
                SELECT error_code FROM send_attempts
                WHERE request_id = r.request_id ORDER BY attempt DESC LIMIT 1) a ON true
            LEFT JOIN LATERAL (
                SELECT min(COALESCE(i.meta_timestamp, i.created_at)) AS replied_at FROM messages i
                WHERE s.wamid IS NOT NULL AND i.context_wamid = s.wamid AND i.direction = 'inbound') rep ON true
            """,
        ])
}
