-- The import's area-code scrub asks for every area-code entry, and nothing indexed `kind`: with
-- a national registry loaded (millions of number entries) each batch read the whole table to
-- find the handful of area codes. Measured with 2,000,000 entries: 88 ms for a batch of 10,000
-- rows, 3.5 ms with this index.
CREATE INDEX dnc_area_codes ON dnc_entries (value) WHERE kind = 'area_code';
