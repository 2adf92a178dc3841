-- A rotation remembers the family's old access value as well as its old refresh value, so that a
-- revocation naming any value the family ever had reaches it (RFC 7009 section 2.1). Rows written
-- before this migration are refresh values.
ALTER TABLE rotated_refresh_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'refresh';
-- The key that signed the custom token a session was exchanged from: revoking that key (a leaked
-- key) revokes every session it let in, found through this index.
ALTER TABLE tokens ADD COLUMN custom_token_kid TEXT;
CREATE INDEX IF NOT EXISTS tokens_custom_token_kid ON tokens(custom_token_kid) WHERE custom_token_kid IS NOT NULL;
