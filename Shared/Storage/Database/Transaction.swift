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
        let outcome = FirstResult<Result>()
        let work = Task {
            do {
                outcome.finish(.success(try await body(connection)))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        // Polled rather than a callback on `closeFuture`: those stay registered until the
        // connection closes, one per transaction.
        let watch = Task {
            while !connection.isClosed { try await Task.sleep(for: .seconds(1)) }
            try await Task.sleep(for: Self.bodyGraceAfterClose)
            if outcome.finish(.failure(DatabaseConnectionLost())) {
                logger.warning(
                    "a statement sent after the database closed the connection never returned; transaction abandoned",
                    metadata: ["psql_connection_id": "\(connection.id)"])
                work.cancel()
            }
        }
        defer { watch.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            work.cancel()
        }
    }

    /// Runs a statement unless the connection is already closed, and gives up waiting for it
    /// after `within` (the close can still come between the check and the write; a statement
    /// that was in fact committed is then done again, which every writer here allows).
    /// Throws `DatabaseConnectionLost` in both cases.
    public func statementIfOpen(_ sql: String, within limit: Duration, logger: Logger) async throws {
        guard !isClosed else { throw DatabaseConnectionLost() }
        logger.trace("transaction: \(sql)", metadata: ["psql_connection_id": "\(id)"])
        let connection = self
        let outcome = FirstResult<Void>()
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

/// The first of several results, awaited once: work that may never return (a statement
/// PostgresNIO lost) raced against a timer or a watch.
public final class FirstResult<Value: Sendable>: Sendable {
    public init() {}

    private typealias State = (result: Swift.Result<Value, any Error>?, waiter: CheckedContinuation<Value, any Error>?)
    private let state = Mutex<State>((nil, nil))

    /// Whether this was the first result.
    @discardableResult
    public func finish(_ result: Swift.Result<Value, any Error>) -> Bool {
        let (first, waiter): (Bool, CheckedContinuation<Value, any Error>?) = state.withLock { state in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            let waiter = state.waiter
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume(with: result)
        return first
    }

    public func value() async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let ready: Swift.Result<Value, any Error>? = state.withLock {
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
