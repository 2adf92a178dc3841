-- The schema of the PostgreSQL backend, as of the SQLite backend's 0002 (the two backends keep the
-- same records; JSON values are stored as text, exactly as serialised).
CREATE TABLE organizations (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE services (
    id                        BIGINT PRIMARY KEY,
    organization_id           BIGINT NOT NULL REFERENCES organizations(id),
    name                      TEXT NOT NULL,
    issuer                    TEXT NOT NULL,
    supported_scopes          TEXT NOT NULL,
    supported_grant_types     TEXT NOT NULL,
    access_token_duration     BIGINT NOT NULL,
    refresh_token_duration    BIGINT NOT NULL,
    access_token_sign_alg     TEXT,
    custom_token_access_ttl   BIGINT NOT NULL,
    custom_token_refresh_ttl  BIGINT NOT NULL,
    created_at                BIGINT NOT NULL
);
CREATE TABLE clients (
    client_id    BIGINT PRIMARY KEY,
    service_id   BIGINT NOT NULL REFERENCES services(id),
    name         TEXT NOT NULL,
    alias        TEXT,
    entity_id    TEXT,
    grant_types  TEXT NOT NULL,
    seq          BIGSERIAL,
    CONSTRAINT clients_service_alias UNIQUE (service_id, alias)
);
CREATE TABLE credentials (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('service', 'organization')),
    owner_id      BIGINT NOT NULL,
    hash          TEXT NOT NULL CONSTRAINT credentials_hash UNIQUE,
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE TABLE signing_keys (
    kid              TEXT PRIMARY KEY,
    service_id       BIGINT NOT NULL REFERENCES services(id),
    alg              TEXT NOT NULL,
    private_der      BYTEA NOT NULL,
    public_jwk       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    retired_at       BIGINT,
    revoked_at       BIGINT,
    published_until  BIGINT,
    kek_id           TEXT
);
CREATE INDEX signing_keys_service ON signing_keys(service_id, retired_at);
CREATE TABLE tokens (
    id                       BIGSERIAL PRIMARY KEY,
    token_id                 TEXT NOT NULL CONSTRAINT tokens_token_id UNIQUE,
    service_id               BIGINT NOT NULL REFERENCES services(id),
    access_hash              TEXT NOT NULL CONSTRAINT tokens_access_hash UNIQUE,
    refresh_hash             TEXT CONSTRAINT tokens_refresh_hash UNIQUE,
    client_id                BIGINT NOT NULL,
    subject                  TEXT,
    grant_type               TEXT NOT NULL,
    scopes                   TEXT NOT NULL,
    refresh_scopes           TEXT,
    created_at               BIGINT NOT NULL,
    access_expires_at        BIGINT NOT NULL,
    refresh_expires_at       BIGINT,
    last_refreshed_at        BIGINT NOT NULL,
    properties               TEXT NOT NULL,
    certificate_thumbprint   TEXT,
    dpop_key_thumbprint      TEXT,
    token_type               TEXT NOT NULL,
    authorization_details    TEXT,
    resources                TEXT NOT NULL,
    acr                      TEXT,
    auth_time                BIGINT,
    session_id               TEXT,
    client_identifier        TEXT,
    for_external_attachment  BOOLEAN,
    jwt_kid                  TEXT,
    extra                    TEXT NOT NULL,
    revoked_at               BIGINT
);
CREATE INDEX tokens_service_client_subject ON tokens(service_id, client_id, subject);
CREATE INDEX tokens_service_subject ON tokens(service_id, subject);
CREATE INDEX tokens_jwt_kid ON tokens(jwt_kid) WHERE jwt_kid IS NOT NULL;
CREATE TABLE custom_token_uses (
    jti         TEXT PRIMARY KEY,
    service_id  BIGINT NOT NULL,
    token_id    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX custom_token_uses_expires ON custom_token_uses(expires_at);
CREATE TABLE rotated_refresh_tokens (
    hash        TEXT PRIMARY KEY,
    service_id  BIGINT NOT NULL,
    token_id    TEXT NOT NULL,
    rotated_at  BIGINT NOT NULL
);
