/// A phone number split the way E.164 defines it: country calling code + national significant number
/// (NSN, the digits after the country code with any trunk prefix removed). Only `PhoneNumber.parse`
/// creates one, so every value passed the numbering-plan checks.
public struct ParsedPhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// ITU-T E.164 country calling code, e.g. 55 for Brazil, 1 for the whole NANP.
    public let countryCode: Int
    /// National significant number: digits only, no trunk prefix.
    public let nationalNumber: String
    /// ISO 3166-1 alpha-2 region, nil for non-geographic codes (e.g. +800, +882). Codes shared by
    /// several regions resolve by numbering plan where it tells (NANP area code, +7 Kazakhstan)
    /// or by `defaultCountry` when it shares the code, else to the code's main region.
    public let region: String?

    init(countryCode: Int, nationalNumber: String, region: String?) {
        self.countryCode = countryCode
        self.nationalNumber = nationalNumber
        self.region = region
    }

    /// `+` and digits, the form the API returns and stores.
    public var e164: String { "+" + digits }

    /// Digits without `+`: the form WhatsApp uses for `wa_id`, `from` and `recipient_id`.
    public var digits: String { String(countryCode) + nationalNumber }

    public var description: String { e164 }
}
