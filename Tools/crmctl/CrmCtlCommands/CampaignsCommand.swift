import ArgumentParser
import CRMCore
import Foundation
import ServiceKit
import Storage
import WireModels

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns", abstract: "Campaigns and their reports (read-only; change them through the API).",
        subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest campaigns.")
        @Option(help: "Only campaigns in this state (draft, tested, running, paused, done).") var state: String?
        @Option(help: "How many (1-500).") var limit = 50

        func run() async throws {
            guard (1...500).contains(limit) else { throw ValidationError("--limit must be 1 to 500") }
            let wanted = try state.map { s in
                guard let parsed = CampaignState(rawValue: s) else {
                    throw ValidationError("--state must be one of \(CampaignState.allCases.map(\.rawValue))")
                }
                return parsed
            }
            let (config, logger) = try setUp()
            let limit = self.limit
            let rows = try await withPostgres(config, logger: logger) { client in
                try await CampaignStore.list(state: wanted, after: nil, limit: limit, on: client, logger: logger).rows
            }
            for c in rows {
                print(
                    [
                        c.id.uuidString.lowercased(), c.state.rawValue, "\(c.template)/\(c.language)",
                        "\(c.recipients) recipients", c.name,
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One campaign and its report, as JSON.")
        @Argument(help: "The campaign id.") var id: String

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw ValidationError("not a campaign id: \(id)") }
            let (config, logger) = try setUp()
            let shown = try await withPostgres(config, logger: logger) { client -> JSONValue? in
                guard let campaign = try await CampaignStore.get(id: uuid, on: client, logger: logger) else {
                    return nil
                }
                let report = try await CampaignStore.report(campaign: campaign, on: client, logger: logger)
                return .object(["campaign": try campaign.json, "report": try JSONValue(encoding: report)])
            }
            guard let shown else { throw ValidationError("no campaign \(id)") }
            let encoder = JSONCoding.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            print(String(decoding: try encoder.encode(shown), as: UTF8.self))
        }
    }
}
