import Foundation

/// STOP-style and START-style keywords. A message opts out (or in) only when its whole text is
/// a keyword — "stop", " Stop! ", "ARRÊT" — never when a keyword is merely part of a sentence
/// ("don't stop the delivery"). Comparison ignores case, accents and surrounding punctuation.
public struct ConsentKeywords: Sendable {
    public enum Match: Sendable, Equatable {
        case optOut(String)
        case optIn(String)
    }

    /// English, Portuguese, Spanish, French, German, Italian, Dutch.
    public static let defaultOptOut = [
        "STOP", "STOP ALL", "STOPALL", "UNSUBSCRIBE", "OPT OUT", "OPTOUT", "CANCEL", "END", "QUIT", "STOP PROMOTIONS",
        "PARAR", "SAIR", "CANCELAR", "DESCADASTRAR", "BAJA", "DAR DE BAJA", "ALTO", "ARRET", "ARRETER",
        "DESABONNER", "STOPP", "ABMELDEN", "BASTA", "DISISCRIVITI", "AFMELDEN",
    ]
    public static let defaultOptIn = [
        "START", "UNSTOP", "SUBSCRIBE", "RESUME", "OPT IN", "OPTIN", "VOLTAR", "ASSINAR", "ALTA", "REANUDAR",
        "COMMENCER", "ANMELDEN", "ISCRIVITI", "AANMELDEN",
    ]

    let optOut: Set<String>
    let optIn: Set<String>
    /// The most letters and digits a keyword has: a text with more is none (folding and upper
    /// casing never remove letters), decided without the costly folding of every message.
    let maxLetters: Int

    public init(optOut: [String] = defaultOptOut, optIn: [String] = defaultOptIn) {
        self.optOut = Set(optOut.map(Self.normalized).filter { !$0.isEmpty })
        self.optIn = Set(optIn.map(Self.normalized).filter { !$0.isEmpty })
        maxLetters = self.optOut.union(self.optIn).map(Self.letters).max() ?? 0
    }

    static func letters(_ s: String) -> Int {
        // Characters, not scalars: a decomposed "é" is one letter before folding and after.
        s.reduce(0) { $0 + ($1.isLetter || $1.isNumber ? 1 : 0) }
    }

    public func match(_ text: String?) -> Match? {
        guard let text, text.utf8.count <= 160, text.count <= 40, Self.letters(text) <= maxLetters else { return nil }
        let word = Self.normalized(text)
        if optOut.contains(word) { return .optOut(word) }
        if optIn.contains(word) { return .optIn(word) }
        return nil
    }

    /// Upper case without accents, punctuation trimmed, inner whitespace collapsed to one space.
    static func normalized(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).uppercased()
        let trimmed = folded.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        return trimmed.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
