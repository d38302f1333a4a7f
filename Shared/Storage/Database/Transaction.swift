import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, but an error thrown by `body` comes out as itself: PostgresNIO wraps it
    /// in `PostgresTransactionError`, which would turn an API's 404 or 409 into a 500. Failures of
    /// BEGIN, COMMIT or ROLLBACK still come out wrapped.
    public func transaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError, error.rollbackError == nil { throw inner }
            throw error
        }
    }
}
