/// Reports and the message-log search read `messages` and `conversations` directly (see
/// ARCHITECTURE.md, "Reports"): these indexes keep a time range and the log's filters cheap.
/// Names carry `reports` so they cannot collide with other areas' indexes on the same tables.
extension Schema {
    static let reports = Migration(
        "0011_reports",
        [
            // The delivery report's time range and the log's newest-first keyset paging.
            "CREATE INDEX messages_reports_created ON messages (created_at DESC, wamid DESC)",
            """
            CREATE INDEX messages_reports_campaign ON messages (campaign_id, created_at DESC, wamid DESC)
                WHERE campaign_id IS NOT NULL
            """,
            """
            CREATE INDEX messages_reports_template ON messages (template, created_at DESC, wamid DESC)
                WHERE template IS NOT NULL
            """,
            "CREATE INDEX conversations_reports_opened ON conversations (opened_at)",
        ])
}
