/// Why `PhoneNumber.parse` rejected an input. Each case names one cause so an API can tell the user
/// what to fix instead of a generic "invalid phone number".
public enum PhoneNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No digits at all (blank, or only `+`, spaces and punctuation).
    case empty
    /// Characters that are neither digits nor phone punctuation, each listed once in input order.
    case invalidCharacters(String)
    /// An international number whose leading digits are no assigned ITU calling code.
    case unknownCountryCode
    /// Fewer national digits than the country's numbering plan allows.
    case tooShort
    /// More national digits than the country's plan allows (or more than E.164's 15 in total).
    case tooLong
    /// A national number (trunk prefix, no `+`) given without `defaultCountry`: the country is a guess.
    case missingCountry
    /// `defaultCountry` is not an ISO 3166-1 alpha-2 code this parser knows.
    case unknownRegion(String)
    /// Right length, but the plan rules the digits out (e.g. a NANP area code starting with 0 or 1,
    /// a leading trunk `0` after the country code, an 11-digit Brazilian number without the mobile 9).
    case invalidNationalNumber

    public var description: String {
        switch self {
        case .empty: "no digits"
        case .invalidCharacters(let chars): "invalid characters: \(chars)"
        case .unknownCountryCode: "unknown country calling code"
        case .tooShort: "too short for its country"
        case .tooLong: "too long for its country"
        case .missingCountry: "national number without a country (use +country code)"
        case .unknownRegion(let region): "unknown country '\(region)'"
        case .invalidNationalNumber: "not a number in its country's numbering plan"
        }
    }
}
