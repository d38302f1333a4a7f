import Metrics

/// Routing decisions by outcome (`sticky_owner`, `owner`, `round_robin`, `queue`, `no_lead`,
/// `unassigned`) and rules passed over (`inactive_owner`, `no_active_agent`).
enum RoutingMetrics {
    static func decided(_ outcome: String) {
        Counter(label: "crm_routing_decisions_total", dimensions: [("outcome", outcome)]).increment()
    }

    static func skipped(_ why: String) {
        Counter(label: "crm_routing_rules_skipped_total", dimensions: [("why", why)]).increment()
    }
}
