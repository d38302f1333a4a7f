import ReporterService
import ServiceKit

await serviceMain("reporter") { try await ReporterWorker.run() }
