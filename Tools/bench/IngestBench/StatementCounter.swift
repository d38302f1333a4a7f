import Foundation
import PostgresNIO
import Storage

/// Statements the pipeline sent to PostgreSQL during the load, from `pg_stat_statements`
/// (the bench stack loads it with `BENCH_STATEMENTS=1`): calls per event, in total and for
/// the statements called most, so folding statements into per-batch ones can be measured.
struct StatementCounter {
    let databaseURL: String

    struct Row {
        var calls: Int
        var milliseconds: Double
        var query: String
    }

    /// Forgets what was counted so far (migrations, start-up).
    func reset() async throws {
        try await withPostgres(databaseURL) { client in
            try await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try await client.query("SELECT pg_stat_statements_reset()")
        }
    }

    /// What was counted in this database since `reset`, most called first.
    func read() async throws -> [Row] {
        try await withPostgres(databaseURL) { client in
            var rows: [Row] = []
            for try await (calls, ms, query) in try await client.query(
                """
                SELECT calls::int, total_exec_time, query FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT LIKE '%pg_stat_statements%'
                ORDER BY calls DESC
                """
            ).decode((Int, Double, String).self) {
                rows.append(Row(calls: calls, milliseconds: ms, query: query))
            }
            return rows
        }
    }

    /// Report lines: statements per event in total, then the ten called most.
    static func lines(_ rows: [Row], events: Int) -> [String] {
        guard events > 0 else { return [] }
        let total = rows.map(\.calls).reduce(0, +)
        var lines = [
            String(
                format: "  statements:   %.2f per event (%d calls to PostgreSQL, %d distinct), most called:",
                Double(total) / Double(events), total, rows.count)
        ]
        for row in rows.prefix(10) {
            let text = row.query.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            lines.append(
                String(
                    format: "    %6.3f/event %7.1f µs each  %@", Double(row.calls) / Double(events),
                    row.calls > 0 ? row.milliseconds * 1000 / Double(row.calls) : 0, String(text.prefix(90))))
        }
        return lines
    }
}
