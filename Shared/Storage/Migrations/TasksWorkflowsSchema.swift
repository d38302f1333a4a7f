/// Tasks, the durable schedule (reminders, no-reply checks) and workflow rules with their
/// executions. Every automatic write has a natural key, so a redelivered event or a second
/// scheduler replica changes nothing: `tasks.source_event_id`, `scheduled_jobs.job_key`,
/// `workflow_executions (rule_id, trigger_event_id)`.
extension Schema {
    static let tasksWorkflows = Migration(
        "0008_tasks_workflows",
        [
            """
            CREATE TABLE tasks (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                contact_id uuid NOT NULL REFERENCES contacts(id),
                lead_id uuid REFERENCES leads(id),
                owner_id uuid REFERENCES users(id),
                title text NOT NULL,
                kind text NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'follow_up', 'escalation')),
                due_at timestamptz,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
                source_event_id text UNIQUE,
                created_by text NOT NULL,
                reminded_at timestamptz,
                version int NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                completed_at timestamptz)
            """,
            "CREATE INDEX tasks_created ON tasks (created_at DESC, id DESC)",
            "CREATE INDEX tasks_owner ON tasks (owner_id, created_at DESC, id DESC)",
            "CREATE INDEX tasks_contact ON tasks (contact_id, created_at DESC)",
            "CREATE INDEX tasks_open_due ON tasks (due_at) WHERE status = 'open'",
            """
            CREATE TABLE scheduled_jobs (
                id bigserial PRIMARY KEY,
                job_key text NOT NULL UNIQUE,
                kind text NOT NULL CHECK (kind IN ('task_due', 'no_reply')),
                due_at timestamptz NOT NULL,
                payload jsonb NOT NULL,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'fired', 'cancelled')),
                attempts int NOT NULL DEFAULT 0,
                claimed_by text,
                lease_until timestamptz,
                fired_at timestamptz,
                fired_by text,
                outcome text,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_at) WHERE state IN ('pending', 'claimed')",
            """
            CREATE TABLE workflow_rules (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                name text NOT NULL,
                trigger jsonb NOT NULL,
                conditions jsonb NOT NULL DEFAULT '[]',
                actions jsonb NOT NULL,
                position int NOT NULL DEFAULT 100,
                active boolean NOT NULL DEFAULT true,
                version int NOT NULL DEFAULT 1,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX workflow_rules_order ON workflow_rules (position, id) WHERE active",
            """
            CREATE TABLE workflow_executions (
                id bigserial PRIMARY KEY,
                rule_id uuid NOT NULL REFERENCES workflow_rules(id) ON DELETE CASCADE,
                trigger_event_id text NOT NULL,
                contact_id uuid REFERENCES contacts(id),
                actions jsonb NOT NULL DEFAULT '[]',
                outcome text NOT NULL,
                executed_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (rule_id, trigger_event_id))
            """,
            // Template sends a rule queued, published to wa.outbound.request after the commit
            // (a relay republishes any a crash left behind; the request id makes it idempotent).
            """
            CREATE TABLE workflow_sends (
                request_id text PRIMARY KEY,
                execution_id bigint NOT NULL REFERENCES workflow_executions(id) ON DELETE CASCADE,
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                published_at timestamptz)
            """,
            "CREATE INDEX workflow_sends_unpublished ON workflow_sends (created_at) WHERE published_at IS NULL",
        ])
}
