import Foundation

/// The outer shape of a Meta notification, read just enough to accept or reject it at the
/// gateway (`object` must be `whatsapp_business_account`) and to pick the Kafka key.
public struct WebhookBody: Sendable {
    public static let expectedObject = "whatsapp_business_account"

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case notJSON
        case notAnObject
        case wrongObject(String?)

        public var description: String {
            switch self {
            case .notJSON: "body is not valid JSON"
            case .notAnObject: "body is not a JSON object"
            case .wrongObject(let o):
                "object must be \"\(WebhookBody.expectedObject)\", got \(o.map { "\"\($0)\"" } ?? "none")"
            }
        }
    }

    public let root: JSONValue

    public init(bytes: [UInt8]) throws(Problem) {
        // JSON is UTF-8 (RFC 8259); the body travels on as text, so it must decode exactly.
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .notJSON }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .notJSON
        }
        guard case .object = value else { throw .notAnObject }
        let object = value["object"]?.stringValue
        guard object == Self.expectedObject else { throw .wrongObject(object) }
        root = value
    }

    public var entries: [JSONValue] { root["entry"]?.arrayValue ?? [] }

    /// Partition key: the first `phone_number_id`, else the first WABA id (keeps one number's
    /// traffic in order on one partition).
    public var partitionKey: String {
        for entry in entries {
            for change in entry["changes"]?.arrayValue ?? [] {
                if let id = change["value"]?["metadata"]?["phone_number_id"]?.stringValue { return id }
            }
        }
        return entries.first?["id"]?.stringValue ?? "unknown"
    }
}
