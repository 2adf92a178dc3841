-- Security hardening: credential expiry, revocation and last use; key revocation, publication
-- bound and key-encryption key ID; the index that keeps the jti prune off a table scan.
ALTER TABLE credentials ADD COLUMN expires_at INTEGER;
ALTER TABLE credentials ADD COLUMN revoked_at INTEGER;
ALTER TABLE credentials ADD COLUMN last_used_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;
-- Until when a retired key stays published (max expiry of the live tokens it signed, fixed when it
-- retires), so the JWK Set is read from this table alone.
ALTER TABLE signing_keys ADD COLUMN published_until INTEGER;
-- ID of the key-encryption key that sealed private_der; NULL = plaintext.
ALTER TABLE signing_keys ADD COLUMN kek_id TEXT;
CREATE INDEX IF NOT EXISTS custom_token_uses_expires ON custom_token_uses(expires_at);
