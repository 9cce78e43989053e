-- The predictive pacer (issue 5): the AMD false-positive estimate a campaign adds to its abandon
-- rate, and the pacer's learned limit, kept across restarts. (The optional hourly cap,
-- hourly_abandon_cap_pct, has been on campaigns from the start.)

ALTER TABLE campaigns
    -- The campaign's reasoned estimate of live callees its AMD takes for machines, in percent
    -- of live answers. Each is an abandon the ledger cannot see; the pacer counts them (Ofcom).
    ADD COLUMN amd_false_positive_pct numeric(4,2) NOT NULL DEFAULT 0
        CHECK (amd_false_positive_pct >= 0 AND amd_false_positive_pct <= 3);

CREATE TABLE pacer_state (
    campaign_id   bigint PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    -- The trimmed limit on a new line's chance of finding no agent.
    theta         double precision NOT NULL CHECK (theta > 0 AND theta < 1),
    -- The last abandon_ledger row the trim has seen.
    ledger_cursor bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
