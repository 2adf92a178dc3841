-- A client's tokens newest first, straight from the index (the rowid ends every index entry, so
-- `ORDER BY id DESC` walks it backwards): (service_id, client_id, subject) made a page of a
-- client's tokens sort all of them. Client + subject listings read tokens_service_subject.
DROP INDEX IF EXISTS tokens_service_client_subject;
CREATE INDEX IF NOT EXISTS tokens_service_client ON tokens(service_id, client_id);
