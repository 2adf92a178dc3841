-- The Shared Signals transmitter (issue #41): a service's event streams and the SETs each has
-- waiting for its receiver.
--
-- A stream reads the service's event log after `read_through`; the instance holding the stream's lease
-- (`lease_owner` until `lease_until`) turns the events it delivers into signed SETs, queued here
-- with the new `read_through` in one transaction, then pushes them in `seq` order (a SET leaves the queue
-- when the receiver accepted it) or serves them to a polling receiver (a SET leaves when it is
-- acknowledged). A restart or another instance thus resumes where the queue and `read_through` are.
CREATE TABLE IF NOT EXISTS ssf_streams (
    stream_id   TEXT PRIMARY KEY,
    service_id  INTEGER NOT NULL,
    iss         TEXT NOT NULL,
    settings    TEXT NOT NULL,
    state       TEXT NOT NULL,
    push        INTEGER NOT NULL,
    reason      TEXT,
    read_through INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    verified_at INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ssf_streams_service ON ssf_streams(service_id);
CREATE TABLE IF NOT EXISTS ssf_queue (
    seq             INTEGER PRIMARY KEY,
    stream_id       TEXT NOT NULL,
    jti             TEXT NOT NULL,
    set_jwt         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (stream_id, jti)
);
CREATE INDEX IF NOT EXISTS ssf_queue_stream ON ssf_queue(stream_id, seq);
