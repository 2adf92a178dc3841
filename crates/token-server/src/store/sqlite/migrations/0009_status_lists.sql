-- Token Status List (draft-ietf-oauth-status-list-17) for JWT access tokens.
--
-- A service turns lists on with `status_list_ttl` (seconds a verifier may cache a list; NULL: off).
-- Each JWT access token gets an index in one of its service's lists (`tokens.status_list`,
-- `tokens.status_idx`), reserved in blocks from `status_lists.next_idx` so that instances never
-- share one. `status_bits` holds the indexes whose status is 1 (invalid): the triggers below write
-- them in the same transaction as whatever ends the token — a revocation of any kind, a rotation
-- that replaces the JWT, a delete — so no code path can forget one, and serving a list reads its
-- bits, never the tokens.
ALTER TABLE services ADD COLUMN status_list_ttl INTEGER;
ALTER TABLE tokens ADD COLUMN status_list INTEGER;
ALTER TABLE tokens ADD COLUMN status_idx INTEGER;
CREATE INDEX IF NOT EXISTS tokens_status_list ON tokens(service_id, status_list) WHERE status_list IS NOT NULL;

CREATE TABLE IF NOT EXISTS status_lists (
    service_id  INTEGER NOT NULL,
    list_id     INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    next_idx    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER,
    PRIMARY KEY (service_id, list_id)
);
CREATE TABLE IF NOT EXISTS status_bits (
    service_id  INTEGER NOT NULL,
    list_id     INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    PRIMARY KEY (service_id, list_id, idx)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS tokens_status_revoked AFTER UPDATE OF revoked_at ON tokens
WHEN OLD.status_idx IS NOT NULL AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO status_bits (service_id, list_id, idx)
    VALUES (OLD.service_id, OLD.status_list, OLD.status_idx);
END;

CREATE TRIGGER IF NOT EXISTS tokens_status_replaced AFTER UPDATE OF status_list, status_idx ON tokens
WHEN OLD.status_idx IS NOT NULL
    AND (NEW.status_idx IS NULL OR NEW.status_idx != OLD.status_idx OR NEW.status_list != OLD.status_list)
BEGIN
    INSERT OR IGNORE INTO status_bits (service_id, list_id, idx)
    VALUES (OLD.service_id, OLD.status_list, OLD.status_idx);
END;

CREATE TRIGGER IF NOT EXISTS tokens_status_deleted AFTER DELETE ON tokens
WHEN OLD.status_idx IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO status_bits (service_id, list_id, idx)
    VALUES (OLD.service_id, OLD.status_list, OLD.status_idx);
END;
