-- A service's token listing without a filter reads (service_id, id) in order from this index (every
-- SQLite index ends with the row id): a page read by key (`id < ?`) starts where the last one ended,
-- and a page by position walks the index only, never the rows it skips. Before it, the listing
-- scanned the table backwards and read every row of every service up to its offset.
CREATE INDEX IF NOT EXISTS tokens_service ON tokens(service_id);
