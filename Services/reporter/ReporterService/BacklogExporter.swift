import CRMCore
import Foundation
import Logging
import Metrics
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import Synchronization

/// Exports the work waiting in PostgreSQL (`BacklogReport`) as gauges, every
/// `BACKLOG_PROBE_INTERVAL_MS`: the retry queue, unsettled sends, the scheduler's due and
/// overdue jobs, each running campaign's progress and failures by code, each outbound-webhook
/// endpoint's pending deliveries, each number's pace limit and pause, open failures per stage.
/// Series of a campaign, endpoint or number that is gone are removed, not left at their last value.
public final class BacklogExporter: Sendable {
    let postgres: PostgresClient
    let interval: Duration
    let gate: StartupGate
    let logger: Logger
    let errors = Counter(label: "crm_backlog_probe_errors_total")
    /// Gauges of the previous round, by label and dimensions, to remove the ones not seen again.
    let exported = Mutex<[String: Gauge]>([:])

    public init(postgres: PostgresClient, environment: Environment = Environment(), gate: StartupGate, logger: Logger)
        throws
    {
        self.postgres = postgres
        interval = .milliseconds(try environment.int("BACKLOG_PROBE_INTERVAL_MS", default: 15_000))
        self.gate = gate
        self.logger = logger
    }

    public var service: PeriodicService {
        PeriodicService("backlog probe", every: interval, gate: gate, logger: logger) { [self] in
            do {
                export(
                    try await BacklogReport.read(defaultMPS: NumberSettings.defaultMPS, on: postgres, logger: logger))
            } catch {
                errors.increment()
                throw error
            }
            return false
        }
    }

    /// Every gauge of one snapshot, then the removal of those the snapshot no longer has.
    func export(_ backlog: Backlog) {
        var values: [(label: String, dimensions: [(String, String)], value: Double)] = []
        let sends = backlog.sends
        for (state, count) in [
            ("queued", sends.queued), ("sending", sends.sending), ("unknown", sends.unknown),
            ("retrying", sends.retrying),
        ] {
            values.append((label: "crm_sends_unsettled", dimensions: [("state", state)], Double(count)))
        }
        values.append((label: "crm_send_retry_due", dimensions: [], Double(sends.retryingDue)))
        values.append((label: "crm_send_retry_oldest_seconds", dimensions: [], sends.oldestRetryingSeconds))
        let jobs = backlog.scheduler
        for (state, count) in [
            ("pending", jobs.pending), ("due", jobs.due), ("overdue", jobs.overdue),
            ("expired_lease", jobs.expiredLeases),
        ] {
            values.append((label: "crm_scheduler_backlog", dimensions: [("state", state)], Double(count)))
        }
        values.append((label: "crm_scheduler_oldest_overdue_seconds", dimensions: [], jobs.oldestOverdueSeconds))
        for campaign in backlog.campaigns {
            let id = [("campaign_id", campaign.id.uuidString.lowercased()), ("campaign", campaign.name)]
            values.append((label: "crm_campaign_progress_ratio", dimensions: id, campaign.progress))
            values.append(
                (label: "crm_campaign_recipients", dimensions: id + [("state", "pending")], Double(campaign.pending)))
            for (state, count) in campaign.sends {
                values.append((label: "crm_campaign_recipients", dimensions: id + [("state", state)], Double(count)))
            }
            for (code, count) in campaign.failuresByCode {
                values.append((label: "crm_campaign_failures", dimensions: id + [("code", code)], Double(count)))
            }
        }
        for endpoint in backlog.endpoints {
            let id = [("webhook_id", endpoint.id.uuidString.lowercased()), ("endpoint", endpoint.host)]
            values.append((label: "crm_outbound_webhook_pending", dimensions: id, Double(endpoint.pending)))
            values.append(
                (label: "crm_outbound_webhook_oldest_pending_seconds", dimensions: id, endpoint.oldestPendingSeconds))
        }
        for number in backlog.numbers {
            let id = [("phone_number_id", number.phoneNumberId)]
            values.append((label: "crm_number_mps_limit", dimensions: id, Double(number.messagesPerSecond)))
            values.append((label: "crm_number_paused_seconds", dimensions: id, number.pausedSeconds))
        }
        for (stage, count) in backlog.openFailures {
            values.append((label: "crm_failures_open", dimensions: [("stage", stage)], Double(count)))
        }

        exported.withLock { exported in
            var seen: [String: Gauge] = [:]
            for (label, dimensions, value) in values {
                let key = label + "|" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let gauge = exported[key] ?? Gauge(label: label, dimensions: dimensions)
                gauge.record(value)
                seen[key] = gauge
            }
            for (key, gauge) in exported where seen[key] == nil { gauge.destroy() }
            exported = seen
        }
    }
}
