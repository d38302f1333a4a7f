import Foundation
import Storage

/// What an authenticated caller may do: the role's permissions plus, for agents, the owner
/// every CRM query must be limited to. Obtain it with `Authenticator.access(_:_:)`.
///
/// Scoping rule for CRM data: pass `ownerScope` into the query (`owner_id = $scope` when it
/// is not nil) so rows outside an agent's scope are never read; a single record outside the
/// scope is answered 404 (as if it did not exist), a permission the role never has is 403.
public struct Access: Sendable, Equatable {
    public let principal: Principal
    public let role: Role

    public init(principal: Principal) throws {
        guard let role = Role(rawValue: principal.role) else { throw APIError.forbidden("unknown role") }
        self.principal = principal
        self.role = role
    }

    public var userId: UUID { principal.userId }

    /// The owner id CRM queries must filter by, or nil when the caller sees everything.
    public var ownerScope: UUID? { role == .agent ? principal.userId : nil }

    public func can(_ permission: Permission) -> Bool { permission.allowed.contains(role) }

    /// 403 unless the role has `permission`.
    public func require(_ permission: Permission) throws {
        guard can(permission) else {
            throw APIError.forbidden("the \(role.rawValue) role may not do this")
        }
    }

    /// Whether a record owned by `ownerId` is in scope (for records already loaded).
    public func sees(ownerId: UUID?) -> Bool {
        guard let scope = ownerScope else { return true }
        return ownerId == scope
    }

    /// The audit log's actor value for this caller.
    public var actor: String { principal.userId.uuidString.lowercased() }
}
