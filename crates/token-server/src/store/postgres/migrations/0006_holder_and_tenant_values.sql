-- DPoP proofs (RFC 9449) presented at the public refresh endpoints: each `jti` is accepted once, on
-- every instance (the primary key decides); the janitor removes them after they expire.
CREATE TABLE IF NOT EXISTS dpop_proof_uses (
    jti         TEXT PRIMARY KEY,
    service_id  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS dpop_proof_uses_expires ON dpop_proof_uses(expires_at);

-- Token values are unique per service, not across tenants: a caller choosing a value must not
-- learn that another organization holds it ("value in use"). Same constraint names, so a
-- conflict is still recognised as a token value.
ALTER TABLE tokens DROP CONSTRAINT tokens_access_hash;
ALTER TABLE tokens ADD CONSTRAINT tokens_access_hash UNIQUE (service_id, access_hash);
ALTER TABLE tokens DROP CONSTRAINT tokens_refresh_hash;
ALTER TABLE tokens ADD CONSTRAINT tokens_refresh_hash UNIQUE (service_id, refresh_hash);
