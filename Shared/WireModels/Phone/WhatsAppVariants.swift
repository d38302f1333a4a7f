/// Numbers WhatsApp treats as one account although their digits differ.
///
/// These rules are community knowledge gathered from integrators, not
/// Meta documentation: Meta documents neither the variants nor which one a webhook will carry, so a
/// contact must match any of them. The canonical form is the one the country's regulator defines as
/// the number today, so keys agree with what people type and with what dials:
/// - Brazil (55): *with* the mobile 9. ANATEL prefixed every mobile with 9 between 2012 and 2016;
///   the 8-digit form no longer dials and survives only in wa_ids of accounts registered earlier.
/// - Mexico (52): *without* the 1. IFT abolished the mobile "1" in August 2019; +52 + 10 digits is
///   the number, and sending to it works, while wa_ids of older accounts still read 521….
/// - Argentina (54): *with* the 9. The 9 is still the current international marker of a mobile (the
///   national "15" becomes it); WhatsApp reports mobiles as 549…, and +54 + 10 digits is the
///   landline-style form, which only some senders use.
enum WhatsAppVariants {
    /// Brazilian area codes (DDD) in use: the legacy/modern rule only applies to geographic numbers,
    /// not to e.g. 0800 (NSN 800…) numbers.
    private static let brazilAreaCodes: Set<String> = {
        let codes = """
            11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 51 53 54 55 \
            61 62 63 64 65 66 67 68 69 71 73 74 75 77 79 81 82 83 84 85 86 87 88 89 91 92 93 94 95 96 97 98 99
            """
        return Set(codes.split(separator: " ").map(String.init))
    }()

    /// National significant numbers of the same WhatsApp account, canonical first.
    static func nationalForms(countryCode: Int, nsn: String) -> [String] {
        let chars = Array(nsn)
        switch countryCode {
        case 55 where brazilAreaCodes.contains(String(nsn.prefix(2))):
            let area = String(chars.prefix(2))
            // Legacy mobiles began with 6-9 (2-5 were and are landlines), so only those gain or lose the 9.
            if chars.count == 11, chars[2] == "9", "6789".contains(chars[3]) {
                return [nsn, area + String(chars[3...])]
            }
            if chars.count == 10, "6789".contains(chars[2]) {
                return [area + "9" + String(chars[2...]), nsn]
            }
        case 52:
            // Since 2019 Mexican numbers do not reveal whether they are mobile, so every one may have
            // the legacy 1 form.
            if chars.count == 11, chars[0] == "1" { return [String(chars[1...]), nsn] }
            if chars.count == 10 { return [nsn, "1" + nsn] }
        case 54:
            // Area codes start with 1-3; Argentine numbers do not reveal whether they are mobile either.
            if chars.count == 11, chars[0] == "9", "123".contains(chars[1]) { return [nsn, String(chars[1...])] }
            if chars.count == 10, "123".contains(chars[0]) { return ["9" + nsn, nsn] }
        default:
            break
        }
        return [nsn]
    }
}

extension ParsedPhoneNumber {
    /// E.164 forms under which WhatsApp may know this person, canonical first; `[e164]` when the
    /// number has no variants. Match an inbound `wa_id` against any of them.
    public var whatsAppEquivalents: [String] {
        WhatsAppVariants.nationalForms(countryCode: countryCode, nsn: nationalNumber).map {
            "+" + String(countryCode) + $0
        }
    }

    /// The canonical E.164 form of `whatsAppEquivalents`: equal for all of them, so it can be a
    /// unique key that makes "the same person" a database constraint.
    public var whatsAppKey: String { whatsAppEquivalents[0] }
}
