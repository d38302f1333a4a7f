import Hummingbird
import Logging
import PostgresNIO
import Storage

/// Resolves `Authorization: Bearer <token>` to a principal (tokens are stored hashed).
public struct Authenticator: Sendable {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func require(_ request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty,
            let principal = try await TokenStore.authenticate(token: token, on: postgres, logger: logger)
        else { throw APIError.unauthorized }
        return principal
    }

    /// Authenticates (401) and checks the role has `permission` (403).
    public func access(_ request: Request, _ permission: Permission) async throws -> Access {
        let access = try Access(principal: try await require(request))
        try access.require(permission)
        return access
    }
}
