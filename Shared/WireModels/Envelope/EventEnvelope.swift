import Foundation

/// The one envelope every Kafka record value carries (contract: field names).
public struct EventEnvelope<Payload: Codable & Sendable>: Codable, Sendable {
    /// Idempotency key: consumers must treat a second record with the same id as a no-op.
    public var eventId: String
    public var type: String
    public var occurredAt: Date
    public var producedAt: Date
    public var source: String
    public var traceId: String?
    public var payload: Payload

    public init(
        eventId: String, type: String, occurredAt: Date, producedAt: Date = Date(), source: String,
        traceId: String? = nil, payload: Payload
    ) {
        self.eventId = eventId
        self.type = type
        self.occurredAt = occurredAt
        self.producedAt = producedAt
        self.source = source
        self.traceId = traceId
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id"
        case type
        case occurredAt = "occurred_at"
        case producedAt = "produced_at"
        case source
        case traceId = "trace_id"
        case payload
    }

    public func encoded() throws -> [UInt8] {
        try JSONBytesEncoder.encode(self)
    }

    public static func decode(_ bytes: [UInt8]) throws -> EventEnvelope<Payload> {
        try JSONValueDecoder.decode(EventEnvelope<Payload>.self, from: bytes)
    }
}

/// Just the header fields, to route or dead-letter a record whose payload cannot be decoded.
public struct EnvelopeHeader: Decodable, Sendable {
    public var eventId: String
    public var type: String
    enum CodingKeys: String, CodingKey {
        case eventId = "event_id"
        case type
    }
}
