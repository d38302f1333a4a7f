import Foundation
import Hummingbird
import Logging
import ServiceKit

/// Wires the simulator from the environment (see `CloudAPISimulator.Settings.from`).
public enum SimulatorApp {
    public static func run() async throws {
        let config = try ServiceConfig(service: "wa-simulator", defaultAdminPort: 8090, defaultHTTPPort: 8090)
        let (registry, tracing) = try Observability.bootstrap(service: "wa-simulator", level: config.logLevel)
        var logger = Logger(label: "wa-simulator")
        logger.logLevel = config.logLevel
        let settings = try CloudAPISimulator.Settings.from(
            config: config, environment: ProcessInfo.processInfo.environment)
        logger.info(
            "simulator settings",
            metadata: [
                "waba_id": "\(settings.wabaId)", "webhook_url": "\(settings.webhookURL ?? "-")",
                "mps": "\(settings.mps)", "templates": "\(settings.templates.templates.count)",
                "fault_rules": "\(settings.faults.rules.count)", "fault_rates": "\(settings.faults.rates.count)",
                "shuffle_statuses": "\(settings.faults.shuffleStatuses)",
                "duplicate_statuses": "\(settings.faults.duplicateStatuses)",
            ])
        let simulator = CloudAPISimulator(settings: settings, logger: logger)
        var app = Application(
            router: simulator.buildRouter(registry: registry),
            configuration: .init(address: .hostname("0.0.0.0", port: config.httpPort), serverName: "wa-simulator"),
            logger: logger)
        app.addServices(tracing)
        try await app.runService()
    }
}
