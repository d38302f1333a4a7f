/// Whether a national significant number can exist under its calling code, and which region it is in.
/// Checks are lengths plus the few structural rules that separate real numbers from typos reliably;
/// anything finer (per-operator ranges) goes stale quickly and would reject real customers.
enum NumberingPlan {
    static func problem(with nsn: String, in entry: CallingCodeEntry) -> PhoneNumberError? {
        let lengths = CallingCodeTable.lengths(of: entry)
        if nsn.count < lengths.lowerBound { return .tooShort }
        if nsn.count > lengths.upperBound { return .tooLong }
        let chars = Array(nsn)
        // Where 0 is (or starts) the trunk prefix, no national number begins with it; a leading 0
        // after the country code is a trunk prefix that should have been dropped.
        if chars[0] == "0", let region = entry.regions.first,
            NationalPrefixes.trunkPrefixes(region: region).contains(where: { $0.hasPrefix("0") })
        {
            return .invalidNationalNumber
        }
        switch entry.code {
        case "1":
            // NANP area codes are NXX (N = 2-9); a leading 1 is the trunk prefix or a typo. The exchange
            // is not checked: Meta's own test numbers (+1 555 0XX…) use exchanges that the plan reserves.
            if chars[0] == "0" || chars[0] == "1" { return .invalidNationalNumber }
        case "52":
            // 11 digits only in the pre-2019 mobile form "1 + 10 digits" that WhatsApp still reports.
            if chars.count == 11 {
                if chars[0] != "1" { return .tooLong }
                if chars[1] == "0" { return .invalidNationalNumber }
            }
        case "54":
            // 11 digits only in the international mobile form "9 + area code + number".
            if chars.count == 11, chars[0] != "9" { return .tooLong }
            // 11 is the only area code starting with 1, so "15 1234-5678" (a mobile without its area
            // code) is not taken for area 15.
            let core = chars.count == 11 ? chars.dropFirst() : chars[...]
            if core.first == "1", core.dropFirst().first != "1" { return .invalidNationalNumber }
        case "55":
            // Since the 2016 migration every 11-digit number is a mobile: area code, 9, 8 digits.
            if chars.count == 11, chars[2] != "9" { return .invalidNationalNumber }
        default:
            break
        }
        return nil
    }

    /// Region of a valid number. `hint` (the caller's default country) settles codes shared by
    /// several regions (+44 for Jersey, +599 for Bonaire) when the plan itself cannot.
    static func region(of nsn: String, in entry: CallingCodeEntry, hint: String?) -> String? {
        switch entry.code {
        case "1":
            return NANPRegions.region(ofNationalNumber: nsn) ?? "US"
        case "7":
            // Kazakhstan has the 7xx area codes (and Baikonur's 33622); the rest of +7 is Russia.
            return nsn.hasPrefix("7") || nsn.hasPrefix("33622") ? "KZ" : "RU"
        default:
            if let hint, entry.regions.contains(hint) { return hint }
            return entry.regions.first
        }
    }
}
