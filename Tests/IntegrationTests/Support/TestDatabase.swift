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

    func count(_ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM (\(sql)) q"))
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }
}
