/// Owner routing rules: the ordered rules crm-matcher evaluates when an enquiry opens a lead,
/// one round-robin cursor per department, and every assignment with its reason.
extension Schema {
    static let routingRules = Migration(
        "0009_routing_rules",
        [
            // `name` is the natural key the config file upserts by; the rules are evaluated by
            // (position, created_at, id), first match wins.
            """
            CREATE TABLE routing_rules (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL UNIQUE,
                position int NOT NULL CHECK (position >= 0),
                active boolean NOT NULL DEFAULT true,
                kind text NOT NULL CHECK (kind IN
                    ('sticky_owner', 'phone_number', 'department', 'keyword', 'payload', 'ad', 'campaign', 'fallback')),
                match_values text[] NOT NULL DEFAULT '{}',
                assign_owner_id uuid REFERENCES users(id),
                assign_round_robin text,
                assign_queue text,
                contact_owner text NOT NULL DEFAULT 'if_unassigned'
                    CHECK (contact_owner IN ('if_unassigned', 'always', 'never')),
                open_lead boolean NOT NULL DEFAULT true,
                created_by text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK (num_nonnulls(assign_owner_id, assign_round_robin, assign_queue) <= 1))
            """,
            "CREATE INDEX routing_rules_order ON routing_rules (position, created_at, id)",
            // Where stickiness sits (or that it is off) is one rule, never two.
            "CREATE UNIQUE INDEX routing_rules_one_sticky ON routing_rules (kind) WHERE kind = 'sticky_owner'",
            // Round-robin: the agent who got the department's last lead. Rule writes create the row,
            // so the matcher only locks and updates it.
            """
            CREATE TABLE routing_cursors (
                department text PRIMARY KEY,
                last_owner_id uuid,
                assigned bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE owner_assignments (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                contact_id uuid NOT NULL REFERENCES contacts(id),
                lead_id uuid REFERENCES leads(id),
                owner_id uuid REFERENCES users(id),
                queue text,
                rule_id uuid REFERENCES routing_rules(id),
                method text NOT NULL CHECK (method IN ('sticky_owner', 'owner', 'round_robin', 'queue')),
                reason text NOT NULL,
                contact_owner_set boolean NOT NULL DEFAULT false,
                source_event_id text NOT NULL UNIQUE,
                at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX owner_assignments_contact ON owner_assignments (contact_id, at)",
            "CREATE INDEX owner_assignments_owner ON owner_assignments (owner_id, at)",
        ])
}
