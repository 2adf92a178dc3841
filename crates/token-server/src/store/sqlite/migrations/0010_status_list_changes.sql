-- Each Token Status List's version: how many bits it gained, so that a server re-renders a list only
-- when its bits changed, and learns that with one small read instead of reading every set bit.
--
-- A trigger on `status_bits` counts every bit inserted (whatever ended the token: the triggers of
-- migration 0009 write the bits). The count is kept in 16 lanes per list (by index) rather than one
-- row: PostgreSQL locks a counter row until its transaction commits, and one row per list would
-- make every transaction that ends a token of that list wait for the previous one's commit. A
-- list's version is the sum of its lanes; bits are never unset, so the sum grows with every change.
CREATE TABLE IF NOT EXISTS status_list_changes (
    service_id  INTEGER NOT NULL,
    list_id     INTEGER NOT NULL,
    lane        INTEGER NOT NULL,
    changes     INTEGER NOT NULL,
    PRIMARY KEY (service_id, list_id, lane)
) WITHOUT ROWID;

INSERT INTO status_list_changes (service_id, list_id, lane, changes)
SELECT service_id, list_id, idx % 16, count(*) FROM status_bits GROUP BY service_id, list_id, idx % 16;

CREATE TRIGGER IF NOT EXISTS status_bits_counted AFTER INSERT ON status_bits
BEGIN
    INSERT INTO status_list_changes (service_id, list_id, lane, changes)
    VALUES (NEW.service_id, NEW.list_id, NEW.idx % 16, 1)
    ON CONFLICT (service_id, list_id, lane) DO UPDATE SET changes = changes + 1;
END;
