/// CRM matching: contacts keyed by their canonical WhatsApp number (`match_key`), the history of
/// number changes, leads (at most one open per contact), conversations per contact and business
/// number, the consent ledger, and the `crm_activity` outbox that feeds `crm.activity` and the
/// contact timeline.
extension Schema {
    static let crmMatching = Migration(
        "0004_crm_matching",
        [
            // match_key: WhatsApp's canonical E.164 form (PhoneNumber.whatsAppKey) so the BR/MX/AR
            // variants of one person are one row; `wa:<digits>` for a wa_id the parser rejects.
            "ALTER TABLE contacts ADD COLUMN match_key text UNIQUE",
            "ALTER TABLE contacts ADD COLUMN name_source text CHECK (name_source IN ('whatsapp', 'api'))",
            "ALTER TABLE contacts ADD COLUMN version int NOT NULL DEFAULT 1",
            "ALTER TABLE contacts ADD COLUMN opted_out_at timestamptz",
            // Rows from before this migration: the stored phone was "+" + wa_id, close enough to
            // the key; a name equal to the profile name came from WhatsApp.
            """
            UPDATE contacts SET match_key = COALESCE(phone, 'wa:' || wa_id),
                name_source = CASE WHEN name IS NULL THEN NULL
                                   WHEN name IS NOT DISTINCT FROM profile_name THEN 'whatsapp' ELSE 'api' END
            """,
            "CREATE INDEX contacts_owner ON contacts (owner_id, created_at DESC, id DESC)",
            "CREATE INDEX contacts_created ON contacts (created_at DESC, id DESC)",
            """
            CREATE TABLE contact_number_changes (
                id bigserial PRIMARY KEY,
                contact_id uuid NOT NULL REFERENCES contacts(id),
                old_phone text,
                old_wa_id text,
                new_phone text,
                new_wa_id text NOT NULL,
                wamid text UNIQUE,
                outcome text NOT NULL CHECK (outcome IN ('moved', 'conflict')),
                conflicting_contact_id uuid,
                changed_at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX contact_number_changes_contact ON contact_number_changes (contact_id, changed_at)",
            """
            CREATE TABLE leads (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                contact_id uuid NOT NULL REFERENCES contacts(id),
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
                stage text NOT NULL DEFAULT 'new',
                owner_id uuid REFERENCES users(id),
                source jsonb,
                campaign_id uuid,
                phone_number_id text,
                opened_by_wamid text,
                opened_at timestamptz NOT NULL,
                last_activity_at timestamptz NOT NULL,
                closed_at timestamptz,
                version int NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            // The rule "at most one open lead per contact", enforced by the database.
            "CREATE UNIQUE INDEX leads_one_open_per_contact ON leads (contact_id) WHERE status = 'open'",
            "CREATE INDEX leads_contact ON leads (contact_id, opened_at)",
            "CREATE INDEX leads_owner ON leads (owner_id, opened_at DESC, id DESC)",
            "CREATE INDEX leads_opened ON leads (opened_at DESC, id DESC)",
            """
            CREATE TABLE conversations (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                contact_id uuid NOT NULL REFERENCES contacts(id),
                phone_number_id text NOT NULL,
                lead_id uuid REFERENCES leads(id),
                opened_by_wamid text,
                opened_at timestamptz NOT NULL,
                last_inbound_at timestamptz NOT NULL,
                last_outbound_at timestamptz,
                first_response_at timestamptz,
                first_response_wamid text,
                closed_at timestamptz)
            """,
            """
            CREATE UNIQUE INDEX conversations_one_current ON conversations (contact_id, phone_number_id)
                WHERE closed_at IS NULL
            """,
            "CREATE INDEX conversations_contact ON conversations (contact_id, opened_at)",
            """
            CREATE TABLE consent_ledger (
                id bigserial PRIMARY KEY,
                contact_id uuid NOT NULL REFERENCES contacts(id),
                opted_out boolean NOT NULL,
                how text NOT NULL CHECK (how IN ('keyword', 'marketing_preferences', 'api')),
                detail text,
                wamid text,
                source_event_id text UNIQUE,
                actor text NOT NULL DEFAULT 'system',
                at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX consent_ledger_contact ON consent_ledger (contact_id, at)",
            // Outbox: each CRM change is written here in its transaction and published to
            // crm.activity after the commit (a relay publishes what a crash left behind).
            """
            CREATE TABLE crm_activity (
                id bigserial PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                kind text NOT NULL,
                entity text NOT NULL,
                entity_id text NOT NULL,
                contact_id uuid,
                version int NOT NULL,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                data jsonb,
                created_at timestamptz NOT NULL DEFAULT now(),
                published_at timestamptz)
            """,
            "CREATE INDEX crm_activity_contact ON crm_activity (contact_id, at, id)",
            "CREATE INDEX crm_activity_unpublished ON crm_activity (id) WHERE published_at IS NULL",
        ])
}
