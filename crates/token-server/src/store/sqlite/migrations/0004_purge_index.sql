-- The janitor's index: when a token stops mattering (revoked, or both of its tokens expired; NULL
-- while it can still be used forever). A batch of the purge then reads only rows it deletes,
-- whatever the size of the table.
ALTER TABLE tokens ADD COLUMN ends_at INTEGER GENERATED ALWAYS AS (
    CASE
        WHEN access_expires_at = 0 THEN revoked_at
        WHEN revoked_at IS NULL THEN max(access_expires_at, coalesce(refresh_expires_at, 0))
        ELSE min(revoked_at, max(access_expires_at, coalesce(refresh_expires_at, 0)))
    END) VIRTUAL;
CREATE INDEX IF NOT EXISTS tokens_ends_at ON tokens(ends_at) WHERE ends_at IS NOT NULL;
-- Rotation records go with their token (purge and delete), found by this index.
CREATE INDEX IF NOT EXISTS rotated_refresh_tokens_token ON rotated_refresh_tokens(token_id);
DELETE FROM rotated_refresh_tokens WHERE token_id NOT IN (SELECT token_id FROM tokens);
