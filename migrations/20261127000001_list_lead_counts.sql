-- Each list's number of leads, kept by statement-level triggers, so the admin's list table does
-- not count millions of leads on every page view. One UPDATE per statement that touches leads,
-- whatever the number of rows (an import batch of 20,000 adds one grouped UPDATE).

ALTER TABLE lists ADD COLUMN lead_count bigint NOT NULL DEFAULT 0 CHECK (lead_count >= 0);
UPDATE lists l SET lead_count = (SELECT count(*) FROM leads WHERE list_id = l.id);

CREATE FUNCTION lists_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lists l SET lead_count = l.lead_count + c.n
    FROM (SELECT list_id, count(*) AS n FROM changed GROUP BY list_id) c WHERE l.id = c.list_id;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_count_on_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lists_count_inserted();

-- Leads deleted by another trigger are those of a list being deleted (lists_delete_leads):
-- touching that list's row then would make its own DELETE fail, and its count goes with it.
CREATE FUNCTION lists_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    UPDATE lists l SET lead_count = greatest(l.lead_count - c.n, 0)
    FROM (SELECT list_id, count(*) AS n FROM gone GROUP BY list_id) c WHERE l.id = c.list_id;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_count_on_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION lists_count_deleted();

-- Only a lead moved to another list changes the counts; the WHEN clause keeps this row trigger
-- off the common updates (status, attempts) entirely.
CREATE FUNCTION lists_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lists SET lead_count = greatest(lead_count - 1, 0) WHERE id = OLD.list_id;
    UPDATE lists SET lead_count = lead_count + 1 WHERE id = NEW.list_id;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_count_on_move AFTER UPDATE OF list_id ON leads
    FOR EACH ROW WHEN (OLD.list_id IS DISTINCT FROM NEW.list_id) EXECUTE FUNCTION lists_count_moved();
