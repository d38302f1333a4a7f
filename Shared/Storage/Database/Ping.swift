import PostgresNIO

extension PostgresClient {
    /// One round trip (readiness probes).
    public func ping() async throws {
        try await query("SELECT 1")
    }
}
