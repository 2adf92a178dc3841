-- Revocation without holes (issue #37).
--
-- 1. A token is never stored (or rotated) with a signing key that is revoked: whichever process
--    revoked the key (this instance, another, the CLI on the same file), an issuer still holding
--    the key in its cache meets this trigger, which leaves the row out (the statement changes no
--    row, and the store answers "signing key revoked" so the issuer signs again with the current
--    key). SQLite has one writer at a time, so the check and the revocation's sweep never
--    interleave.
CREATE TRIGGER IF NOT EXISTS tokens_key_live_insert BEFORE INSERT ON tokens
WHEN NEW.jwt_kid IS NOT NULL OR NEW.custom_token_kid IS NOT NULL
BEGIN
    SELECT RAISE(IGNORE) WHERE EXISTS (SELECT 1 FROM signing_keys k
        WHERE k.kid IN (NEW.jwt_kid, NEW.custom_token_kid) AND k.revoked_at IS NOT NULL);
END;
CREATE TRIGGER IF NOT EXISTS tokens_key_live_rotate BEFORE UPDATE OF jwt_kid ON tokens
WHEN NEW.jwt_kid IS NOT NULL AND NEW.jwt_kid IS NOT OLD.jwt_kid
BEGIN
    SELECT RAISE(IGNORE) WHERE EXISTS (SELECT 1 FROM signing_keys k
        WHERE k.kid = NEW.jwt_kid AND k.revoked_at IS NOT NULL);
END;

-- 2. A status list is retired only once every JWT that names it has expired: the latest `exp` of
--    the JWTs given an index in it, rounded up to the hour (so an issuance writes here about once
--    an hour per list, not once per token); a JWT without `exp` (persistent) is never retired.
--    Lists that exist already may have JWTs whose expiry nothing recorded: never retired either.
ALTER TABLE status_lists ADD COLUMN jwt_expires_by INTEGER NOT NULL DEFAULT 9223372036854775807;
CREATE TRIGGER IF NOT EXISTS tokens_status_jwt_expiry_insert AFTER INSERT ON tokens
WHEN NEW.status_idx IS NOT NULL
BEGIN
    UPDATE status_lists SET jwt_expires_by = CASE WHEN NEW.access_expires_at = 0
        THEN 9223372036854775807 ELSE (NEW.access_expires_at / 3600000 + 1) * 3600000 END
    WHERE service_id = NEW.service_id AND list_id = NEW.status_list
        AND jwt_expires_by < (CASE WHEN NEW.access_expires_at = 0 THEN 9223372036854775807
            ELSE NEW.access_expires_at END);
END;
CREATE TRIGGER IF NOT EXISTS tokens_status_jwt_expiry_update AFTER UPDATE OF status_list, status_idx ON tokens
WHEN NEW.status_idx IS NOT NULL
BEGIN
    UPDATE status_lists SET jwt_expires_by = CASE WHEN NEW.access_expires_at = 0
        THEN 9223372036854775807 ELSE (NEW.access_expires_at / 3600000 + 1) * 3600000 END
    WHERE service_id = NEW.service_id AND list_id = NEW.status_list
        AND jwt_expires_by < (CASE WHEN NEW.access_expires_at = 0 THEN 9223372036854775807
            ELSE NEW.access_expires_at END);
END;

-- 3. A family keeps its last rotated-away values only (reuse detection and revocation by an old
--    value reach back that far), found newest first through this index.
CREATE INDEX IF NOT EXISTS rotated_refresh_tokens_family ON rotated_refresh_tokens(token_id, rotated_at);
-- It leads with token_id: the janitor's and a deleted token's lookups use it too.
DROP INDEX IF EXISTS rotated_refresh_tokens_token;

-- 4. Per end user: custom tokens generated at or before `valid_after` (ms) are refused at exchange
--    (Firebase's `tokensValidAfterTime`), set when every token of the subject is revoked.
CREATE TABLE IF NOT EXISTS subject_cutoffs (
    service_id   INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    valid_after  INTEGER NOT NULL,
    PRIMARY KEY (service_id, subject)
) WITHOUT ROWID;
