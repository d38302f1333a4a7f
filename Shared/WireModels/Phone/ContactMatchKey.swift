/// How a WhatsApp number becomes a contact's identity: the canonical WhatsApp form of the number
/// (`whatsAppKey`), so Brazil's 8/9-digit mobiles, Mexico's 521/52 and Argentina's 549/54 forms of one
/// person are one key. A wa_id the parser rejects (Meta's ids are authoritative, our numbering tables
/// may lag) keys on its digits as given, prefixed `wa:` so it can never collide with an E.164 key;
/// its phone is then `+` and those digits, unvalidated.
public struct ContactMatchKey: Sendable, Hashable {
    /// The unique key stored in `contacts.match_key`.
    public let key: String
    /// The canonical E.164 number (`+digits` as given when they did not parse); nil only for
    /// a wa_id without digits.
    public let phone: String?

    /// From a WhatsApp `wa_id` (digits without `+`).
    public init(waId: String) {
        if let parsed = try? PhoneNumber.parse("+" + waId) {
            key = parsed.whatsAppKey
            phone = parsed.whatsAppKey
        } else {
            let digits = waId.filter { $0.isASCII && $0.isNumber }
            key = "wa:" + digits
            phone = digits.isEmpty ? nil : "+" + digits
        }
    }

    /// From what a person typed (any format `PhoneNumber.parse` accepts); nil when it is no number.
    public init?(typed input: String, defaultCountry: String? = nil) {
        guard let parsed = try? PhoneNumber.parse(input, defaultCountry: defaultCountry) else { return nil }
        key = parsed.whatsAppKey
        phone = parsed.whatsAppKey
    }
}
