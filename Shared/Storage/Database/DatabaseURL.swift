import Foundation
import PostgresNIO

/// Turns `DATABASE_URL` (postgres://user:password@host:port/database?sslmode=require) into a
/// client configuration. The password never leaves this function in a log or error.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// `statementTimeoutMs`: the server cancels a statement of this pool that runs longer
    /// (SQLSTATE 57014), so one expensive API request cannot hold a connection for minutes.
    public static func configuration(_ url: String, statementTimeoutMs: Int? = nil) throws
        -> PostgresClient.Configuration
    {
        guard let c = URLComponents(string: url), let scheme = c.scheme, ["postgres", "postgresql"].contains(scheme)
        else { throw Invalid(description: "DATABASE_URL must look like postgres://user@host:port/database") }
        guard let host = c.host, !host.isEmpty else { throw Invalid(description: "DATABASE_URL has no host") }
        let database = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        let sslmode = c.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.clientDefault)
        default: tls = .require(.clientDefault)
        }
        var config = PostgresClient.Configuration(
            host: host, port: c.port ?? 5432, username: c.user ?? "postgres", password: c.password,
            database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = Int(ProcessInfo.processInfo.environment["DATABASE_POOL_SIZE"] ?? "") ?? 10
        if let statementTimeoutMs {
            config.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeoutMs)"))
        }
        return config
    }
}
