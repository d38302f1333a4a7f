import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Storage

/// Background service of crm-matcher: fires due reminders and no-reply checks (`JobRunner`),
/// publishes their activity events, and publishes workflow template sends a crash left
/// unpublished. Safe to run in every replica.
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
        guard try await gate.waitUnlessShuttingDown() else { return }
        let activity = ActivityPublisher(context: context)
        let sends = WorkflowSendPublisher(context: context)
        context.logger.info("scheduler started", metadata: ["instance": "\(runner.instance)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var busy = false
            do {
                let round = try await runner.runDue()
                busy = round.fired >= settings.batchSize
                // The relay publishes these later if the broker is down now.
                try? await activity.publish(ids: round.outbox)
                let late = try await sends.publish(olderThan: .seconds(30))
                if late > 0 {
                    context.logger.notice("published workflow sends left unpublished", metadata: ["count": "\(late)"])
                }
            } catch {
                context.logger.warning("scheduler round failed, will retry", metadata: ["error": "\(error)"])
            }
            if !busy { await sleepUnlessShuttingDown(for: settings.pollInterval) }
        }
    }
}
