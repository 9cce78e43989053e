-- campaigns.allow_inbound now decides whether the campaign's agents may also serve inbound
-- groups (blended). It had no effect before, and every campaign's agents could: existing
-- campaigns keep that, and so do new ones unless an operator turns it off.
ALTER TABLE campaigns ALTER COLUMN allow_inbound SET DEFAULT true;
UPDATE campaigns SET allow_inbound = true;
