import GatewayService
import ServiceKit

await serviceMain("gateway") { try await GatewayApp.run() }
