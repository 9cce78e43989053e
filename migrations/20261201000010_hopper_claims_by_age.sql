-- Every dialer turn puts the campaign's claims older than the hopper's hold back among the due
-- leads (hopper::release_stale); this finds them without reading the campaign's whole hopper.
CREATE INDEX hopper_claim_age ON hopper (campaign_id, claimed_at);
