import Foundation
import Kafka
import Metrics
import Synchronization

/// Per-stage Prometheus series: processed / failed (dead-lettered) / retried counters, waits
/// for a database or broker outage, batch duration, record age at processing time, and
/// consumer lag per partition.
final class StageMetrics: Sendable {
    let stage: String
    let processed: Counter
    let failed: Counter
    let retried: Counter
    /// `crm_outage_waits_total`: waits for PostgreSQL or the broker that spent no attempts.
    let outageWaits: Counter
    /// `crm_batches_abandoned_total`: handler calls given up after `max.poll.interval.ms`.
    let abandoned: Counter
    let batchDuration: Metrics.Timer
    let recordAge: Metrics.Timer
    private let reported = Mutex(Set<PartitionKey>())

    struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    init(stage: String) {
        self.stage = stage
        let dims = [("stage", stage)]
        processed = Counter(label: "crm_records_processed_total", dimensions: dims)
        failed = Counter(label: "crm_records_failed_total", dimensions: dims)
        retried = Counter(label: "crm_records_retried_total", dimensions: dims)
        outageWaits = Counter(label: "crm_outage_waits_total", dimensions: dims)
        abandoned = Counter(label: "crm_batches_abandoned_total", dimensions: dims)
        batchDuration = Metrics.Timer(label: "crm_batch_duration_seconds", dimensions: dims)
        recordAge = Metrics.Timer(label: "crm_record_age_seconds", dimensions: dims)
    }

    func batchDone(records: [KafkaRecord], since started: ContinuousClock.Instant) {
        processed.increment(by: records.count)
        batchDuration.recordInterval(since: started)
        let now = Date()
        for r in records {
            if let ts = r.timestamp { recordAge.recordSeconds(max(0, now.timeIntervalSince(ts))) }
        }
    }

    func report(lag: [PartitionLag]) {
        for p in lag {
            Gauge(
                label: "crm_consumer_lag",
                dimensions: [("stage", stage), ("topic", p.topic), ("partition", "\(p.partition)")]
            ).record(p.lag)
        }
    }
}

extension Metrics.Timer {
    public func recordInterval(since start: ContinuousClock.Instant) {
        let d = ContinuousClock.now - start
        recordNanoseconds(Int64(d.components.seconds) * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }
}
