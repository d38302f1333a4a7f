/// What the backlog probe (`BacklogReport`) counts every few seconds must be cheap on a table
/// of millions of sends: a running campaign's sends are found by their campaign.
extension Schema {
    static let backlog = Migration(
        "0017_backlog",
        [
            "CREATE INDEX send_requests_campaign ON send_requests (campaign_id, state) WHERE campaign_id IS NOT NULL"
        ])
}
