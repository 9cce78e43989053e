-- A channel can carry more than one call: a customer an agent transfers to an inbound group
-- keeps their channel (and its uniqueid) into the new, queued call. The uniqueid stays
-- searchable, no longer unique.
DROP INDEX calls_uniqueid;
CREATE INDEX calls_uniqueid ON calls (uniqueid) WHERE uniqueid IS NOT NULL;
