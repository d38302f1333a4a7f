/// Outbound webhook signing secrets are stored encrypted (`secret_enc`, sealed like account
/// secrets and bound to the endpoint's row); `secret` keeps only values written before this,
/// until `crmctl secrets rotate` seals them.
extension Schema {
    static let webhookSecrets = Migration(
        "0016_webhook_secrets",
        [
            "ALTER TABLE outbound_webhooks ADD COLUMN secret_enc bytea",
            "ALTER TABLE outbound_webhooks ALTER COLUMN secret DROP NOT NULL",
        ])
}
