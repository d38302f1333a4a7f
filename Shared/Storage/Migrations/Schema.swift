import CRMCore
import WireModels

/// Every migration, in order. Append only: an applied migration is never edited.
public enum Schema {
    public static let migrations: [Migration] = [
        initial, replayAndDetails, accounts, crmMatching, outbound, access, outboundWebhooks,
        sendPath, campaigns, tasksWorkflows, routingRules, reports, hotUpdates, sendLeases, tokenLineage,
        webhookSecrets, backlog, traces, recordHeaders,
    ]

    /// Rank of a delivery status for the forward-only UPDATEs, generated from `DeliveryStatus`
    /// so the state machine is defined in one place.
    static var statusRankFunction: String {
        let cases = DeliveryStatus.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined(separator: " ")
        return """
            CREATE OR REPLACE FUNCTION crm_status_rank(s text) RETURNS int LANGUAGE sql IMMUTABLE AS
            $$ SELECT CASE s \(cases) ELSE -1 END $$
            """
    }

    static let initial = Migration(
        "0001_initial",
        [
            """
            CREATE TABLE webhook_raw (
                id bigserial PRIMARY KEY,
                sha256 text NOT NULL UNIQUE,
                body text NOT NULL,
                received_at timestamptz NOT NULL,
                archived_at timestamptz NOT NULL DEFAULT now(),
                state text NOT NULL DEFAULT 'received'
                    CHECK (state IN ('received', 'processed', 'partial', 'failed')),
                error text,
                processed_at timestamptz)
            """,
            "CREATE INDEX webhook_raw_received_at ON webhook_raw (received_at)",
            """
            CREATE TABLE users (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL,
                email text UNIQUE,
                role text NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
                department text,
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE api_tokens (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL REFERENCES users(id),
                name text NOT NULL,
                token_sha256 text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz,
                revoked_at timestamptz,
                last_used_at timestamptz)
            """,
            """
            CREATE TABLE contacts (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                phone text UNIQUE,
                wa_id text UNIQUE,
                user_id text UNIQUE,
                name text,
                profile_name text,
                owner_id uuid REFERENCES users(id),
                tags text[] NOT NULL DEFAULT '{}',
                source jsonb,
                opted_out boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK (wa_id IS NOT NULL OR user_id IS NOT NULL OR phone IS NOT NULL))
            """,
            statusRankFunction,
            """
            CREATE TABLE messages (
                wamid text PRIMARY KEY,
                direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
                contact_id uuid REFERENCES contacts(id),
                waba_id text,
                phone_number_id text,
                counterpart_wa_id text,
                type text NOT NULL,
                text text,
                content jsonb,
                template text,
                campaign_id uuid,
                context_wamid text,
                send_request_id text,
                status text CHECK (status IS NULL OR crm_status_rank(status) >= 0),
                status_at timestamptz,
                sent_at timestamptz,
                delivered_at timestamptz,
                read_at timestamptz,
                failed_at timestamptz,
                last_error jsonb,
                meta_timestamp timestamptz,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX messages_contact ON messages (contact_id, created_at)",
            """
            CREATE TABLE message_status_events (
                id bigserial PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                wamid text NOT NULL,
                status text NOT NULL,
                occurred_at timestamptz NOT NULL,
                error_code int,
                errors jsonb,
                recipient_id text,
                conversation jsonb,
                pricing jsonb,
                biz_opaque_callback_data text,
                received_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX message_status_events_wamid ON message_status_events (wamid, occurred_at)",
            """
            CREATE TABLE send_requests (
                request_id text PRIMARY KEY,
                to_wa_id text NOT NULL,
                phone_number_id text,
                payload jsonb NOT NULL,
                state text NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'blocked')),
                wamid text,
                requested_by text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE send_attempts (
                id bigserial PRIMARY KEY,
                request_id text NOT NULL REFERENCES send_requests(request_id),
                attempt int NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                http_status int,
                error_code int,
                error jsonb,
                retryable boolean NOT NULL DEFAULT false,
                decision text NOT NULL,
                UNIQUE (request_id, attempt))
            """,
            """
            CREATE TABLE failures (
                id bigserial PRIMARY KEY,
                stage text NOT NULL,
                topic text NOT NULL,
                kafka_partition int NOT NULL,
                kafka_offset bigint NOT NULL,
                event_id text,
                error text NOT NULL,
                attempts int NOT NULL,
                payload text NOT NULL,
                first_at timestamptz NOT NULL DEFAULT now(),
                last_at timestamptz NOT NULL DEFAULT now(),
                state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'replayed', 'resolved')),
                UNIQUE (stage, topic, kafka_partition, kafka_offset))
            """,
        ])

    /// Failures keep their record key so a replay lands on the same partition (same order);
    /// messages keep the typed details beside Meta's original object.
    static let replayAndDetails = Migration(
        "0002_replay_and_details",
        [
            "ALTER TABLE failures ADD COLUMN record_key text",
            "ALTER TABLE failures ADD COLUMN replayed_at timestamptz",
            "CREATE INDEX failures_stage_last_at ON failures (stage, last_at)",
            "ALTER TABLE messages ADD COLUMN details jsonb",
            "ALTER TABLE messages ADD COLUMN received_at timestamptz",
            "CREATE INDEX messages_context ON messages (context_wamid) WHERE context_wamid IS NOT NULL",
        ])
}
