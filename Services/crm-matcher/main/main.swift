import MatcherService
import ServiceKit

await serviceMain("crm-matcher") { try await MatcherWorker.run() }
