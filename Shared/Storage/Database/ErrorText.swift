import PostgresNIO

/// Error text for logs and `failures` rows. PostgresNIO's `PSQLError` describes itself with
/// a generic sentence (its details may hold bound values); the server's SQLSTATE and message
/// are what an operator needs and carry no bound values (the DETAIL field, which may, is left out).
public enum ErrorText {
    public static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        guard let info = psql.serverInfo else { return "PostgreSQL: \(psql.code)" }
        let state = info[.sqlState].map { " \($0)" } ?? ""
        return "PostgreSQL\(state): \(info[.message] ?? "\(psql.code)")"
    }
}
