import CRMCore
import Foundation
import PostgresNIO
import WireModels

/// Contact filters of a campaign audience; every given filter must match (AND).
public struct AudienceFilter: Sendable, Equatable, Codable {
    /// The contact has all of these tags.
    public var tags: [String]?
    public var ownerId: UUID?
    /// The stage of the contact's open lead.
    public var leadStage: String?
    /// The contact's first source: its channel (`campaign`, `ad`, `quick_reply`, `direct`) or
    /// the ad referral's `source_type`.
    public var source: String?
    /// The contact's last inbound message was at or after this time.
    public var lastInboundSince: Date?
    /// The contact's last inbound message was before this time (contacts who never wrote
    /// do not match).
    public var lastInboundBefore: Date?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case tags
        case ownerId = "owner_id"
        case leadStage = "lead_stage"
        case source
        case lastInboundSince = "last_inbound_since"
        case lastInboundBefore = "last_inbound_before"
    }

    public var isEmpty: Bool { self == AudienceFilter() }
}

/// Who an audience reaches, and who it leaves out.
public struct AudienceSelection: Sendable, Equatable {
    public var members: [AudienceMember] = []
    public var optedOut = 0
    /// Contacts known only by a user id (no phone number to send to).
    public var noPhone = 0

    public init() {}
}

extension CampaignStore {
    /// Contacts matching `filter`: opted-out ones and those without a number are counted, not
    /// included.
    public static func select(_ filter: AudienceFilter, on conn: PostgresConnection, logger: Logger) async throws
        -> AudienceSelection
    {
        let rows = try await conn.query(
            """
            SELECT c.id, c.opted_out, COALESCE(c.wa_id, ltrim(c.phone, '+')) FROM contacts c
            LEFT JOIN LATERAL (
                SELECT max(COALESCE(m.meta_timestamp, m.created_at)) AS at FROM messages m
                WHERE m.contact_id = c.id AND m.direction = 'inbound') last ON true
            WHERE (\(filter.tags)::text[] IS NULL OR c.tags @> \(filter.tags)::text[])
              AND (\(filter.ownerId)::uuid IS NULL OR c.owner_id = \(filter.ownerId))
              AND (\(filter.leadStage)::text IS NULL OR EXISTS (
                    SELECT 1 FROM leads l WHERE l.contact_id = c.id AND l.status = 'open'
                                            AND l.stage = \(filter.leadStage)))
              AND (\(filter.source)::text IS NULL OR c.source->>'channel' = \(filter.source)
                   OR c.source->'referral'->>'source_type' = \(filter.source))
              AND (\(filter.lastInboundSince)::timestamptz IS NULL OR last.at >= \(filter.lastInboundSince))
              AND (\(filter.lastInboundBefore)::timestamptz IS NULL OR last.at < \(filter.lastInboundBefore))
            ORDER BY c.created_at, c.id
            """, logger: logger)
        var selection = AudienceSelection()
        var seen = Set<String>()
        for try await (id, optedOut, number) in rows.decode((UUID, Bool, String?).self) {
            guard let number else {
                selection.noPhone += 1
                continue
            }
            if optedOut {
                selection.optedOut += 1
            } else if seen.insert(number).inserted {
                selection.members.append(AudienceMember(phone: number, contactId: id))
            }
        }
        return selection
    }

    /// Which of these numbers (digits) belong to opted-out contacts.
    public static func optedOut(_ phones: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> Set<String>
    {
        guard !phones.isEmpty else { return [] }
        let rows = try await conn.query(
            """
            SELECT u.phone FROM unnest(\(phones)::text[]) AS u(phone)
            WHERE EXISTS (SELECT 1 FROM contacts c
                          WHERE c.opted_out AND (c.wa_id = u.phone OR c.phone = '+' || u.phone))
            """, logger: logger)
        var out = Set<String>()
        for try await phone in rows.decode(String.self) { out.insert(phone) }
        return out
    }
}
