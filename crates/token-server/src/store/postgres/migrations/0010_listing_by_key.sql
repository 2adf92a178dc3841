-- Token listings by key (see the SQLite migration 0011): (service_id, id) for a service's listing
-- and (service_id, subject, id) for a subject's, so a page read by key (`id < $n ORDER BY id DESC`)
-- is a range of one index; a client's has (service_id, client_id, id) since 0004.
CREATE INDEX IF NOT EXISTS tokens_service ON tokens(service_id, id);
DROP INDEX IF EXISTS tokens_service_subject;
CREATE INDEX tokens_service_subject ON tokens(service_id, subject, id);
