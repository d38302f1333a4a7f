/// WhatsApp Business accounts and their phone numbers (who we send as, at which rate), the
/// configured test recipients, and the audit log every API write goes to. Secrets are stored
/// encrypted (the API and the config loader encrypt with the key from the environment) and
/// are never selected into API responses.
extension Schema {
    static let accounts = Migration(
        "0003_accounts",
        [
            """
            CREATE TABLE wa_accounts (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                waba_id text NOT NULL UNIQUE,
                name text NOT NULL,
                access_token_enc bytea,
                app_secret_enc bytea,
                verify_token_enc bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            // messages_per_second feeds the sender's per-number token bucket (Meta's default is
            // 80); messaging_tier is the 24 h unique-recipient budget (TIER_250 … UNLIMITED).
            """
            CREATE TABLE wa_phone_numbers (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                phone_number_id text NOT NULL UNIQUE,
                display_phone_number text,
                account_id uuid REFERENCES wa_accounts(id),
                messages_per_second int NOT NULL DEFAULT 80 CHECK (messages_per_second > 0),
                messaging_tier text NOT NULL DEFAULT 'TIER_1K',
                quality_rating text,
                department text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            // Test sends (test: true, campaign test-sends) may go only to these numbers.
            """
            CREATE TABLE test_recipients (
                phone text PRIMARY KEY,
                name text,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE audit_log (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                actor text NOT NULL,
                action text NOT NULL,
                entity text NOT NULL,
                entity_id text,
                before jsonb,
                after jsonb)
            """,
            "CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at)",
            "CREATE INDEX audit_log_actor ON audit_log (actor, at)",
        ])
}
