-- The event log (issue #40): one row per change, written in the change's transaction.
--
-- A stream is a service (its ID) or an organization (minus its ID). Transactions of several
-- instances commit in any order, so an event is written without its number (`event_id` NULL) and
-- numbered after it committed: a sequencer (any reader, before it reads) takes the stream's counter
-- row lock, numbers every committed unnumbered event of the stream from the counter, and commits.
-- Numbers are therefore given in the order they become readable, without gaps, and a reader
-- following them never misses one. `seq` is the order rows were written in (the janitor purges
-- from the oldest; the sequencer numbers in it).
CREATE TABLE IF NOT EXISTS event_streams (
    stream        BIGINT PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq           BIGSERIAL PRIMARY KEY,
    stream        BIGINT NOT NULL,
    event_id      BIGINT,
    at            BIGINT NOT NULL,
    type          TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    service_id    BIGINT,
    subject       TEXT,
    client_id     BIGINT,
    token_id      TEXT,
    kid           TEXT,
    credential_id TEXT,
    count         BIGINT,
    reason        TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_cursor ON events(stream, event_id);
CREATE INDEX IF NOT EXISTS events_unnumbered ON events(stream, seq) WHERE event_id IS NULL;
ALTER TABLE services ADD COLUMN IF NOT EXISTS issuance_events BOOLEAN NOT NULL DEFAULT TRUE;
