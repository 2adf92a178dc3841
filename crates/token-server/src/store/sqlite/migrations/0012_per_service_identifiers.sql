-- Identifiers a tenant chooses or sees are unique per service, never across tenants: a client ID
-- taken by another organization must neither be refused ("the client ID is taken": an existence
-- oracle, and squatting on IDs another tenant migrates) nor a DPoP proof `jti` or a rotated-away
-- token value of one service collide with another's. SQLite cannot change a primary key, so each
-- table is rebuilt with the same columns and rows (client IDs kept).
CREATE TABLE clients_rebuilt (
    client_id    INTEGER NOT NULL,
    service_id   INTEGER NOT NULL REFERENCES services(id),
    name         TEXT NOT NULL,
    alias        TEXT,
    entity_id    TEXT,
    grant_types  TEXT NOT NULL,
    PRIMARY KEY (service_id, client_id),
    UNIQUE (service_id, alias)
);
INSERT INTO clients_rebuilt (client_id, service_id, name, alias, entity_id, grant_types)
SELECT client_id, service_id, name, alias, entity_id, grant_types FROM clients;
DROP TABLE clients;
ALTER TABLE clients_rebuilt RENAME TO clients;

CREATE TABLE dpop_proof_uses_rebuilt (
    jti         TEXT NOT NULL,
    service_id  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (service_id, jti)
);
INSERT INTO dpop_proof_uses_rebuilt (jti, service_id, expires_at)
SELECT jti, service_id, expires_at FROM dpop_proof_uses;
DROP TABLE dpop_proof_uses;
ALTER TABLE dpop_proof_uses_rebuilt RENAME TO dpop_proof_uses;
CREATE INDEX IF NOT EXISTS dpop_proof_uses_expires ON dpop_proof_uses(expires_at);

CREATE TABLE rotated_refresh_tokens_rebuilt (
    hash        TEXT NOT NULL,
    service_id  INTEGER NOT NULL,
    token_id    TEXT NOT NULL,
    rotated_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'refresh',
    PRIMARY KEY (service_id, hash)
);
INSERT INTO rotated_refresh_tokens_rebuilt (hash, service_id, token_id, rotated_at, kind)
SELECT hash, service_id, token_id, rotated_at, kind FROM rotated_refresh_tokens;
DROP TABLE rotated_refresh_tokens;
ALTER TABLE rotated_refresh_tokens_rebuilt RENAME TO rotated_refresh_tokens;
CREATE INDEX IF NOT EXISTS rotated_refresh_tokens_token ON rotated_refresh_tokens(token_id);

-- Deleting a service deletes its redeemed custom-token jtis a bounded batch at a time, found
-- through this index (the primary key is the jti alone: the server makes it, unique everywhere).
CREATE INDEX IF NOT EXISTS custom_token_uses_service ON custom_token_uses(service_id);
