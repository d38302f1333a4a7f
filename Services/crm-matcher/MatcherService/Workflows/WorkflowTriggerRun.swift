import Logging
import PostgresNIO
import ServiceKit
import Storage

/// What a consumer of trigger events (stage changes, failures) does with a batch: run the
/// rules in one transaction, then publish the activity and the template sends they queued.
struct WorkflowTriggerRun: Sendable {
    let context: WorkerContext
    let engine: WorkflowEngine
    let publisher: OutboxPublisher

    init(context: WorkerContext, settings: AutomationSettings) {
        self.context = context
        engine = WorkflowEngine(settings: settings)
        publisher = OutboxPublisher(context: context)
    }

    func callAsFunction(
        _ rules: @escaping @Sendable (WorkflowEngine, inout ActivityOutbox) async throws -> Void
    ) async throws {
        let logger = context.logger
        let engine = engine
        let outbox = try await context.postgres.transaction(logger: logger) { conn in
            var outbox = ActivityOutbox(conn: conn, logger: logger)
            try await rules(engine, &outbox)
            return outbox.committed
        }
        try await publisher.publish(outbox)
    }
}
