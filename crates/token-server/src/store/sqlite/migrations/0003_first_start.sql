-- Claimed once by the first start's bootstrap, so that two processes starting on an empty store
-- never both provision a default tenant.
CREATE TABLE IF NOT EXISTS first_start (id INTEGER PRIMARY KEY CHECK (id = 1), claimed_at INTEGER NOT NULL);
