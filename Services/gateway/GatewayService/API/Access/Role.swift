/// The three roles of API.md. What each may do is decided in `Permission.allowed` only.
public enum Role: String, Sendable, CaseIterable, Codable {
    case admin
    case manager
    case agent
}

/// Everything the API guards, named by what it lets a caller do. A controller asks for one
/// permission per endpoint; agents' row-level limits come from `Access.ownerScope`.
public enum Permission: Sendable, CaseIterable {
    /// List and read users (managers assign owners, so they may read them).
    case readUsers
    /// Create and change users.
    case writeUsers
    /// Create or revoke tokens of other users (everyone may manage their own).
    case manageOthersTokens
    case readAccounts
    /// Accounts and phone numbers: create and change (secrets included).
    case writeAccounts
    case readAuditLog
    /// Dead-lettered records: list and replay.
    case operateFailures
    /// Contacts, leads, tasks, conversations, messages, sends: agents only within their scope.
    case readCRM
    case writeCRM
    /// `POST /messages`; agents only to contacts they own.
    case sendMessages
    case manageCampaigns
    case readReports
    /// Outbound webhooks: list them and their deliveries.
    case readIntegrations
    /// Outbound webhooks: register, change, rotate secrets.
    case writeIntegrations
    /// Workflow rules: list, create, change.
    case manageAutomation
    /// Owner routing rules: list them / create and change them.
    case readRouting
    case writeRouting

    /// The policy, in one table.
    public var allowed: Set<Role> {
        switch self {
        case .readUsers: [.admin, .manager]
        case .writeUsers, .manageOthersTokens, .writeAccounts, .operateFailures, .writeIntegrations: [.admin]
        case .readAccounts, .readAuditLog, .manageCampaigns, .readReports, .readIntegrations, .manageAutomation,
            .readRouting:
            [.admin, .manager]
        case .writeRouting: [.admin]
        case .readCRM, .writeCRM, .sendMessages: [.admin, .manager, .agent]
        }
    }
}
