import CRMCore
import Foundation
import Logging
import PostgresNIO
import Storage
import WireModels

/// The gate fed from the database: the recipients' facts and the synced template catalog.
extension PolicyGate {
    public static func check(
        _ request: OutboundRequest, wabaId: String?, on client: PostgresClient, logger: Logger, now: Date = Date()
    ) async throws -> Result<SendPlan, Refusal> {
        try await checkMany([(request, wabaId)], on: client, logger: logger, now: now)[0]
    }

    /// `check` for many requests (each with its number's WABA): the recipients' facts in one
    /// round of queries and each distinct template once. Results in the order given.
    public static func checkMany(
        _ requests: [(request: OutboundRequest, wabaId: String?)], on client: PostgresClient, logger: Logger,
        now: Date = Date()
    ) async throws -> [Result<SendPlan, Refusal>] {
        let recipients = try await Recipient.loadMany(waIds: requests.map(\.request.to), on: client, logger: logger)
        struct TemplateKey: Hashable {
            var name: String
            var language: String
            var wabaId: String?
        }
        var templates: [TemplateKey: Result<TemplateRecord, Refusal>] = [:]
        var out: [Result<SendPlan, Refusal>] = []
        for (request, wabaId) in requests {
            var template: TemplateRecord?
            if let wanted = request.template {
                let key = TemplateKey(name: wanted.name, language: wanted.language, wabaId: wabaId)
                if templates[key] == nil {
                    templates[key] = try await lookUp(wanted, wabaId: wabaId, on: client, logger: logger)
                }
                switch templates[key] {
                case .failure(let refusal)?:
                    out.append(.failure(refusal))
                    continue
                case .success(let found)?: template = found
                case nil: break
                }
            }
            let recipient = recipients[request.to] ?? Recipient(waId: request.to)
            out.append(evaluate(request, recipient: recipient, template: template, now: now))
        }
        return out
    }

    static func lookUp(
        _ wanted: OutboundTemplate, wabaId: String?, on client: PostgresClient, logger: Logger
    ) async throws -> Result<TemplateRecord, Refusal> {
        if let found = try await TemplateStore.get(
            name: wanted.name, language: wanted.language, wabaId: wabaId, on: client, logger: logger)
        {
            return .success(found)
        }
        let languages = try await TemplateStore.languages(name: wanted.name, on: client, logger: logger)
        return .failure(
            Refusal(
                "template_not_found",
                languages.isEmpty
                    ? "template \(wanted.name) is not in the synced catalog (run a template sync?)"
                    : "template \(wanted.name) does not exist in \(wanted.language) (it exists in "
                        + "\(languages.joined(separator: ", ")))"))
    }
}
