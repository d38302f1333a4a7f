/// Operator API: who created a token (self-service vs. an admin for someone else), keyset
/// paging of the audit log by time, and the owner lookups that scope an agent's queries.
extension Schema {
    static let access = Migration(
        "0006_access",
        [
            "ALTER TABLE api_tokens ADD COLUMN created_by uuid REFERENCES users(id)",
            "CREATE INDEX api_tokens_user ON api_tokens (user_id)",
            "CREATE INDEX audit_log_at ON audit_log (at)",
            "CREATE INDEX send_requests_requested_by ON send_requests (requested_by)",
            // Tier names as Meta reports them; the config loader and the API validate the same list.
            """
            ALTER TABLE wa_phone_numbers ADD CONSTRAINT wa_phone_numbers_tier
                CHECK (messaging_tier IN ('TIER_50', 'TIER_250', 'TIER_1K', 'TIER_10K', 'TIER_100K', 'UNLIMITED'))
            """,
        ])
}
