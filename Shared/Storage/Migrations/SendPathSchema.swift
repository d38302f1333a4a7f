/// Indexes for the sender's policy gate: the customer-service window is the last inbound
/// message from the recipient's number, looked up for every send (a sequential scan of
/// `messages` per batch without it).
extension Schema {
    static let sendPath = Migration(
        "0012_send_path_indexes",
        [
            "CREATE INDEX messages_inbound_counterpart ON messages (counterpart_wa_id) WHERE direction = 'inbound'"
        ])
}
