import Foundation

/// E.164 handling for what WhatsApp and API clients send: `wa_id`s are digits without `+`,
/// people type `+55 (11) 98765-4321` or `0055…`. `parse(_:defaultCountry:)` (Phone/) is the full
/// parser; `digits`/`e164` are the lenient wire-level checks the gateway and normalizer use.
public enum PhoneNumber {
    /// Digits of an international number, or nil when it cannot be one
    /// (E.164 allows at most 15 digits; fewer than 8 is not a routable mobile number).
    ///
    /// Input with an international prefix (`+`, `00`, `011`) goes through `parse` first, which also
    /// drops a stray trunk prefix ("+44 (0)20…") and reads `011` as NANP's prefix. Bare digits and
    /// anything `parse` rejects keep the original lenient rule: a `wa_id` comes from Meta and is
    /// authoritative, so it is never rewritten or refused for not fitting our numbering tables.
    public static func digits(_ input: String) -> String? {
        if let scanned = try? PhoneInputScanner.scan(input),
            scanned.hasPlus || scanned.digits.hasPrefix("00") || scanned.digits.hasPrefix("011"),
            let parsed = try? parse(input)
        {
            return parsed.digits
        }
        return lenientDigits(input)
    }

    /// `+` and the digits, the form the API returns.
    public static func e164(_ input: String) -> String? {
        digits(input).map { "+" + $0 }
    }

    /// The original rule: optional `+` or `00`, then 8 to 15 digits not starting with 0, with only
    /// spaces, dashes, dots and parentheses between them.
    private static func lenientDigits(_ input: String) -> String? {
        var s = input.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("+") {
            s.removeFirst()
        } else if s.hasPrefix("00") {
            s.removeFirst(2)
        }
        var out = ""
        for ch in s {
            if ch.isASCII, ch.isNumber {
                out.append(ch)
            } else if " -().".contains(ch) {
                continue
            } else {
                return nil
            }
        }
        guard (8...15).contains(out.count), out.first != "0" else { return nil }
        return out
    }
}
