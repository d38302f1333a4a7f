import ArgumentParser
import Outbound
import PostgresNIO
import ServiceKit

struct TemplatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates", abstract: "Message templates.", subcommands: [Sync.self])

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch every template of the account (all pages) from the Graph API into the database.")

        func run() async throws {
            let (config, logger) = try setUp()
            let wa = config.whatsapp
            guard let waba = wa.wabaId, let token = wa.accessToken else {
                throw ValidationError("set WHATSAPP_WABA_ID and WHATSAPP_ACCESS_TOKEN")
            }
            let sync = TemplateSync(baseURL: wa.graphURL, version: wa.graphVersion, wabaId: waba, accessToken: token)
            let summary = try await withPostgres(config, logger: logger) { client in
                try await sync.run(on: client, logger: logger)
            }
            print("synced \(summary.templates) templates of WABA \(summary.wabaId) (\(summary.pages) pages)")
        }
    }
}
