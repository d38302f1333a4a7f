import ReporterService
import ServiceKit
import WireModels

await serviceMain("reporter") {
    try await WorkerHost.run(service: "reporter", defaultAdminPort: 9104, consumes: [Topics.status]) {
        StatusHandler(context: $0)
    }
}
