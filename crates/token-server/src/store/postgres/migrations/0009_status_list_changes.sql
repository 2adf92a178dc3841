-- Each Token Status List's version (see the SQLite migration 0010 for the design): a trigger on
-- `status_bits` counts every bit inserted, in 16 lanes per list so that transactions ending tokens of
-- one list do not queue on one counter row's lock until each other's commit.
CREATE TABLE status_list_changes (
    service_id  BIGINT NOT NULL,
    list_id     BIGINT NOT NULL,
    lane        BIGINT NOT NULL,
    changes     BIGINT NOT NULL,
    PRIMARY KEY (service_id, list_id, lane)
);

INSERT INTO status_list_changes (service_id, list_id, lane, changes)
SELECT service_id, list_id, idx % 16, count(*) FROM status_bits GROUP BY service_id, list_id, idx % 16;

CREATE FUNCTION status_bits_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_list_changes (service_id, list_id, lane, changes)
    VALUES (NEW.service_id, NEW.list_id, NEW.idx % 16, 1)
    ON CONFLICT (service_id, list_id, lane) DO UPDATE SET changes = status_list_changes.changes + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER status_bits_counted AFTER INSERT ON status_bits
    FOR EACH ROW EXECUTE FUNCTION status_bits_count();
