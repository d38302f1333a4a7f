import Foundation
import WireModels

/// Webhook bodies in Meta's shape, built per test so ids never collide between tests.
enum Payloads {
    static func inboundText(wamid: String, from: String, name: String, text: String, at: Int = 1_764_090_000)
        -> JSONValue
    {
        .object([
            "id": .string(E2EStack.wabaId),
            "changes": .array([
                .object([
                    "field": .string("messages"),
                    "value": .object([
                        "messaging_product": .string("whatsapp"),
                        "metadata": metadata,
                        "contacts": .array([
                            .object(["profile": .object(["name": .string(name)]), "wa_id": .string(from)])
                        ]),
                        "messages": .array([
                            .object([
                                "from": .string(from), "id": .string(wamid), "timestamp": .string(String(at)),
                                "type": .string("text"), "text": .object(["body": .string(text)]),
                            ])
                        ]),
                    ]),
                ])
            ]),
        ])
    }

    static func status(wamid: String, status: String, recipient: String, at: Int) -> JSONValue {
        .object([
            "id": .string(E2EStack.wabaId),
            "changes": .array([
                .object([
                    "field": .string("messages"),
                    "value": .object([
                        "messaging_product": .string("whatsapp"),
                        "metadata": metadata,
                        "statuses": .array([
                            .object([
                                "id": .string(wamid), "status": .string(status), "timestamp": .string(String(at)),
                                "recipient_id": .string(recipient),
                                "pricing": .object([
                                    "billable": .bool(true), "pricing_model": .string("PMP"),
                                    "category": .string("service"),
                                ]),
                            ])
                        ]),
                    ]),
                ])
            ]),
        ])
    }

    static func textMessage(wamid: String, from: String, text: String, at: Int = 1_764_090_000) -> JSONValue {
        .object([
            "from": .string(from), "id": .string(wamid), "timestamp": .string(String(at)), "type": .string("text"),
            "text": .object(["body": .string(text)]),
        ])
    }

    static func statusObject(wamid: String, status: String, recipient: String, at: Int) -> JSONValue {
        .object([
            "id": .string(wamid), "status": .string(status), "timestamp": .string(String(at)),
            "recipient_id": .string(recipient),
        ])
    }

    /// One `messages` change with any number of messages, contacts and statuses.
    static func change(messages: [JSONValue], contacts: [(String, String)], statuses: [JSONValue]) -> JSONValue {
        .object([
            "field": .string("messages"),
            "value": .object([
                "messaging_product": .string("whatsapp"), "metadata": metadata,
                "contacts": .array(
                    contacts.map { .object(["wa_id": .string($0.0), "profile": .object(["name": .string($0.1)])]) }),
                "messages": .array(messages), "statuses": .array(statuses),
            ]),
        ])
    }

    static func notification(_ entries: [JSONValue]) -> [UInt8] {
        let root = JSONValue.object(["object": .string("whatsapp_business_account"), "entry": .array(entries)])
        return Array(try! JSONCoding.encoder().encode(root))
    }

    static let metadata = JSONValue.object([
        "display_phone_number": .string("15550000000"), "phone_number_id": .string(E2EStack.phoneNumberId),
    ])

    /// A fresh Brazilian mobile number per test.
    static func newNumber() -> String { "55119" + String(format: "%08d", Int.random(in: 0..<100_000_000)) }
    static func newWamid() -> String { "wamid.E2E" + UUID().uuidString.replacingOccurrences(of: "-", with: "") }
}
