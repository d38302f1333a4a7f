/// Exactly one Graph call per accepted send. A claim moves `queued → sending` and leases the
/// row to one sender (owner + expiry); the Graph call is marked on the row before it is made
/// (`graph_call_at`, with the message it will store), so a lease that expires shows whether
/// Meta may have been called. An ambiguous call (timeout, crash mid-call) is `unknown` until a
/// status webhook carrying our request id (`biz_opaque_callback_data`) settles it.
extension Schema {
    static let sendLeases = Migration(
        "0014_send_leases",
        [
            "ALTER TABLE send_requests DROP CONSTRAINT send_requests_state_check",
            """
            ALTER TABLE send_requests ADD CONSTRAINT send_requests_state_check
                CHECK (state IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'blocked', 'unknown'))
            """,
            "ALTER TABLE send_requests ADD COLUMN lease_owner text",
            "ALTER TABLE send_requests ADD COLUMN lease_until timestamptz",
            "ALTER TABLE send_requests ADD COLUMN graph_call_at timestamptz",
            // What the sender stores as the outbound message once Meta's wamid is known; kept from
            // the call so that an `unknown` send settled by a status webhook gets its message row.
            "ALTER TABLE send_requests ADD COLUMN call_message jsonb",
            // The sweeper's three queues: expired leases, queued rows whose topic record may be
            // lost, unknown outcomes waiting for a status.
            """
            CREATE INDEX send_requests_unsettled ON send_requests (updated_at)
                WHERE state IN ('queued', 'sending', 'unknown')
            """,
            """
            CREATE INDEX message_status_events_callback ON message_status_events (biz_opaque_callback_data)
                WHERE biz_opaque_callback_data IS NOT NULL
            """,
        ])
}
