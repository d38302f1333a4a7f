import CRMCore
import Metrics
import WireModels

/// What the normalizer found in the notifications it processed.
enum NormalizerMetrics {
    /// Every series at zero from the start, so that dashboards and `rate()` see them before
    /// the first webhook of each kind.
    static func register() {
        for type in MessageDetails.knownTypes.sorted() + ["unknown"] {
            _ = Counter(label: "crm_normalized_messages_total", dimensions: [("type", type)])
        }
        for status in DeliveryStatus.allCases.map(\.rawValue) + ["other"] {
            _ = Counter(label: "crm_normalized_statuses_total", dimensions: [("status", status)])
        }
        for kind in ["template", "account"] {
            _ = Counter(label: "crm_normalized_changes_total", dimensions: [("kind", kind)])
        }
        _ = Counter(label: "crm_webhook_unknown_total")
        _ = Counter(label: "crm_webhook_rejected_items_total")
    }

    static func count(_ out: WebhookNormalizer.Output) {
        for m in out.messages {
            // Unknown types share one label so a flood of new types cannot explode cardinality.
            let type = MessageDetails.knownTypes.contains(m.type) ? m.type : "unknown"
            Counter(label: "crm_normalized_messages_total", dimensions: [("type", type)]).increment()
        }
        for s in out.statuses {
            let status = DeliveryStatus(meta: s.status)?.rawValue ?? "other"
            Counter(label: "crm_normalized_statuses_total", dimensions: [("status", status)]).increment()
        }
        if !out.templateEvents.isEmpty {
            Counter(label: "crm_normalized_changes_total", dimensions: [("kind", "template")])
                .increment(by: out.templateEvents.count)
        }
        if !out.accountEvents.isEmpty {
            Counter(label: "crm_normalized_changes_total", dimensions: [("kind", "account")])
                .increment(by: out.accountEvents.count)
        }
        if !out.unknown.isEmpty {
            Counter(label: "crm_webhook_unknown_total").increment(by: out.unknown.count)
        }
        if !out.problems.isEmpty {
            Counter(label: "crm_webhook_rejected_items_total").increment(by: out.problems.count)
        }
    }
}
