-- No token is stored for a client that no longer exists (issue #40); see the SQLite migration 0015.
-- The client's row is locked FOR KEY SHARE by the insert that names it, so a concurrent delete
-- (from any instance or the CLI), which locks the row to delete it, waits for that insert to commit
-- and its revocation of the client's tokens then finds the token; an insert that comes after the
-- delete finds no row and leaves its own out. KEY SHARE does not conflict with a client's update
-- (its key does not change) nor with other inserts naming the same client.
CREATE FUNCTION tokens_client_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM clients WHERE service_id = NEW.service_id AND client_id = NEW.client_id
        FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tokens_client_live_insert BEFORE INSERT ON tokens
    FOR EACH ROW WHEN (NEW.client_id <> 0)
    EXECUTE FUNCTION tokens_client_live();
