import Foundation
import Logging
import MatcherService
import PostgresNIO
import Storage
import WireModels

/// Inbound messages built directly (what the normalizer publishes), and the matcher's
/// transaction run against a test database.
enum CRMFixtures {
    static let logger = Logger(label: "crm-tests")
    static let phoneNumberId = "100000000000002"

    static func migrated() async throws -> TestDatabase {
        let db = try await TestDatabase(env: try TestEnvironment.require(), prefix: "crm")
        try await MigrationRunner().run(on: db.client, logger: logger)
        return db
    }

    static func message(
        _ wamid: String = "wamid.T" + UUID().uuidString, from: String?, userId: String? = nil, name: String? = nil,
        text: String? = "Olá", type: String = "text", at: Date = Date(timeIntervalSince1970: 1_764_090_000),
        contextId: String? = nil, configure: (inout MessageDetails) -> Void = { _ in }
    ) -> InboundMessage {
        var details = MessageDetails(known: true)
        if let contextId {
            details.context = .init(
                id: contextId, from: nil, forwarded: false, frequentlyForwarded: false,
                referredProductId: nil)
        }
        configure(&details)
        return InboundMessage(
            wamid: wamid, waId: from, userId: userId, profileName: name, wabaId: "100000000000001",
            phoneNumberId: phoneNumberId, displayPhoneNumber: "15550001111", type: type, timestamp: at,
            receivedAt: at, text: text, contextId: contextId, details: details, content: .object([:]))
    }

    @discardableResult
    static func process(
        _ messages: [InboundMessage], on client: PostgresClient, settings: MatcherSettings = MatcherSettings()
    ) async throws -> OutboxCommit {
        let processor = InboundProcessor(settings: settings)
        return try await client.withTransaction(logger: logger) { conn in
            try await processor.process(messages, on: conn, logger: logger)
        }
    }

    static func string(_ db: TestDatabase, _ sql: String) async throws -> String? {
        let rows = try await db.client.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }

    /// The first row's uuid column.
    static func id(_ db: TestDatabase, _ sql: String) async throws -> UUID {
        let rows = try await db.client.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(UUID.self) { return value }
        throw StorageError.invalid("no row for \(sql)")
    }
}
