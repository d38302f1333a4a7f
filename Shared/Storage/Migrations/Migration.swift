import Logging
import PostgresNIO

/// One schema change: a unique name and the statements that apply it (one per query, since
/// the extended protocol runs a single statement at a time).
public struct Migration: Sendable {
    public let name: String
    public let statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Applies pending migrations in one transaction under an advisory lock, so several replicas
/// starting at once serialize: the first applies, the others find nothing left to do.
public struct MigrationRunner: Sendable {
    /// Arbitrary constant shared by every process of this project.
    static let lockKey: Int64 = 0x5741_4352_4d00_0001

    let migrations: [Migration]

    public init(migrations: [Migration] = Schema.migrations) {
        self.migrations = migrations
    }

    /// Returns the names applied by this call.
    @discardableResult
    public func run(on client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.transaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await conn.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<String>()
            for try await name in try await conn.query("SELECT name FROM schema_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await conn.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger)
                logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                done.append(migration.name)
            }
            return done
        }
    }
}
