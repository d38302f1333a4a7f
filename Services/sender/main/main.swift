import SenderService
import ServiceKit

await serviceMain("sender") { try await SenderWorker.run() }
