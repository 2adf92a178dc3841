-- Values that carry their token's ID (#26): a generated value is found through the time-ordered
-- token_id index, so no index keyed by a random hash is written for it. Hashes without a selector
-- (values issued before, values callers chose) stay unique per service through partial indexes;
-- a generated value's hash ('<token ID>.<SHA-256>') is in none. SQLite cannot drop a table's
-- UNIQUE constraints, so the table is rebuilt with the same columns, rows and IDs (in the
-- migration's own transaction: all or nothing), then its indexes are made again.
CREATE TABLE tokens_rebuilt (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id                 TEXT NOT NULL UNIQUE,
    service_id               INTEGER NOT NULL REFERENCES services(id),
    access_hash              TEXT NOT NULL,
    refresh_hash             TEXT,
    client_id                INTEGER NOT NULL,
    subject                  TEXT,
    grant_type               TEXT NOT NULL,
    scopes                   TEXT NOT NULL,
    refresh_scopes           TEXT,
    created_at               INTEGER NOT NULL,
    access_expires_at        INTEGER NOT NULL,
    refresh_expires_at       INTEGER,
    last_refreshed_at        INTEGER NOT NULL,
    properties               TEXT NOT NULL,
    certificate_thumbprint   TEXT,
    dpop_key_thumbprint      TEXT,
    token_type               TEXT NOT NULL,
    authorization_details    TEXT,
    resources                TEXT NOT NULL,
    acr                      TEXT,
    auth_time                INTEGER,
    session_id               TEXT,
    client_identifier        TEXT,
    for_external_attachment  INTEGER,
    jwt_kid                  TEXT,
    extra                    TEXT NOT NULL,
    revoked_at               INTEGER,
    ends_at                  INTEGER GENERATED ALWAYS AS (
        CASE
            WHEN access_expires_at = 0 THEN revoked_at
            WHEN revoked_at IS NULL THEN max(access_expires_at, coalesce(refresh_expires_at, 0))
            ELSE min(revoked_at, max(access_expires_at, coalesce(refresh_expires_at, 0)))
        END) VIRTUAL,
    custom_token_kid         TEXT
);
INSERT INTO tokens_rebuilt (id, token_id, service_id, access_hash, refresh_hash, client_id, subject,
    grant_type, scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at,
    last_refreshed_at, properties, certificate_thumbprint, dpop_key_thumbprint, token_type,
    authorization_details, resources, acr, auth_time, session_id, client_identifier,
    for_external_attachment, jwt_kid, extra, revoked_at, custom_token_kid)
SELECT id, token_id, service_id, access_hash, refresh_hash, client_id, subject,
    grant_type, scopes, refresh_scopes, created_at, access_expires_at, refresh_expires_at,
    last_refreshed_at, properties, certificate_thumbprint, dpop_key_thumbprint, token_type,
    authorization_details, resources, acr, auth_time, session_id, client_identifier,
    for_external_attachment, jwt_kid, extra, revoked_at, custom_token_kid
FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_rebuilt RENAME TO tokens;
CREATE INDEX IF NOT EXISTS tokens_service_subject ON tokens(service_id, subject);
CREATE INDEX IF NOT EXISTS tokens_service_client ON tokens(service_id, client_id);
CREATE INDEX IF NOT EXISTS tokens_jwt_kid ON tokens(jwt_kid) WHERE jwt_kid IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_ends_at ON tokens(ends_at) WHERE ends_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_custom_token_kid ON tokens(custom_token_kid) WHERE custom_token_kid IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tokens_access_value ON tokens(service_id, access_hash)
    WHERE access_hash NOT LIKE '%.%';
CREATE UNIQUE INDEX IF NOT EXISTS tokens_refresh_value ON tokens(service_id, refresh_hash)
    WHERE refresh_hash NOT LIKE '%.%';

-- Upgrades that change what every instance must understand, and when each was finished. An
-- embedded store has one instance: generated values carry their selector from now on.
CREATE TABLE IF NOT EXISTS upgrades (
    name         TEXT PRIMARY KEY,
    finished_at  INTEGER NOT NULL
);
INSERT INTO upgrades (name, finished_at) VALUES ('selector_values', CAST(strftime('%s', 'now') AS INTEGER) * 1000)
    ON CONFLICT (name) DO NOTHING;
