import ReporterService
import ServiceKit
import WireModels

await serviceMain("reporter") {
    try await WorkerHost.run(
        service: "reporter", defaultAdminPort: 9104,
        consumers: [ConsumerSpec(stage: "reporter", topics: [Topics.status]) { StatusHandler(context: $0) }],
        background: { context, gate in
            [
                try GroupLagExporter(config: context.config, gate: gate, logger: context.logger).service,
                try BacklogExporter(postgres: context.postgres, gate: gate, logger: context.logger).service,
            ]
        })
}
