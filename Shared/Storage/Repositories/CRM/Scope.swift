import Foundation

/// What a caller may see: everything, or only the records owned by one user (agents). Applied
/// in the SQL of every query, so a record outside the scope is simply not found.
public enum OwnerScope: Sendable, Equatable {
    case all
    case ownedBy(UUID)

    public var ownerId: UUID? {
        if case .ownedBy(let id) = self { return id }
        return nil
    }
}

/// Keyset paging position `(created_at, id)` of the last item of a page, as an opaque string:
/// microseconds since 1970 and the id.
public struct KeysetCursor: Sendable, Equatable {
    public var micros: Int64
    public var id: UUID

    public init(micros: Int64, id: UUID) {
        self.micros = micros
        self.id = id
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "_")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
            return nil
        }
        self.init(micros: micros, id: id)
    }

    public var text: String { "\(micros)_\(id.uuidString)" }
}
