import ServiceKit
import SimulatorService

await serviceMain("wa-simulator") { try await SimulatorApp.run() }
