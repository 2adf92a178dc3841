-- Values that carry their token's ID (#26): a generated value is found through the time-ordered
-- token_id index. Hashes without a selector (values issued before, values callers chose) stay
-- unique per service through partial indexes; a generated value's hash ('<token ID>.<SHA-256>')
-- is in none. The full unique constraints stay until `token-server migrate --finish` (run once
-- every instance runs this version): instances of the previous version still read through them.
CREATE UNIQUE INDEX IF NOT EXISTS tokens_access_value ON tokens(service_id, access_hash)
    WHERE access_hash NOT LIKE '%.%';
CREATE UNIQUE INDEX IF NOT EXISTS tokens_refresh_value ON tokens(service_id, refresh_hash)
    WHERE refresh_hash NOT LIKE '%.%';

-- Upgrades that change what every instance must understand, and when each was finished
-- (`selector_values`: new values carry their token's ID; written by `migrate --finish`, or by the
-- first migration of a database no earlier version ever used).
CREATE TABLE IF NOT EXISTS upgrades (
    name         TEXT PRIMARY KEY,
    finished_at  BIGINT NOT NULL
);
