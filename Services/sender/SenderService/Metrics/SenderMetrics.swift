import Metrics

/// Prometheus series of the send path:
/// - `crm_sends_total{outcome, decision}`: every attempt's result (`sent`, `blocked`,
///   `deferred`, `retrying`, `failed`, `dead_lettered`, `unknown`) and the decision behind it;
/// - `crm_governor_wait_seconds{limit}`: how long sends waited for a governor slot inline
///   (`number`) and how far deferrals pushed them (`number`, `pair`, `tier`);
/// - `crm_sender_alerts_total{reason}`: auth failures and halted numbers, for alerting;
/// - `crm_send_sweeps_total{outcome}`: requests the sweeper took over (`lease_released`,
///   `lease_unknown`, `queued_requeued`) or settled (`unknown_confirmed`, `unknown_expired`).
enum SenderMetrics {
    static func send(outcome: String, decision: String) {
        Counter(label: "crm_sends_total", dimensions: [("outcome", outcome), ("decision", decision)]).increment()
    }

    static func governorWait(limit: String, seconds: Double) {
        Metrics.Timer(label: "crm_governor_wait_seconds", dimensions: [("limit", limit)])
            .recordSeconds(max(0, seconds))
    }

    static func alert(_ reason: String) {
        Counter(label: "crm_sender_alerts_total", dimensions: [("reason", reason)]).increment()
    }

    static func swept(_ outcome: String, count: Int) {
        Counter(label: "crm_send_sweeps_total", dimensions: [("outcome", outcome)]).increment(by: count)
    }
}
