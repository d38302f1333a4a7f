import SenderService
import ServiceKit
import WireModels

await serviceMain("sender") {
    try await WorkerHost.run(service: "sender", defaultAdminPort: 9103, consumes: [Topics.outboundRequest]) {
        try SendHandler(context: $0)
    }
}
