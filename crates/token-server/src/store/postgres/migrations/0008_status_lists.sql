-- Token Status List (draft-ietf-oauth-status-list-17) for JWT access tokens: see the SQLite
-- migration 0009 for the design. The bits are written by a trigger in the transaction that ends the
-- token (revocation of any kind, rotation replacing the JWT, delete).
ALTER TABLE services ADD COLUMN status_list_ttl BIGINT;
ALTER TABLE tokens ADD COLUMN status_list BIGINT;
ALTER TABLE tokens ADD COLUMN status_idx BIGINT;
CREATE INDEX tokens_status_list ON tokens(service_id, status_list) WHERE status_list IS NOT NULL;

CREATE TABLE status_lists (
    service_id  BIGINT NOT NULL,
    list_id     BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    next_idx    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT,
    PRIMARY KEY (service_id, list_id)
);
CREATE TABLE status_bits (
    service_id  BIGINT NOT NULL,
    list_id     BIGINT NOT NULL,
    idx         BIGINT NOT NULL,
    PRIMARY KEY (service_id, list_id, idx)
);

CREATE FUNCTION tokens_status_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status_idx IS NOT NULL AND (
        TG_OP = 'DELETE'
        OR (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
        OR NEW.status_idx IS DISTINCT FROM OLD.status_idx
        OR NEW.status_list IS DISTINCT FROM OLD.status_list
    ) THEN
        INSERT INTO status_bits (service_id, list_id, idx)
        VALUES (OLD.service_id, OLD.status_list, OLD.status_idx)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- Only rows that have an entry call the function: services without lists pay nothing per update.
CREATE TRIGGER tokens_status_update AFTER UPDATE OF revoked_at, status_list, status_idx ON tokens
    FOR EACH ROW WHEN (OLD.status_idx IS NOT NULL) EXECUTE FUNCTION tokens_status_mark();
CREATE TRIGGER tokens_status_delete AFTER DELETE ON tokens
    FOR EACH ROW WHEN (OLD.status_idx IS NOT NULL) EXECUTE FUNCTION tokens_status_mark();
