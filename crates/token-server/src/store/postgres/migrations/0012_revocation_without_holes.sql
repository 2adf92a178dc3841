-- Revocation without holes (issue #37); see the SQLite migration 0013 for the design.
--
-- 1. No token is stored or rotated with a revoked signing key. The key's row is locked FOR SHARE
--    by the insert (or rotation) that names it, so a concurrent revocation (from any instance or
--    the CLI) waits for that insert to commit and its sweep then finds the token; an insert that
--    comes after the revocation sees the key revoked and leaves its row out (the statement changes
--    no row: the store answers "signing key revoked" and the issuer signs again).
CREATE FUNCTION tokens_key_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key RECORD;
BEGIN
    FOR key IN SELECT revoked_at FROM signing_keys
        WHERE kid IN (NEW.jwt_kid, NEW.custom_token_kid) FOR SHARE
    LOOP
        IF key.revoked_at IS NOT NULL THEN
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER tokens_key_live_insert BEFORE INSERT ON tokens
    FOR EACH ROW WHEN (NEW.jwt_kid IS NOT NULL OR NEW.custom_token_kid IS NOT NULL)
    EXECUTE FUNCTION tokens_key_live();
CREATE TRIGGER tokens_key_live_rotate BEFORE UPDATE OF jwt_kid ON tokens
    FOR EACH ROW WHEN (NEW.jwt_kid IS NOT NULL AND NEW.jwt_kid IS DISTINCT FROM OLD.jwt_kid)
    EXECUTE FUNCTION tokens_key_live();

-- 2. A status list is retired only once every JWT naming it has expired (persistent: never).
ALTER TABLE status_lists ADD COLUMN jwt_expires_by BIGINT NOT NULL DEFAULT 9223372036854775807;
CREATE FUNCTION tokens_status_jwt_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    expires BIGINT := CASE WHEN NEW.access_expires_at = 0 THEN 9223372036854775807
        ELSE NEW.access_expires_at END;
BEGIN
    UPDATE status_lists SET jwt_expires_by = CASE WHEN expires = 9223372036854775807 THEN expires
            ELSE (expires / 3600000 + 1) * 3600000 END
        WHERE service_id = NEW.service_id AND list_id = NEW.status_list AND jwt_expires_by < expires;
    RETURN NULL;
END
$$;
CREATE TRIGGER tokens_status_jwt_expiry_insert AFTER INSERT ON tokens
    FOR EACH ROW WHEN (NEW.status_idx IS NOT NULL) EXECUTE FUNCTION tokens_status_jwt_expiry();
CREATE TRIGGER tokens_status_jwt_expiry_update AFTER UPDATE OF status_list, status_idx ON tokens
    FOR EACH ROW WHEN (NEW.status_idx IS NOT NULL) EXECUTE FUNCTION tokens_status_jwt_expiry();

-- 3. A family keeps its last rotated-away values only.
CREATE INDEX IF NOT EXISTS rotated_refresh_tokens_family ON rotated_refresh_tokens(token_id, rotated_at);
-- It leads with token_id: the janitor's and a deleted token's lookups use it too.
DROP INDEX IF EXISTS rotated_refresh_tokens_token;

-- 4. Per end user: custom tokens generated at or before `valid_after` (ms) are refused at exchange.
CREATE TABLE subject_cutoffs (
    service_id   BIGINT NOT NULL,
    subject      TEXT NOT NULL,
    valid_after  BIGINT NOT NULL,
    PRIMARY KEY (service_id, subject)
);
