import NormalizerService
import ServiceKit

await serviceMain("normalizer") { try await NormalizerWorker.run() }
