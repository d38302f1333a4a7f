import NormalizerService
import ServiceKit
import WireModels

await serviceMain("normalizer") {
    try await WorkerHost.run(service: "normalizer", defaultAdminPort: 9101, consumes: [Topics.webhookRaw]) {
        NormalizerHandler(context: $0)
    }
}
