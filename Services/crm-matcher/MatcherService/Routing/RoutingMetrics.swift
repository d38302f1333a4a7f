import Metrics
import Storage

/// Routing decisions by outcome (`sticky_owner`, `owner`, `round_robin`, `queue`, `no_lead`,
/// `unassigned`) and rules passed over (`inactive_owner`, `no_active_agent`).
enum RoutingMetrics {
    static let outcomes = OwnerAssignment.Method.allCases.map(\.rawValue) + ["no_lead", "unassigned"]

    /// The matcher's series at zero from the start (routing, workflows, the scheduler), so
    /// that dashboards and `rate()` see them before the first decision of each kind.
    static func register() {
        for outcome in outcomes {
            _ = Counter(label: "crm_routing_decisions_total", dimensions: [("outcome", outcome)])
        }
        for why in ["inactive_owner", "no_active_agent"] {
            _ = Counter(label: "crm_routing_rules_skipped_total", dimensions: [("why", why)])
        }
        for outcome in ["done", "partial", "skipped"] {
            _ = Counter(label: "crm_workflow_executions_total", dimensions: [("outcome", outcome)])
        }
        for kind in ["task_due", "no_reply"] {
            _ = Counter(label: "crm_scheduler_jobs_total", dimensions: [("kind", kind), ("outcome", "error")])
            _ = Metrics.Timer(label: "crm_scheduler_fire_delay_seconds", dimensions: [("kind", kind)])
            _ = Counter(label: "crm_scheduler_takeovers_total", dimensions: [("kind", kind)])
        }
    }

    static func decided(_ outcome: String) {
        Counter(label: "crm_routing_decisions_total", dimensions: [("outcome", outcome)]).increment()
    }

    static func skipped(_ why: String) {
        Counter(label: "crm_routing_rules_skipped_total", dimensions: [("why", why)]).increment()
    }
}
