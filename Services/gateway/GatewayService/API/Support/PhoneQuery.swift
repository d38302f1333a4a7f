import WireModels

extension ContactMatchKey {
    /// The contact match key for a `phone` query parameter: any format the parser reads, matched
    /// through WhatsApp's variant key; a bare wa_id the parser rejects still keys on its digits.
    /// Nil when the text is no phone number at all.
    static func forQuery(_ raw: String) -> String? {
        if let key = ContactMatchKey(typed: raw) { return key.key }
        if let digits = PhoneNumber.digits(raw) { return ContactMatchKey(waId: digits).key }
        return nil
    }
}
