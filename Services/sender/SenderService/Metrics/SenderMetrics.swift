import Metrics

/// Prometheus series of the send path:
/// - `crm_sends_total{outcome, decision}`: every attempt's result (`sent`, `blocked`,
///   `deferred`, `retrying`, `failed`, `dead_lettered`, `unknown`) and the decision behind it;
/// - `crm_governor_wait_seconds{limit}`: how long sends waited for a governor slot inline
///   (`number`) and how far deferrals pushed them (`number`, `pair`, `tier`);
/// - `crm_sender_alerts_total{reason}`: auth failures and halted numbers, for alerting;
/// - `crm_send_sweeps_total{outcome}`: requests the sweeper took over (`lease_released`,
///   `lease_unknown`, `queued_requeued`) or settled (`unknown_confirmed`, `unknown_expired`);
/// - `crm_graph_calls_total{phone_number_id}`: Cloud API send calls per business number, whose
///   rate is compared with the number's limit (`crm_number_mps_limit`, from the reporter);
/// - `crm_graph_errors_total{phone_number_id, code}`: Meta's error codes (130429 throttled,
///   131056 pair limit, 190 token, …), `unreachable` when no answer came.
enum SenderMetrics {
    /// The series whose label values are known in advance, at zero from the start, so that
    /// dashboards and alert rules see them before the first send of each kind.
    static func register() {
        for outcome in ["sent", "blocked", "deferred", "retrying", "failed", "dead_lettered", "unknown"] {
            _ = Counter(label: "crm_sends_total", dimensions: [("outcome", outcome), ("decision", "")])
        }
        for limit in ["number", "pair", "tier"] {
            _ = Metrics.Timer(label: "crm_governor_wait_seconds", dimensions: [("limit", limit)])
        }
        for reason in ["auth_failed", "number_halted"] {
            _ = Counter(label: "crm_sender_alerts_total", dimensions: [("reason", reason)])
        }
        for outcome in ["lease_released", "lease_unknown", "queued_requeued", "unknown_confirmed", "unknown_expired"] {
            _ = Counter(label: "crm_send_sweeps_total", dimensions: [("outcome", outcome)])
        }
    }

    static func graphCall(phoneNumberId: String) {
        Counter(label: "crm_graph_calls_total", dimensions: [("phone_number_id", phoneNumberId)]).increment()
    }

    static func graphError(phoneNumberId: String, code: String) {
        Counter(label: "crm_graph_errors_total", dimensions: [("phone_number_id", phoneNumberId), ("code", code)])
            .increment()
    }

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
