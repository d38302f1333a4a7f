import ServiceKit

/// Wires the reporter: delivery statuses into the message log and reports, and in the
/// background the consumer-lag and backlog exporters.
public enum ReporterWorker {
    public static func run() async throws {
        try await WorkerHost.run(
            service: "reporter", defaultAdminPort: 9104,
            consumers: [ConsumerSpec(Stages.reporter) { StatusHandler(context: $0) }],
            background: { context, gate in
                [
                    try GroupLagExporter(context: context, gate: gate).service,
                    try BacklogExporter(postgres: context.postgres, gate: gate, logger: context.logger).service,
                ]
            })
    }
}
