-- Claimed once by the first start's bootstrap, so that two instances starting on an empty database
-- never both provision a default tenant.
CREATE TABLE first_start (id INT PRIMARY KEY CHECK (id = 1), claimed_at BIGINT NOT NULL);
