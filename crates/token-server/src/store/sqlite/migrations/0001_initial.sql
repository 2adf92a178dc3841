-- The first schema: tenancy, credentials, signing keys, tokens, custom-token uses, rotated refresh tokens.
CREATE TABLE IF NOT EXISTS organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
    id                        INTEGER PRIMARY KEY,
    organization_id           INTEGER NOT NULL REFERENCES organizations(id),
    name                      TEXT NOT NULL,
    issuer                    TEXT NOT NULL,
    supported_scopes          TEXT NOT NULL,
    supported_grant_types     TEXT NOT NULL,
    access_token_duration     INTEGER NOT NULL,
    refresh_token_duration    INTEGER NOT NULL,
    access_token_sign_alg     TEXT,
    custom_token_access_ttl   INTEGER NOT NULL,
    custom_token_refresh_ttl  INTEGER NOT NULL,
    created_at                INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    client_id    INTEGER PRIMARY KEY,
    service_id   INTEGER NOT NULL REFERENCES services(id),
    name         TEXT NOT NULL,
    alias        TEXT,
    entity_id    TEXT,
    grant_types  TEXT NOT NULL,
    UNIQUE (service_id, alias)
);
CREATE TABLE IF NOT EXISTS credentials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('service', 'organization')),
    owner_id    INTEGER NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid          TEXT PRIMARY KEY,
    service_id   INTEGER NOT NULL REFERENCES services(id),
    alg          TEXT NOT NULL,
    private_der  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
);
CREATE INDEX IF NOT EXISTS signing_keys_service ON signing_keys(service_id, retired_at);
CREATE TABLE IF NOT EXISTS tokens (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id                 TEXT NOT NULL UNIQUE,
    service_id               INTEGER NOT NULL REFERENCES services(id),
    access_hash              TEXT NOT NULL UNIQUE,
    refresh_hash             TEXT UNIQUE,
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
    revoked_at               INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_service_client_subject ON tokens(service_id, client_id, subject);
CREATE INDEX IF NOT EXISTS tokens_service_subject ON tokens(service_id, subject);
CREATE INDEX IF NOT EXISTS tokens_jwt_kid ON tokens(jwt_kid) WHERE jwt_kid IS NOT NULL;
CREATE TABLE IF NOT EXISTS custom_token_uses (
    jti         TEXT PRIMARY KEY,
    service_id  INTEGER NOT NULL,
    token_id    TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rotated_refresh_tokens (
    hash        TEXT PRIMARY KEY,
    service_id  INTEGER NOT NULL,
    token_id    TEXT NOT NULL,
    rotated_at  INTEGER NOT NULL
);
