-- Lead search by last name within a list (the admin's lead search): a prefix of the last name,
-- case-folded. "C" ordering makes a prefix one contiguous range the query names with two
-- bounds, so a prepared statement's generic plan still uses the index (a LIKE with a parameter
-- pattern does not). One index only: each costs bulk imports (two, on first and last names,
-- took the 1,000,000-row import from 42,000 to 24,000 rows/s); without it a name search read
-- the whole list (145 ms p99 on a 50,000-lead list).
CREATE INDEX leads_list_last_name ON leads (list_id, (lower(last_name) COLLATE "C"));
