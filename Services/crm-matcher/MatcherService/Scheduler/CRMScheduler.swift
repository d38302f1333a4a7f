import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Storage

/// Background service of crm-matcher: fires due reminders and no-reply checks (`JobRunner`)
/// and publishes their activity events and sends. Safe to run in every replica.
public struct CRMScheduler: Service {
    let context: WorkerContext
    let settings: AutomationSettings
    let gate: StartupGate
    let runner: JobRunner

    public init(context: WorkerContext, settings: AutomationSettings, gate: StartupGate) {
        self.context = context
        self.settings = settings
        self.gate = gate
        let host = ProcessInfo.processInfo.hostName
        runner = JobRunner(
            postgres: context.postgres, settings: settings,
            instance: "\(host):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))",
            logger: context.logger)
    }

    public func run() async throws {
        let (runner, batchSize) = (self.runner, settings.batchSize)
        let outbox = OutboxPublisher(context: context)
        try await PeriodicService("scheduler round", every: settings.pollInterval, gate: gate, logger: context.logger) {
            let round = try await runner.runDue()
            // The relay publishes these later if the broker is down now.
            try? await outbox.publish(round.outbox)
            return round.fired >= batchSize
        }.run()
    }
}
