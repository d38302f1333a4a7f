import SimulatorService

try await SimulatorApp.run()
