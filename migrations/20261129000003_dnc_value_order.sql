-- The DNC page lists entries in value order, page by page: with the id in the index (equal
-- values: the system's and a campaign's entry for one number) that order is read straight off
-- it, never sorted. Exact lookups (the hopper's scrub, the import's) use it as before.
DROP INDEX dnc_value;
CREATE INDEX dnc_value ON dnc_entries (value, id);
