-- The event log (issue #40): one row per change, written in the change's transaction.
--
-- A stream is a service (its ID) or an organization (minus its ID). Each stream numbers its events
-- 1, 2, 3, … with no gap through its counter row in `event_streams`: SQLite has one writer, so the
-- transaction that takes a number commits before the next one takes the next, and a reader
-- following the numbers never misses one. `seq` is the order rows were written in (the janitor
-- purges from the oldest).
CREATE TABLE IF NOT EXISTS event_streams (
    stream        INTEGER PRIMARY KEY,
    last_event_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq           INTEGER PRIMARY KEY,
    stream        INTEGER NOT NULL,
    event_id      INTEGER,
    at            INTEGER NOT NULL,
    type          TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    service_id    INTEGER,
    subject       TEXT,
    client_id     INTEGER,
    token_id      TEXT,
    kid           TEXT,
    credential_id TEXT,
    count         INTEGER,
    reason        TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_cursor ON events(stream, event_id);
-- Issuance events (`extension.issuanceEvents`, on by default).
ALTER TABLE services ADD COLUMN issuance_events INTEGER NOT NULL DEFAULT 1;
