import Foundation
import Outbound
import ServiceKit
import ServiceLifecycle
import WireModels

/// Wires the sender: the `wa.outbound.request` consumer (first attempts), the retry-queue
/// poller, the sweeper, the `wa.template.event` consumer and the template sync schedule.
public enum SenderWorker {
    public static func run() async throws {
        try await WorkerHost.run(
            service: "sender", defaultAdminPort: 9103,
            consumers: [
                // The whole poll at once: the handler gates, paces and records a poll's sends
                // together, and per-partition batches would only multiply its round trips.
                ConsumerSpec(Stages.sender) { context in
                    SenderMetrics.register()
                    return SendHandler(context: context, executor: try executor(context))
                },
                ConsumerSpec(Stages.senderTemplates) { context in
                    TemplateEventHandler(context: context, sync: templateSync(context.config))
                },
            ],
            background: { context, gate in
                let executor = try executor(context)
                var services: [any ServiceLifecycle.Service] = [
                    RetryQueuePoller.service(context: context, executor: executor, gate: gate),
                    SendSweeper(context: context, executor: executor).service(gate: gate),
                ]
                if let sync = templateSync(context.config) {
                    services.append(TemplateSyncScheduler.service(context: context, sync: sync, gate: gate))
                }
                return services
            })
    }

    static func executor(_ context: WorkerContext) throws -> SendExecutor {
        let wa = context.config.whatsapp
        guard let token = wa.accessToken else {
            throw SendHandler.NotConfigured(
                description: "sender needs WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
        }
        let settings = try SenderSettings(service: context.config.service)
        return try SendExecutor(
            context: context,
            graph: GraphClient(
                baseURL: wa.graphURL, version: wa.graphVersion, accessToken: token,
                timeout: .milliseconds(Int64(settings.graphTimeout.seconds * 1000))),
            settings: settings)
    }

    /// The env-configured account's catalog (WHATSAPP_WABA_ID + WHATSAPP_ACCESS_TOKEN).
    public static func templateSync(_ config: ServiceConfig) -> TemplateSync? {
        let wa = config.whatsapp
        guard let waba = wa.wabaId, let token = wa.accessToken else { return nil }
        return TemplateSync(baseURL: wa.graphURL, version: wa.graphVersion, wabaId: waba, accessToken: token)
    }
}
