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
        let engine = engine
        try await publisher.commit { outbox in try await rules(engine, &outbox) }
    }
}
