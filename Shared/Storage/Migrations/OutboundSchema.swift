/// Outbound: the template catalog synced from Meta and its variable mappings, the send
/// request's template/campaign/refusal/retry columns (the retry queue lives in
/// `send_requests`), and the governor's shared state (per-number pacing, per-recipient pair
/// pacing, the 24 h unique-recipient budget), kept in PostgreSQL so that every sender replica
/// draws from the same budget.
extension Schema {
    static let outbound = Migration(
        "0005_outbound",
        [
            """
            CREATE TABLE templates (
                waba_id text NOT NULL,
                name text NOT NULL,
                language text NOT NULL,
                template_id text,
                status text NOT NULL,
                category text,
                parameter_format text NOT NULL DEFAULT 'POSITIONAL',
                components jsonb NOT NULL DEFAULT '[]',
                variables jsonb NOT NULL DEFAULT '[]',
                quality_score text,
                rejected_reason text,
                synced_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (waba_id, name, language))
            """,
            "CREATE INDEX templates_name ON templates (name, language)",
            """
            CREATE TABLE template_mappings (
                waba_id text NOT NULL,
                name text NOT NULL,
                language text NOT NULL,
                mapping jsonb NOT NULL,
                updated_by text,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (waba_id, name, language))
            """,
            "ALTER TABLE send_requests ADD COLUMN kind text NOT NULL DEFAULT 'text'",
            "ALTER TABLE send_requests ADD COLUMN template_name text",
            "ALTER TABLE send_requests ADD COLUMN template_language text",
            "ALTER TABLE send_requests ADD COLUMN campaign_id uuid",
            "ALTER TABLE send_requests ADD COLUMN test boolean NOT NULL DEFAULT false",
            "ALTER TABLE send_requests ADD COLUMN blocked_reason text",
            "ALTER TABLE send_requests ADD COLUMN http_attempts int NOT NULL DEFAULT 0",
            // The retry queue: due rows are claimed with FOR UPDATE SKIP LOCKED and leased by
            // pushing next_attempt_at forward, so a replica that dies mid-send releases them.
            "ALTER TABLE send_requests ADD COLUMN next_attempt_at timestamptz",
            "CREATE INDEX send_requests_due ON send_requests (next_attempt_at) WHERE state = 'retrying'",
            "ALTER TABLE send_attempts ADD COLUMN next_attempt_at timestamptz",
            // GCRA pacing of a business number: `tat` is the theoretical arrival time of the next
            // send; a back-off (130429, maintenance, auth) pushes it forward for every replica.
            """
            CREATE TABLE sender_numbers (
                phone_number_id text PRIMARY KEY,
                tat timestamptz NOT NULL DEFAULT now(),
                paused_until timestamptz,
                pause_reason text,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            // Pair pacing (sender → recipient) and the consecutive 131056 count for 4^n back-off.
            """
            CREATE TABLE sender_pairs (
                phone_number_id text NOT NULL,
                wa_id text NOT NULL,
                tat timestamptz NOT NULL DEFAULT now(),
                pair_limit_hits int NOT NULL DEFAULT 0,
                PRIMARY KEY (phone_number_id, wa_id))
            """,
            // Unique recipients of business-initiated (template) sends per number, for the
            // messaging-tier budget over a rolling 24 h.
            """
            CREATE TABLE sender_tier_recipients (
                phone_number_id text NOT NULL,
                wa_id text NOT NULL,
                last_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (phone_number_id, wa_id))
            """,
            "CREATE INDEX sender_tier_recipients_at ON sender_tier_recipients (phone_number_id, last_at)",
        ])
}
