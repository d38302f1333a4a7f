/// W3C `traceparent` of the span that wrote a row which hands work on later (`Traces` in
/// ServiceKit): an activity published after the commit, a workflow's send, a send requested
/// through the API, and a sent message whose statuses arrive in webhooks of their own.
extension Schema {
    static let traces = Migration(
        "0018_traces",
        [
            "ALTER TABLE crm_activity ADD COLUMN trace_parent text",
            "ALTER TABLE workflow_sends ADD COLUMN trace_parent text",
            "ALTER TABLE send_requests ADD COLUMN trace_parent text",
            "ALTER TABLE messages ADD COLUMN trace_parent text",
        ])
}
