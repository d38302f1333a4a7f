import MatcherService
import ServiceKit
import WireModels

await serviceMain("crm-matcher") {
    try await WorkerHost.run(service: "crm-matcher", defaultAdminPort: 9102, consumes: [Topics.inboundMessage]) {
        InboundMessageHandler(context: $0)
    }
}
