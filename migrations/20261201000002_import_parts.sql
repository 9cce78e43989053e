-- An import merges its batches over several connections at once, each owning the numbers of
-- one part (by the number's last two digits, so every row of a number goes through the same
-- connection in file order). Each part commits its own checkpoint: part_lines[p] is the line up
-- to which part p is committed, and lines_committed, the least of them, the line up to which all
-- of it is.
ALTER TABLE import_jobs ADD COLUMN part_lines bigint[] NOT NULL DEFAULT '{}';
