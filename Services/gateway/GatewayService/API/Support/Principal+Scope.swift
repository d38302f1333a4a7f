import Storage

/// Shared by every CRM endpoint.
extension Principal {
    /// Agents see and change only what they own; managers and admins everything.
    var scope: OwnerScope { role == "agent" ? .ownedBy(userId) : .all }
    var actor: String { userId.uuidString }
}
