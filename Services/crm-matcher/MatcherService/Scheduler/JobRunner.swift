import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Claims due `scheduled_jobs` and fires each in its own transaction: the job's effects, its
/// activity events and the `fired` mark commit together, and only while this instance still
/// holds the claim, so a job fires exactly once however many replicas run and whenever they
/// stop. A job whose effects fail goes back to the queue with a backoff.
public struct JobRunner: Sendable {
    let postgres: PostgresClient
    let settings: AutomationSettings
    /// This replica's name in `claimed_by` / `fired_by`.
    public let instance: String
    let logger: Logger

    public init(postgres: PostgresClient, settings: AutomationSettings, instance: String, logger: Logger) {
        self.postgres = postgres
        self.settings = settings
        self.instance = instance
        self.logger = logger
    }

    /// Another instance took the job over after this one's lease ran out: it fires it.
    struct LostClaim: Error {}

    /// One round: claims up to `batchSize` due jobs and fires them. Returns how many fired and
    /// what the rounds' transactions left to publish.
    public func runDue() async throws -> (fired: Int, outbox: OutboxCommit) {
        let leaseMs = Int(
            settings.lease.components.seconds * 1000 + settings.lease.components.attoseconds / 1_000_000_000_000_000)
        let jobs = try await ScheduleStore.claimDue(
            limit: settings.batchSize, leaseMs: leaseMs, instance: instance, on: postgres, logger: logger)
        var fired = 0
        var committed = OutboxCommit()
        for job in jobs {
            let log = logger.with(["job_id": "\(job.id)", "job_kind": "\(job.kind)", "job_key": "\(job.key)"])
            if job.takenOver {
                Counter(label: "crm_scheduler_takeovers_total", dimensions: [("kind", job.kind)]).increment()
                log.notice("scheduled job taken over: the instance that claimed it let its lease run out")
            }
            do {
                let (outcome, outbox) = try await postgres.transaction(logger: log) { conn in
                    var outbox = ActivityOutbox(conn: conn, logger: log)
                    let outcome = try await apply(job, outbox: &outbox)
                    guard try await ScheduleStore.fire(job, instance: instance, outcome: outcome, on: conn, logger: log)
                    else { throw LostClaim() }
                    return (outcome, outbox.committed)
                }
                fired += 1
                committed = committed + outbox
                Counter(label: "crm_scheduler_jobs_total", dimensions: [("kind", job.kind), ("outcome", outcome)])
                    .increment()
                Metrics.Timer(label: "crm_scheduler_fire_delay_seconds", dimensions: [("kind", job.kind)])
                    .recordSeconds(max(0, Date().timeIntervalSince(job.dueAt)))
                log.info("scheduled job fired", metadata: ["outcome": "\(outcome)", "instance": "\(instance)"])
            } catch is LostClaim {
                log.notice("scheduled job taken over by another instance")
            } catch {
                Counter(label: "crm_scheduler_jobs_total", dimensions: [("kind", job.kind), ("outcome", "error")])
                    .increment()
                log.warning("scheduled job failed, will retry", metadata: ["error": "\(error)"])
                let backoff = Duration.seconds(min(300, 1 << min(job.attempts, 8)))
                try? await ScheduleStore.release(
                    job, instance: instance, error: "\(error)", retryIn: backoff, maxAttempts: settings.maxAttempts,
                    on: postgres, logger: log)
            }
        }
        return (fired, committed)
    }

    /// The job's effects; returns its outcome (`reminded`, `skipped`, `replied`, `executed` …).
    func apply(_ job: ClaimedJob, outbox: inout ActivityOutbox) async throws -> String {
        switch job.kind {
        case "task_due":
            guard let id = job.payload["task_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                return "invalid"
            }
            guard
                let task = try await TaskStore.markReminded(
                    id: id, key: job.key, on: outbox.conn, logger: outbox.logger)
            else { return "skipped" }
            try await outbox.add(
                "task.reminder_fired", entity: "task", id: task.id, contact: task.contactId, version: task.version,
                data: [
                    "title": .string(task.title),
                    "owner_id": task.ownerId.map { .string($0.uuidString.lowercased()) } ?? .null,
                    "due_at": task.dueAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
                    "job_id": .number(Double(job.id)),
                ])
            return "reminded"
        case "no_reply":
            return try await noReply(job, outbox: &outbox)
        default:
            return "unknown_kind"
        }
    }

    /// "No agent reply within N": if nothing went out to the contact since the inbound message,
    /// the rule's actions run (once per message: the execution key is `no_reply:<wamid>`).
    func noReply(_ job: ClaimedJob, outbox: inout ActivityOutbox) async throws -> String {
        guard let ruleId = job.payload["rule_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let contactId = job.payload["contact_id"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let wamid = job.payload["wamid"]?.stringValue,
            let at = job.payload["at"]?.stringValue.flatMap(RFC3339.date(from:))
        else { return "invalid" }
        if try await MessageStore.sentSince(at, to: contactId, on: outbox.conn, logger: outbox.logger) {
            return "replied"
        }
        guard let rule = try await WorkflowStore.get(id: ruleId, lock: false, on: outbox.conn, logger: outbox.logger),
            rule.active
        else { return "rule_inactive" }
        let event = WorkflowEngine.Event(
            id: "no_reply:\(wamid)", contactId: contactId, at: Date(),
            phoneNumberId: job.payload["phone_number_id"]?.stringValue)
        let ran = try await WorkflowEngine(settings: settings).execute(rule, event: event, outbox: &outbox)
        return ran ? "executed" : "already_executed"
    }
}
