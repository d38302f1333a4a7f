import CRMCore
import Foundation
import ServiceKit

/// crm-matcher's own settings, read once at start (names in docs/CONFIGURATION.md).
public struct MatcherSettings: Sendable {
    public var keywords: ConsentKeywords
    /// A conversation with no message either way for this long is over; the next inbound opens a
    /// new one (default 24 h, WhatsApp's customer service window).
    public var conversationIdle: Duration
    /// Tasks, reminders and workflow rules.
    public var automation: AutomationSettings

    public init(
        keywords: ConsentKeywords = ConsentKeywords(), conversationIdle: Duration = .seconds(24 * 3600),
        automation: AutomationSettings = AutomationSettings()
    ) {
        self.keywords = keywords
        self.conversationIdle = conversationIdle
        self.automation = automation
    }

    /// From `CRM_OPT_OUT_KEYWORDS`, `CRM_OPT_IN_KEYWORDS` (empty: the built-in lists) and
    /// `CRM_CONVERSATION_IDLE_HOURS`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> MatcherSettings
    {
        func list(_ raw: String?) -> [String]? {
            guard let raw, !raw.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return raw.split(separator: ",").map(String.init)
        }
        let optOut = list(env["CRM_OPT_OUT_KEYWORDS"]) ?? ConsentKeywords.defaultOptOut
        let optIn = list(env["CRM_OPT_IN_KEYWORDS"]) ?? ConsentKeywords.defaultOptIn
        var hours = 24.0
        if let raw = env["CRM_CONVERSATION_IDLE_HOURS"], !raw.isEmpty {
            guard let h = Double(raw), h > 0 else {
                throw ConfigError("CRM_CONVERSATION_IDLE_HOURS must be a positive number of hours, got '\(raw)'")
            }
            hours = h
        }
        return MatcherSettings(
            keywords: ConsentKeywords(optOut: optOut, optIn: optIn),
            conversationIdle: .milliseconds(Int64(hours * 3_600_000)),
            automation: try AutomationSettings(environment: Environment(values: env)))
    }
}
