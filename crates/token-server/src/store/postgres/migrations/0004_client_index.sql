-- A client's tokens newest first, straight from the index; client + subject listings read
-- tokens_service_subject.
DROP INDEX IF EXISTS tokens_service_client_subject;
CREATE INDEX tokens_service_client ON tokens(service_id, client_id, id);
