import Foundation

/// E.164 handling for what WhatsApp and API clients send: `wa_id`s are digits without `+`,
/// people type `+55 (11) 98765-4321` or `0055…`.
public enum PhoneNumber {
    /// Digits of an international number, or nil when it cannot be one
    /// (E.164 allows at most 15 digits; fewer than 8 is not a routable mobile number).
    public static func digits(_ input: String) -> String? {
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

    /// `+` and the digits, the form the API returns.
    public static func e164(_ input: String) -> String? {
        digits(input).map { "+" + $0 }
    }
}
