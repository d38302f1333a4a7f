import GatewayService
import ServiceKit

TaskThreads.runOnEventLoops()
await serviceMain("gateway") { try await GatewayApp.run() }
