import Foundation
import Hummingbird
import Logging
import ServiceKit

/// Wires the simulator from the environment (HTTP_PORT, WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET,
/// WHATSAPP_WABA_ID, SIMULATOR_WEBHOOK_URL, SIMULATOR_STATUS_DELAY_MS).
public enum SimulatorApp {
    public static func run() async throws {
        let config = try ServiceConfig(service: "wa-simulator", defaultAdminPort: 8090, defaultHTTPPort: 8090)
        let registry = Observability.bootstrap(service: "wa-simulator", level: config.logLevel)
        var logger = Logger(label: "wa-simulator")
        logger.logLevel = config.logLevel
        let env = ProcessInfo.processInfo.environment
        let settings = CloudAPISimulator.Settings(
            accessToken: config.whatsapp.accessToken ?? "dev-access-token", appSecret: config.whatsapp.appSecrets.first,
            webhookURL: env["SIMULATOR_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 },
            wabaId: config.whatsapp.wabaId ?? "100000000000001",
            statusDelay: .milliseconds(Int(env["SIMULATOR_STATUS_DELAY_MS"] ?? "") ?? 200))
        let simulator = CloudAPISimulator(settings: settings, logger: logger)
        let app = Application(
            router: simulator.buildRouter(registry: registry),
            configuration: .init(address: .hostname("0.0.0.0", port: config.httpPort), serverName: "wa-simulator"),
            logger: logger)
        try await app.runService()
    }
}
