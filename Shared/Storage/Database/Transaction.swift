import Logging
import PostgresNIO
import Synchronization

extension PostgresClient {
    /// A transaction on a pooled connection (`PostgresConnection.transaction`). Every service
    /// uses this instead of PostgresNIO's `withTransaction`: see there why.
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: sending @escaping (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        logger.trace("transaction: leasing a connection")
        // `withConnection` calls its closure exactly once, so `body` is still sent only once.
        nonisolated(unsafe) let body = body
        return try await withConnection { conn in
            logger.trace("transaction: leased", metadata: ["psql_connection_id": "\(conn.id)"])
            return try await conn.transaction(logger: logger, body)
        }
    }
}

extension PostgresConnection {
    /// How long a transaction's body may go on after its connection closed before it is given
    /// up for lost (a statement in flight fails at once; only one sent after the close hangs).
    static let bodyGraceAfterClose: Duration = .seconds(2)

    /// `BEGIN`, `body`, `COMMIT` (`ROLLBACK` when `body` throws, which then reaches the caller as
    /// itself, so an API error raised mid-transaction keeps its status and an outage is told
    /// from a bad record).
    ///
    /// Unlike PostgresNIO's `withTransaction` it never waits on a statement sent to a connection
    /// the server has closed. PostgresNIO 1.33 writes such a statement to the closed channel and
    /// never completes it: when PostgreSQL restarted while a handler held a transaction, the
    /// handler's next statement, `ROLLBACK` or `COMMIT` hung forever and its stage stopped
    /// consuming (seen on CI, both at the end and in the middle of a body). So `BEGIN`/`COMMIT`/
    /// `ROLLBACK` are sent only on an open connection, and the body runs in a task of its own
    /// that is abandoned (`DatabaseConnectionLost`, a warning in the log) if it has not ended
    /// `bodyGraceAfterClose` after the close. The server rolled the transaction back when it
    /// ended the session, so there is nothing to send.
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: sending @escaping (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await statementIfOpen("BEGIN", within: .seconds(60), logger: logger)
        let value: Result
        do {
            value = try await runUntilLost(logger: logger, body)
        } catch {
            if !Self.endedTheSession(error) {
                do {
                    try await statementIfOpen("ROLLBACK", within: .seconds(10), logger: logger)
                } catch let rollback {
                    logger.debug("rollback failed", metadata: ["error": "\(String(reflecting: rollback))"])
                }
            }
            throw error
        }
        try await statementIfOpen("COMMIT", within: .seconds(60), logger: logger)
        return value
    }

    /// `body` in a task of its own (cancelled with the caller's), raced against the close of
    /// this connection (seen within a second) plus `bodyGraceAfterClose`. A body abandoned that
    /// way stays suspended on PostgresNIO's lost statement, with what it holds: one per outage.
    private func runUntilLost<Result: Sendable>(
        logger: Logger, _ body: sending @escaping (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = self
        return try await GiveUp.race(
            { try await body(connection) },
            // Polled rather than a callback on `closeFuture`: those stay registered until the
            // connection closes, one per transaction.
            against: {
                while !connection.isClosed { try await Task.sleep(for: .seconds(1)) }
                try await Task.sleep(for: Self.bodyGraceAfterClose)
                return .failure(DatabaseConnectionLost())
            },
            gaveUp: {
                logger.warning(
                    "a statement sent after the database closed the connection never returned; transaction abandoned",
                    metadata: ["psql_connection_id": "\(connection.id)"])
            })
    }

    /// Runs a statement unless the connection is already closed, and gives up waiting for it
    /// after `within` (the close can still come between the check and the write; a statement
    /// that was in fact committed is then done again, which every writer here allows).
    /// Throws `DatabaseConnectionLost` in both cases.
    public func statementIfOpen(_ sql: String, within limit: Duration, logger: Logger) async throws {
        guard !isClosed else { throw DatabaseConnectionLost() }
        logger.trace("transaction: \(sql)", metadata: ["psql_connection_id": "\(id)"])
        let connection = self
        try await GiveUp.race(
            { _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) },
            against: {
                try await Task.sleep(for: limit)
                return .failure(DatabaseConnectionLost())
            })
    }

    /// A FATAL error or a lost connection ended the session: the server rolled back.
    static func endedTheSession(_ error: any Error) -> Bool {
        if error is DatabaseConnectionLost { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return true
        case .server: return ["FATAL", "PANIC"].contains(error.serverInfo?[.severity] ?? "")
        default: return false
        }
    }
}

/// The server closed the connection a transaction was on (a restart, failover or an
/// administrator's termination): the transaction is gone; the work is to be done again.
public struct DatabaseConnectionLost: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the database closed the connection of this transaction" }
}
