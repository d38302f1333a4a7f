import Foundation
import Logging
import PostgresNIO
import Storage

/// A new, empty database on the `make test` server, with a running client.
final class TestDatabase: @unchecked Sendable {
    let url: String
    let name: String
    let adminURL: String
    let client: PostgresClient
    private let task: Task<Void, Never>

    init(env: TestEnvironment, prefix: String = "t") async throws {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        self.name = name
        adminURL = env.databaseURL
        let admin = PostgresClient(configuration: try DatabaseURL.configuration(env.databaseURL))
        let adminTask = Task { await admin.run() }
        defer { adminTask.cancel() }
        try await admin.query("CREATE DATABASE \(unescaped: name)")
        url = env.databaseURL(named: name)
        client = PostgresClient(configuration: try DatabaseURL.configuration(url))
        let c = client
        task = Task { await c.run() }
    }

    /// Another client on the same database (its pool runs until `close`).
    func newClient() throws -> (PostgresClient, Task<Void, Never>) {
        let c = PostgresClient(configuration: try DatabaseURL.configuration(url))
        return (c, Task { await c.run() })
    }

    func close() { task.cancel() }

    /// A database outage for this database alone (other tests share the server): every
    /// session is terminated and new ones are refused for `duration`.
    func refuseConnections(for duration: Duration) async throws {
        let admin = PostgresClient(configuration: try DatabaseURL.configuration(adminURL))
        let adminTask = Task { await admin.run() }
        defer { adminTask.cancel() }
        try await admin.query("ALTER DATABASE \(unescaped: name) WITH ALLOW_CONNECTIONS false")
        try await admin.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = \(name)")
        try await Task.sleep(for: duration)
        try await admin.query("ALTER DATABASE \(unescaped: name) WITH ALLOW_CONNECTIONS true")
    }

    func count(_ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM (\(sql)) q"))
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }
}
