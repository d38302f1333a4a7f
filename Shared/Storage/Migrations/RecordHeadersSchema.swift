/// A dead-lettered record's Kafka headers (`[[key, value], …]`, text values), so a replay
/// publishes it as it was: `wa.webhook.raw` keeps its metadata (event id, received-at) in
/// headers, and every record its `traceparent`.
extension Schema {
    static let recordHeaders = Migration(
        "0019_record_headers",
        ["ALTER TABLE failures ADD COLUMN record_headers jsonb"])
}
