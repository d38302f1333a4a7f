import Foundation
import Kafka
import Logging
import Metrics
import ServiceKit
import ServiceLifecycle

/// Exports, for every consumer group of the system, lag per topic and partition
/// (end offset − committed offset) and the age of the oldest unprocessed record, measured
/// from the broker. Workers report their own lag too, but a group whose workers are all down
/// reports nothing itself: this view is what shows a stopped stage.
public struct GroupLagExporter: Sendable {
    let admin: KafkaAdminClient
    let interval: Duration
    let gate: StartupGate
    let logger: Logger
    let errors = Counter(label: "crm_consumer_group_lag_probe_errors_total")
    /// Consumer group id → its topics, and group id → stage.
    let groups: [String: [String]]
    let stageOf: [String: String]

    public init(context: WorkerContext, environment: Environment = Environment(), gate: StartupGate) throws {
        admin = context.admin
        interval = .milliseconds(try environment.int("LAG_PROBE_INTERVAL_MS", default: 15_000))
        self.gate = gate
        logger = context.logger
        (groups, stageOf) = ConsumerGroups.groups(context.config)
    }

    /// The probe as a background service, every `LAG_PROBE_INTERVAL_MS`.
    public var service: PeriodicService {
        PeriodicService("consumer-group lag probe", every: interval, gate: gate, logger: logger) {
            await measure()
            return false
        }
    }

    /// One measurement of every group; a SIGTERM stops it between groups.
    func measure() async {
        do {
            let (groups, admin) = (groups, admin)
            let rows = try await cancelWhenGracefulShutdown {
                try await admin.measureLag(groups: groups, timeout: .seconds(5))
            }
            let now = Date()
            for row in rows {
                let dims = [
                    ("stage", stageOf[row.group] ?? row.group), ("topic", row.topic), ("partition", "\(row.partition)"),
                ]
                Gauge(label: "crm_consumer_group_lag", dimensions: dims).record(row.lag)
                Gauge(label: "crm_consumer_group_oldest_unprocessed_seconds", dimensions: dims)
                    .record(row.oldestUnprocessedAge(at: now))
            }
        } catch is CancellationError {
            return
        } catch {
            errors.increment()
            logger.warning("could not measure consumer-group lag", metadata: ["error": "\(error)"])
        }
    }
}
