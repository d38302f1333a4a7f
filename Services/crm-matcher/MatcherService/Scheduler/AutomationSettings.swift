import Foundation
import ServiceKit

/// Tasks, reminders and workflow rules: scheduler timing and where escalations go (environment,
/// read once at start; names in docs/CONFIGURATION.md).
public struct AutomationSettings: Sendable {
    /// How often an idle scheduler looks for due jobs.
    public var pollInterval: Duration
    /// How long a claimed job stays with its instance before another may take it over.
    public var lease: Duration
    /// Due jobs claimed per round.
    public var batchSize: Int
    /// Attempts per job before it is given up (a job that keeps failing is cancelled with its error).
    public var maxAttempts: Int
    /// The manager escalations go to when the owner's department has none.
    public var escalationManagerId: UUID?
    /// Templates are looked up in this account first (`WHATSAPP_WABA_ID`).
    public var wabaId: String?

    public init(
        pollInterval: Duration = .seconds(1), lease: Duration = .seconds(30), batchSize: Int = 100,
        maxAttempts: Int = 10, escalationManagerId: UUID? = nil, wabaId: String? = nil
    ) {
        self.pollInterval = pollInterval
        self.lease = lease
        self.batchSize = batchSize
        self.maxAttempts = maxAttempts
        self.escalationManagerId = escalationManagerId
        self.wabaId = wabaId
    }

    /// From `CRM_SCHEDULER_POLL_MS`, `CRM_SCHEDULER_LEASE_MS`, `CRM_SCHEDULER_BATCH_SIZE`,
    /// `CRM_ESCALATION_MANAGER_ID` and `WHATSAPP_WABA_ID`.
    public init(environment: Environment) throws {
        let poll = try environment.int("CRM_SCHEDULER_POLL_MS", default: 1000)
        let lease = try environment.int("CRM_SCHEDULER_LEASE_MS", default: 30_000)
        let batch = try environment.int("CRM_SCHEDULER_BATCH_SIZE", default: 100)
        guard poll >= 10, lease >= 1000, batch >= 1 else {
            throw ConfigError(
                "CRM_SCHEDULER_POLL_MS must be at least 10, CRM_SCHEDULER_LEASE_MS at least 1000 and "
                    + "CRM_SCHEDULER_BATCH_SIZE at least 1")
        }
        var manager: UUID?
        if let raw = environment["CRM_ESCALATION_MANAGER_ID"] {
            guard let id = UUID(uuidString: raw) else {
                throw ConfigError("CRM_ESCALATION_MANAGER_ID must be a user id (UUID), got '\(raw)'")
            }
            manager = id
        }
        self.init(
            pollInterval: .milliseconds(poll), lease: .milliseconds(lease), batchSize: batch,
            escalationManagerId: manager, wabaId: environment["WHATSAPP_WABA_ID"])
    }
}
