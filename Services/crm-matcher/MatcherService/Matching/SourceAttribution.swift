import Foundation
import PostgresNIO
import Storage
import WireModels

/// Where an inbound message came from: the business number and account it arrived on, the
/// campaign it replies to (its `context.id` is one of our campaign messages), the click-to-WhatsApp
/// ad it started from, the template quick-reply payload. The first source of a contact and the
/// source of each lead are this object.
struct SourceAttribution: Sendable {
    /// wamid of an outbound message → its campaign.
    var campaignsByWamid: [String: UUID] = [:]
    /// phone_number_id → the WhatsApp account (wa_accounts.id) it belongs to, when configured.
    var accountsByNumber: [String: UUID] = [:]

    /// Looks up the campaigns and accounts a batch refers to (two queries per batch).
    static func load(for messages: [InboundMessage], on conn: PostgresConnection, logger: Logger) async throws
        -> SourceAttribution
    {
        var out = SourceAttribution()
        out.campaignsByWamid = try await MessageStore.campaigns(
            ofOutbound: Array(Set(messages.compactMap(\.repliedTo))), on: conn, logger: logger)
        out.accountsByNumber = try await PhoneNumberStore.accounts(
            of: Array(Set(messages.map(\.phoneNumberId))), on: conn, logger: logger)
        return out
    }

    func campaign(of m: InboundMessage) -> UUID? {
        m.repliedTo.flatMap { campaignsByWamid[$0] }
    }

    func source(of m: InboundMessage) -> JSONValue {
        var s: [String: JSONValue] = [
            "phone_number_id": .string(m.phoneNumberId), "waba_id": .string(m.wabaId), "wamid": .string(m.wamid),
            "at": .string(RFC3339.string(from: m.timestamp)),
        ]
        if let display = m.displayPhoneNumber { s["display_phone_number"] = .string(display) }
        if let account = accountsByNumber[m.phoneNumberId] { s["account_id"] = .string(account.uuidString) }
        if let repliedTo = m.repliedTo { s["replied_to"] = .string(repliedTo) }
        let campaign = campaign(of: m)
        if let campaign { s["campaign_id"] = .string(campaign.uuidString) }
        let referral = m.details.referral
        if let referral {
            var r: [String: JSONValue] = [:]
            for (key, value) in [
                ("source_type", referral.sourceType), ("source_id", referral.sourceId),
                ("source_url", referral.sourceURL), ("headline", referral.headline), ("ctwa_clid", referral.ctwaClid),
            ] {
                if let value { r[key] = .string(value) }
            }
            s["referral"] = .object(r)
        }
        let payload = m.details.reply.flatMap { $0.kind == "quick_reply" ? $0.payload : nil }
        if let payload { s["quick_reply_payload"] = .string(payload) }
        let channel =
            campaign != nil ? "campaign" : referral != nil ? "ad" : payload != nil ? "quick_reply" : "direct"
        s["channel"] = .string(channel)
        return .object(s)
    }
}

extension InboundMessage {
    /// The wamid this message replies to (`context.id`), e.g. the template a quick reply answers.
    var repliedTo: String? { contextId ?? details.context?.id }
}
