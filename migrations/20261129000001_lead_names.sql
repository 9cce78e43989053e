-- Lead search by name within a list (the admin's lead search, the agent's lookup): a prefix of
-- the last or the first name, case-folded. "C" ordering makes a prefix one contiguous range the
-- query can name with two bounds, so a prepared statement's generic plan still uses the index
-- (a LIKE with a parameter pattern does not). Each index costs bulk imports a little; a name
-- search that reads a 50,000-lead list costs a page 150 ms.
CREATE INDEX leads_list_last_name ON leads (list_id, (lower(last_name) COLLATE "C"));
CREATE INDEX leads_list_first_name ON leads (list_id, (lower(first_name) COLLATE "C"));
