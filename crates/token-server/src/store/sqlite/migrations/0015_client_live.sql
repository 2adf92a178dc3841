-- No token is stored for a client that no longer exists (issue #40: clients are now read through
-- the tenancy cache, so the client a create read may have been deleted since, by this process, the
-- CLI or another instance). Deleting a client revokes its tokens in the same write; an insert that
-- comes after that write finds no client and leaves its row out (the statement changes no row: the
-- store answers "client gone" and the create answers as for an unknown client). SQLite has one
-- writer, so no insert can fall between the delete and its revocation. Client 0 is the service's
-- pseudo-client of custom-token sessions, which has no row.
CREATE TRIGGER IF NOT EXISTS tokens_client_live_insert BEFORE INSERT ON tokens
WHEN NEW.client_id != 0
BEGIN
    SELECT RAISE(IGNORE) WHERE NOT EXISTS (SELECT 1 FROM clients c
        WHERE c.service_id = NEW.service_id AND c.client_id = NEW.client_id);
END;
