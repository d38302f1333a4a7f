import Logging
import PostgresNIO
import Synchronization

extension PostgresClient {
    /// A transaction on a pooled connection (`PostgresConnection.transaction`). Every service
    /// uses this instead of PostgresNIO's `withTransaction`: see there why.
    public func transaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: nonisolated(nonsending) (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        logger.trace("transaction: leasing a connection")
        return try await withConnection(isolation: isolation) { conn in
            logger.trace("transaction: leased", metadata: ["psql_connection_id": "\(conn.id)"])
            return try await conn.transaction(logger: logger, isolation: isolation, body)
        }
    }
}

extension PostgresConnection {
    /// `BEGIN`, `body`, `COMMIT` (`ROLLBACK` when `body` throws, which then reaches the caller as
    /// itself, so an API error raised mid-transaction keeps its status and an outage is told
    /// from a bad record).
    ///
    /// Unlike PostgresNIO's `withTransaction` it sends no statement on a connection the server
    /// has closed. PostgresNIO 1.33 writes such a statement to the closed channel and never
    /// completes it: when PostgreSQL restarted while a handler held a transaction, the handler's
    /// `ROLLBACK` (or `COMMIT`) hung forever and its stage stopped consuming. The server rolled
    /// the transaction back when it ended the session, so there is nothing to send.
    public func transaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: nonisolated(nonsending) (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await statementIfOpen("BEGIN", within: .seconds(60), logger: logger)
        let value: Result
        do {
            value = try await body(self)
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

    /// Runs a statement unless the connection is already closed, and gives up waiting for it
    /// after `within` (the close can still come between the check and the write; a statement
    /// that was in fact committed is then done again, which every writer here allows).
    /// Throws `DatabaseConnectionLost` in both cases.
    public func statementIfOpen(_ sql: String, within limit: Duration, logger: Logger) async throws {
        guard !isClosed else { throw DatabaseConnectionLost() }
        logger.trace("transaction: \(sql)", metadata: ["psql_connection_id": "\(id)"])
        let connection = self
        let outcome = FirstOutcome()
        // Unstructured: a statement lost by PostgresNIO never returns, and only the timer ends the wait.
        Task {
            do {
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                outcome.finish(.success(()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            outcome.finish(.failure(DatabaseConnectionLost()))
        }
        defer { timer.cancel() }
        try await outcome.value()
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

/// The first of several results, awaited once.
private final class FirstOutcome: Sendable {
    private let state = Mutex<(result: Swift.Result<Void, any Error>?, waiter: CheckedContinuation<Void, any Error>?)>(
        (nil, nil))

    func finish(_ result: Swift.Result<Void, any Error>) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready: Swift.Result<Void, any Error>? = state.withLock {
                if let result = $0.result { return result }
                $0.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// The server closed the connection a transaction was on (a restart, failover or an
/// administrator's termination): the transaction is gone; the work is to be done again.
public struct DatabaseConnectionLost: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the database closed the connection of this transaction" }
}
