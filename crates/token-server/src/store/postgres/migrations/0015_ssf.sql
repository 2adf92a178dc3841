-- The Shared Signals transmitter (issue #41); see the SQLite migration 0016 for the design.
CREATE TABLE ssf_streams (
    stream_id   TEXT PRIMARY KEY,
    service_id  BIGINT NOT NULL,
    iss         TEXT NOT NULL,
    settings    TEXT NOT NULL,
    state       TEXT NOT NULL,
    push        BOOLEAN NOT NULL,
    reason      TEXT,
    read_through BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    verified_at BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ssf_streams_service ON ssf_streams(service_id);
CREATE TABLE ssf_queue (
    seq             BIGSERIAL PRIMARY KEY,
    stream_id       TEXT NOT NULL,
    jti             TEXT NOT NULL,
    set_jwt         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (stream_id, jti)
);
CREATE INDEX ssf_queue_stream ON ssf_queue(stream_id, seq);
