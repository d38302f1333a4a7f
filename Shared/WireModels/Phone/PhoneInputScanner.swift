/// What a human or API client typed, reduced to a leading `+` flag and ASCII digits.
struct ScannedPhoneInput: Sendable, Equatable {
    var hasPlus: Bool
    var digits: String
}

/// Lexing only: no numbering-plan knowledge, so the rules for what may surround digits live in one place.
enum PhoneInputScanner {
    /// Punctuation people and contact cards put between digits. Directional marks and zero-width
    /// characters come along when numbers are copied from right-to-left UIs (Arabic, Hebrew).
    private static let separators: Set<Unicode.Scalar> = [
        "-", ".", "(", ")", "/", "[", "]",
        "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}", "\u{2212}", "\u{30FC}",
        "\u{FF0D}", "\u{FF08}", "\u{FF09}", "\u{FF0E}",
        "\u{200B}", "\u{200C}", "\u{200D}", "\u{200E}", "\u{200F}", "\u{2060}", "\u{FEFF}",
        "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
    ]

    /// - Parameter allowCarrierPlaceholder: accept Brazil's written `0xx` ("(0xx11) 98765-4321"), where
    ///   `xx` stands for the long-distance carrier the caller picks; it is dropped, leaving the trunk `0`.
    static func scan(_ input: String, allowCarrierPlaceholder: Bool = false) throws(PhoneNumberError)
        -> ScannedPhoneInput
    {
        var chars = Array(input.drop { $0.isWhitespace })
        // RFC 3966 `tel:` URIs come from vCards and click-to-call links.
        if chars.count >= 4, String(chars[..<4]).lowercased() == "tel:" { chars.removeFirst(4) }
        var out = ScannedPhoneInput(hasPlus: false, digits: "")
        var invalid: [Character] = []
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            i += 1
            if let digit = decimalDigit(ch) {
                out.digits.append(digit)
            } else if ch == "+" || ch == "\u{FF0B}" {
                // Only one plus, and only before the first digit: "+55…", "(+55)".
                if out.hasPlus || !out.digits.isEmpty { invalid.append(ch) } else { out.hasPlus = true }
            } else if ch.isWhitespace || isSeparator(ch) {
                continue
            } else if allowCarrierPlaceholder, ch == "x" || ch == "X", out.digits == "0", !out.hasPlus,
                i < chars.count, chars[i] == "x" || chars[i] == "X"
            {
                i += 1  // the second x
            } else {
                invalid.append(ch)
            }
        }
        if !invalid.isEmpty {
            var seen: Set<Character> = []
            throw .invalidCharacters(String(invalid.filter { seen.insert($0).inserted }))
        }
        if out.digits.isEmpty { throw .empty }
        return out
    }

    /// ASCII for any Unicode decimal digit: Arabic-Indic (Egypt, Saudi, UAE keyboards), Persian,
    /// Devanagari and full-width digits are the same number to the person who typed them.
    private static func decimalDigit(_ ch: Character) -> Character? {
        guard ch.unicodeScalars.count == 1, let scalar = ch.unicodeScalars.first,
            scalar.properties.numericType == .decimal, let value = ch.wholeNumberValue, (0...9).contains(value)
        else { return nil }
        return Character(String(value))
    }

    private static func isSeparator(_ ch: Character) -> Bool {
        ch.unicodeScalars.count == 1 && separators.contains(ch.unicodeScalars.first!)
    }
}
