-- The janitor's index: when a token stops mattering (revoked, or both of its tokens expired; NULL
-- while it can still be used forever). A batch of the purge then reads only rows it deletes,
-- whatever the size of the table. (LEAST/GREATEST ignore NULLs.)
ALTER TABLE tokens ADD COLUMN ends_at BIGINT GENERATED ALWAYS AS (
    CASE
        WHEN access_expires_at = 0 THEN revoked_at
        ELSE LEAST(revoked_at, GREATEST(access_expires_at, COALESCE(refresh_expires_at, 0)))
    END) STORED;
CREATE INDEX tokens_ends_at ON tokens(ends_at) WHERE ends_at IS NOT NULL;
-- Rotation records go with their token (purge and delete), found by this index.
CREATE INDEX rotated_refresh_tokens_token ON rotated_refresh_tokens(token_id);
DELETE FROM rotated_refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.token_id = r.token_id);
