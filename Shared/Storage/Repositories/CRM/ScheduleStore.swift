import Foundation
import PostgresNIO
import WireModels

/// One due job handed to a scheduler instance.
public struct ClaimedJob: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var key: String
    public var dueAt: Date
    public var payload: JSONValue
    public var attempts: Int
    /// Claimed from an instance whose lease ran out (it died or stalled mid-job).
    public var takenOver: Bool = false
}

/// The durable schedule (`scheduled_jobs`): task reminders and "no reply within N" checks.
/// Jobs survive restarts because they are rows; `job_key` is unique, so scheduling the same
/// thing twice (a redelivered event) adds nothing. Firing is exactly once: an instance claims
/// due jobs with `FOR UPDATE SKIP LOCKED` and a lease, then applies the job's effects and
/// `fire` in one transaction, and `fire` succeeds only for the instance that holds the claim.
/// A crashed instance's lease runs out and another one claims the job again.
public enum ScheduleStore {
    /// Schedules a job; a cancelled job with the same key is revived. Returns whether it is new.
    @discardableResult
    public static func schedule(
        kind: String, key: String, dueAt: Date, payload: [String: JSONValue], on conn: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        let json = try JSONCoding.text(JSONValue.object(payload))
        let rows = try await conn.query(
            """
            INSERT INTO scheduled_jobs (job_key, kind, due_at, payload) VALUES (\(key), \(kind), \(dueAt), \(json)::jsonb)
            ON CONFLICT (job_key) DO UPDATE SET state = 'pending', due_at = EXCLUDED.due_at, claimed_by = NULL,
                lease_until = NULL
            WHERE scheduled_jobs.state = 'cancelled'
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Cancels the pending jobs of `kind` whose payload names `subject` (e.g. a task's
    /// reminders), except the one with key `except`.
    public static func cancel(
        kind: String, subject: (field: String, value: String), except: String?, on conn: PostgresConnection,
        logger: Logger
    ) async throws {
        try await conn.query(
            """
            UPDATE scheduled_jobs SET state = 'cancelled', outcome = 'superseded'
            WHERE kind = \(kind) AND state = 'pending' AND payload ->> \(subject.field) = \(subject.value)
              AND job_key IS DISTINCT FROM \(except)
            """, logger: logger)
    }

    /// Claims up to `limit` due jobs for `instance`, oldest due first, leased for `leaseMs`.
    /// Jobs another instance holds are skipped; a claim whose lease ran out is taken over.
    public static func claimDue(
        limit: Int, leaseMs: Int, instance: String, on client: PostgresClient, logger: Logger
    ) async throws -> [ClaimedJob] {
        let rows = try await client.query(
            """
            WITH due AS (
                SELECT id, state AS was FROM scheduled_jobs
                WHERE due_at <= now() AND (state = 'pending' OR (state = 'claimed' AND lease_until < now()))
                ORDER BY due_at, id LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE scheduled_jobs j SET state = 'claimed', claimed_by = \(instance), attempts = j.attempts + 1,
                lease_until = now() + \(leaseMs) * interval '1 millisecond'
            FROM due WHERE j.id = due.id
            RETURNING j.id, j.kind, j.job_key, j.due_at, j.payload::text, j.attempts, due.was = 'claimed'
            """, logger: logger)
        var out: [ClaimedJob] = []
        for try await (id, kind, key, due, payload, attempts, takenOver) in rows.decode(
            (Int64, String, String, Date, String, Int, Bool).self)
        {
            out.append(
                ClaimedJob(
                    id: id, kind: kind, key: key, dueAt: due,
                    payload: try JSONCoding.decoder().decode(JSONValue.self, from: Data(payload.utf8)),
                    attempts: attempts, takenOver: takenOver))
        }
        return out
    }

    /// Records the firing; call it first in the transaction that applies the job's effects.
    /// False when this instance no longer holds the claim (its lease ran out and another
    /// instance took the job): then roll back, the other instance fires it.
    public static func fire(
        _ job: ClaimedJob, instance: String, outcome: String, on conn: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let rows = try await conn.query(
            """
            UPDATE scheduled_jobs SET state = 'fired', fired_at = now(), fired_by = \(instance), outcome = \(outcome),
                lease_until = NULL
            WHERE id = \(job.id) AND state = 'claimed' AND claimed_by = \(instance)
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The job could not be applied: back to pending after `retryIn`, or given up (cancelled
    /// with the error) once `attempts` reached `maxAttempts`.
    public static func release(
        _ job: ClaimedJob, instance: String, error: String, retryIn: Duration, maxAttempts: Int,
        on client: PostgresClient, logger: Logger
    ) async throws {
        let ms = Int64(retryIn.components.seconds * 1000 + retryIn.components.attoseconds / 1_000_000_000_000_000)
        try await client.query(
            """
            UPDATE scheduled_jobs SET
                state = CASE WHEN attempts >= \(maxAttempts) THEN 'cancelled' ELSE 'pending' END,
                outcome = CASE WHEN attempts >= \(maxAttempts) THEN 'failed' ELSE outcome END,
                due_at = now() + \(ms) * interval '1 millisecond', claimed_by = NULL, lease_until = NULL,
                last_error = \(error)
            WHERE id = \(job.id) AND state = 'claimed' AND claimed_by = \(instance)
            """, logger: logger)
    }
}
