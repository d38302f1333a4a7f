extension PhoneNumber {
    /// Parses what a person or system wrote into country calling code + national significant number.
    ///
    /// Accepted: `+CC…`, `00CC…`, `011CC…` (NANP's international prefix; also `0011` in Australia,
    /// `010` in Japan, `00 + carrier` in Brazil when `defaultCountry` is theirs), bare international
    /// digits such as a WhatsApp `wa_id`, and, with `defaultCountry`, national formats: the trunk
    /// prefix is removed ("0", "1" in the NANP, "8" in Russia, "06" in Hungary), as are Brazil's
    /// carrier selection ("0 15 11 …", "(0xx11) …"), Mexico's old "044"/"045"/"01", and Argentina's
    /// "0 AA 15 …" mobile form (which becomes "9 AA …"). Spaces, dashes, dots, slashes, parentheses and a
    /// `tel:` scheme are ignored; non-ASCII decimal digits count as digits.
    ///
    /// International input is taken as written when valid: `+52 1 …` stays `+521…`. Use
    /// `whatsAppKey` to compare numbers that WhatsApp treats as one person.
    ///
    /// - Parameter defaultCountry: ISO 3166-1 alpha-2 region (any case) for numbers without a country code.
    public static func parse(_ input: String, defaultCountry: String? = nil) throws(PhoneNumberError)
        -> ParsedPhoneNumber
    {
        var region: String?
        if let defaultCountry {
            let upper = defaultCountry.uppercased()
            guard CallingCodeTable.byRegion[upper] != nil else { throw .unknownRegion(defaultCountry) }
            region = upper
        }
        let scanned = try PhoneInputScanner.scan(input, allowCarrierPlaceholder: region == "BR")
        var firstError: PhoneNumberError?
        for reading in readings(of: scanned, region: region) {
            do {
                return try read(reading, hint: region)
            } catch {
                firstError = firstError ?? error
            }
        }
        // A leading single 0 is a trunk prefix: without a country the number cannot be placed, whatever
        // an international reading of it (e.g. "011" as the NANP prefix) happened to report.
        if region == nil, !scanned.hasPlus, scanned.digits.hasPrefix("0"), !scanned.digits.hasPrefix("00") {
            throw .missingCountry
        }
        throw firstError ?? .unknownCountryCode
    }

    private enum Reading {
        case international(String)
        case national(String, region: String)
    }

    /// The ways the digits can be read, most likely first; the first valid one wins.
    private static func readings(of scanned: ScannedPhoneInput, region: String?) -> [Reading] {
        let digits = scanned.digits
        if scanned.hasPlus { return [.international(digits)] }
        let afterPrefix = NationalPrefixes.afterInternationalPrefix(digits, region: region)
        if !afterPrefix.isEmpty { return afterPrefix.map { .international($0) } }
        guard let region else {
            // No country to dial within: digits are international (how WhatsApp writes wa_id).
            return [.international(digits)]
        }
        var out: [Reading] = [.national(digits, region: region)]
        // "55 11 98765-4321" given with defaultCountry BR: the country code written without + or 00.
        if let code = CallingCodeTable.byRegion[region]?.code, digits.hasPrefix(code) {
            out.append(.international(digits))
        }
        return out
    }

    private static func read(_ reading: Reading, hint: String?) throws(PhoneNumberError) -> ParsedPhoneNumber {
        switch reading {
        case .international(let digits):
            guard let (entry, rest) = CallingCodeTable.match(digits) else {
                let couldStartACode =
                    digits.count < 3 && CallingCodeTable.entries.contains { $0.code.hasPrefix(digits) }
                throw couldStartACode ? .tooShort : .unknownCountryCode
            }
            let candidates = NationalPrefixes.candidatesAfterCountryCode(String(rest), entry: entry)
            return try pick(candidates, entry: entry, hint: hint)
        case .national(let digits, let region):
            // Every region in the table has an entry (parse validated defaultCountry against it).
            guard let entry = CallingCodeTable.byRegion[region] else { throw .unknownRegion(region) }
            let candidates = NationalPrefixes.nationalCandidates(digits, region: region)
            return try pick(candidates, entry: entry, hint: region)
        }
    }

    private static func pick(
        _ candidates: (ordered: [String], primary: String), entry: CallingCodeEntry, hint: String?
    ) throws(PhoneNumberError) -> ParsedPhoneNumber {
        for nsn in candidates.ordered where NumberingPlan.problem(with: nsn, in: entry) == nil {
            return ParsedPhoneNumber(
                countryCode: Int(entry.code) ?? 0, nationalNumber: nsn,
                region: NumberingPlan.region(of: nsn, in: entry, hint: hint))
        }
        throw NumberingPlan.problem(with: candidates.primary, in: entry) ?? .invalidNationalNumber
    }
}
