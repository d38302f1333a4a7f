/// Which token made which: a token cannot outlive the token that minted it, and revoking a
/// token revokes everything minted through it (a leaked token's offspring go with it).
extension Schema {
    static let tokenLineage = Migration(
        "0015_token_lineage",
        [
            "ALTER TABLE api_tokens ADD COLUMN minted_by uuid REFERENCES api_tokens(id)",
            "CREATE INDEX api_tokens_minted_by ON api_tokens (minted_by) WHERE minted_by IS NOT NULL",
        ])
}
