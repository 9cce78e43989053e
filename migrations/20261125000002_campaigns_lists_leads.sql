-- Outbound campaigns, their lead lists, the leads, and the do-not-call lists.

CREATE TABLE campaigns (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                    text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
    description             text NOT NULL DEFAULT '',
    active                  boolean NOT NULL DEFAULT false,

    -- Pacing.
    dial_method             text NOT NULL DEFAULT 'progressive'
        CHECK (dial_method IN ('manual', 'preview', 'progressive', 'ratio', 'predictive')),
    -- Lines per ready agent in ratio mode; the starting level in predictive mode.
    dial_ratio              numeric(4,2) NOT NULL DEFAULT 1.0 CHECK (dial_ratio BETWEEN 1.0 AND 10.0),
    max_dial_ratio          numeric(4,2) NOT NULL DEFAULT 4.0 CHECK (max_dial_ratio BETWEEN 1.0 AND 10.0),
    -- The legal cap is 3% of live answers over 30 days (FTC TSR, Ofcom); a campaign may only be stricter.
    abandon_cap_pct         numeric(4,2) NOT NULL DEFAULT 3.0 CHECK (abandon_cap_pct > 0 AND abandon_cap_pct <= 3.0),
    -- Optional stricter rolling-hour cap (UK practice).
    hourly_abandon_cap_pct  numeric(5,2) CHECK (hourly_abandon_cap_pct > 0 AND hourly_abandon_cap_pct <= 100),
    -- ftc: abandons / live answers. ofcom: also counts AMD-estimated machine answers as live.
    abandon_rate_basis      text NOT NULL DEFAULT 'ftc' CHECK (abandon_rate_basis IN ('ftc', 'ofcom')),
    max_lines               integer CHECK (max_lines > 0),
    max_calls_per_second    numeric(6,2) NOT NULL DEFAULT 10 CHECK (max_calls_per_second > 0),
    trunk_channels          integer CHECK (trunk_channels > 0),
    -- FTC: ring at least 15 seconds (or four rings) before giving up.
    ring_timeout_secs       integer NOT NULL DEFAULT 26 CHECK (ring_timeout_secs BETWEEN 15 AND 120),
    -- FTC: a live callee must reach an agent within 2 seconds of their greeting, or it is abandoned.
    drop_timeout_secs       numeric(3,1) NOT NULL DEFAULT 2.0 CHECK (drop_timeout_secs > 0 AND drop_timeout_secs <= 2.0),
    drop_action             text NOT NULL DEFAULT 'message' CHECK (drop_action IN ('message', 'inbound_group')),
    drop_inbound_group_id   bigint,
    -- The FTC safe-harbor message: who calls and a number to call back. Always played on a drop.
    safe_harbor_audio       text NOT NULL DEFAULT 'dialtone/safe-harbor' CHECK (length(safe_harbor_audio) BETWEEN 1 AND 200),
    agent_selection         text NOT NULL DEFAULT 'longest_idle'
        CHECK (agent_selection IN ('longest_idle', 'fewest_calls', 'random')),

    -- Leads.
    dial_statuses           text[] NOT NULL DEFAULT '{NEW}' CHECK (cardinality(dial_statuses) BETWEEN 1 AND 50),
    lead_order              text NOT NULL DEFAULT 'due_first'
        CHECK (lead_order IN ('due_first', 'oldest_lead', 'newest_lead', 'priority', 'random')),
    call_time_id            bigint REFERENCES call_times (id),
    -- Lifetime attempts per lead.
    max_attempts            integer NOT NULL DEFAULT 10 CHECK (max_attempts BETWEEN 1 AND 1000),
    -- Attempts to one number in any rolling 24 hours within this campaign.
    max_number_attempts_24h integer CHECK (max_number_attempts_24h > 0),
    -- Hours after an abandon before that lead may be dialed again.
    drop_lockout_hours      integer NOT NULL DEFAULT 48 CHECK (drop_lockout_hours BETWEEN 0 AND 720),
    hopper_size             integer NOT NULL DEFAULT 0 CHECK (hopper_size BETWEEN 0 AND 100000),

    -- Carrier.
    dial_template           text NOT NULL DEFAULT 'PJSIP/{number}@{trunk}'
        CHECK (dial_template LIKE '%{number}%' AND length(dial_template) <= 200),
    trunk                   text NOT NULL DEFAULT 'carrier' CHECK (trunk ~ '^[A-Za-z0-9_.-]{1,64}$'),
    dial_prefix             text NOT NULL DEFAULT '' CHECK (dial_prefix ~ '^[0-9*#]{0,10}$'),
    caller_id_number        text CHECK (caller_id_number ~ '^\+?[0-9]{3,15}$'),
    caller_id_name          text NOT NULL DEFAULT '' CHECK (length(caller_id_name) <= 40),

    -- Answering machines.
    amd_enabled             boolean NOT NULL DEFAULT true,
    amd_machine_action      text NOT NULL DEFAULT 'hangup' CHECK (amd_machine_action IN ('hangup', 'message', 'agent')),
    amd_notsure_action      text NOT NULL DEFAULT 'agent' CHECK (amd_notsure_action IN ('agent', 'hangup', 'message')),
    machine_message_audio   text CHECK (length(machine_message_audio) BETWEEN 1 AND 200),

    -- Recording.
    recording_policy        text NOT NULL DEFAULT 'all_calls'
        CHECK (recording_policy IN ('never', 'on_demand', 'all_calls', 'all_calls_forced')),
    recording_delay_secs    integer NOT NULL DEFAULT 0 CHECK (recording_delay_secs BETWEEN 0 AND 600),
    recording_pattern       text NOT NULL DEFAULT '{date}/{campaign}/{lead}-{uniqueid}'
        CHECK (length(recording_pattern) BETWEEN 1 AND 200 AND recording_pattern NOT LIKE '%..%' AND recording_pattern NOT LIKE '/%'),

    -- Agent workflow.
    wrapup_secs             integer NOT NULL DEFAULT 10 CHECK (wrapup_secs BETWEEN 0 AND 3600),
    pause_codes_mode        text NOT NULL DEFAULT 'optional' CHECK (pause_codes_mode IN ('off', 'optional', 'forced')),
    pause_after_each_call   boolean NOT NULL DEFAULT false,
    scheduled_callbacks     boolean NOT NULL DEFAULT true,
    callback_days_limit     integer NOT NULL DEFAULT 30 CHECK (callback_days_limit BETWEEN 1 AND 365),
    manual_dial             boolean NOT NULL DEFAULT true,
    -- Blended: agents of this campaign also take calls of its inbound groups.
    allow_inbound           boolean NOT NULL DEFAULT false,
    queue_priority          integer NOT NULL DEFAULT 50 CHECK (queue_priority BETWEEN 0 AND 99),
    max_logged_in_agents    integer CHECK (max_logged_in_agents > 0),
    script                  text NOT NULL DEFAULT '',

    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (max_dial_ratio >= dial_ratio),
    CHECK (amd_machine_action <> 'message' OR machine_message_audio IS NOT NULL),
    CHECK (drop_action <> 'inbound_group' OR drop_inbound_group_id IS NOT NULL)
);

-- Dispositions an agent may choose in this campaign, with an optional hotkey.
CREATE TABLE campaign_dispositions (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    status_code text NOT NULL REFERENCES statuses (code),
    hotkey      smallint CHECK (hotkey BETWEEN 1 AND 9),
    PRIMARY KEY (campaign_id, status_code)
);
CREATE UNIQUE INDEX campaign_dispositions_hotkey ON campaign_dispositions (campaign_id, hotkey) WHERE hotkey IS NOT NULL;

CREATE TABLE campaign_pause_codes (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    pause_code  text NOT NULL REFERENCES pause_codes (code),
    PRIMARY KEY (campaign_id, pause_code)
);

-- How long to wait before redialing a lead left in a status, and how often.
CREATE TABLE campaign_retry_rules (
    campaign_id  bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    status_code  text NOT NULL REFERENCES statuses (code),
    delay_secs   integer NOT NULL CHECK (delay_secs BETWEEN 60 AND 31536000),
    max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    PRIMARY KEY (campaign_id, status_code)
);

CREATE TABLE lists (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    description     text NOT NULL DEFAULT '',
    campaign_id     bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    active          boolean NOT NULL DEFAULT true,
    -- Numbers without a country code are read as this country's.
    default_country char(2) NOT NULL DEFAULT 'US' CHECK (default_country ~ '^[A-Z]{2}$'),
    caller_id_number text CHECK (caller_id_number ~ '^\+?[0-9]{3,15}$'),
    expires_on      date,
    -- The callees' time zones present in the list, kept by imports: the hopper asks only these.
    time_zones      text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lists_campaign ON lists (campaign_id) WHERE active;

CREATE TABLE import_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_id         bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    file_name       text NOT NULL,
    -- Same list + same bytes = the same import: a rerun resumes after lines_committed.
    file_sha256     text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    duplicates      text NOT NULL CHECK (duplicates IN ('skip', 'update')),
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    lines_committed bigint NOT NULL DEFAULT 0,
    rows_inserted   bigint NOT NULL DEFAULT 0,
    rows_updated    bigint NOT NULL DEFAULT 0,
    rows_duplicate  bigint NOT NULL DEFAULT 0,
    rows_dnc        bigint NOT NULL DEFAULT 0,
    rows_rejected   bigint NOT NULL DEFAULT 0,
    error           text,
    created_by      bigint,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (list_id, file_sha256)
);

CREATE TABLE leads (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Must name a list: checked per statement by leads_list_exists below, not by a foreign key.
    list_id         bigint NOT NULL,
    status          text NOT NULL DEFAULT 'NEW' CHECK (dialtone_is_code(status, 12)),
    phone_e164      text NOT NULL CHECK (dialtone_is_e164(phone_e164)),
    alt_phone_e164  text CHECK (dialtone_is_e164(alt_phone_e164)),
    country         text NOT NULL CHECK (length(country) = 2 AND dialtone_is_code(country, 2)),
    -- The callee's IANA zone: calling hours are checked in it.
    time_zone       text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    state           text CHECK (length(state) = 2 AND dialtone_is_code(state, 2)),
    postal_code     text CHECK (length(postal_code) <= 16),
    first_name      text NOT NULL DEFAULT '',
    last_name       text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    address1        text NOT NULL DEFAULT '',
    address2        text NOT NULL DEFAULT '',
    city            text NOT NULL DEFAULT '',
    vendor_code     text NOT NULL DEFAULT '',
    source          text NOT NULL DEFAULT '',
    comments        text NOT NULL DEFAULT '',
    custom          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    priority        smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    owner_user_id   bigint,
    attempt_count   integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    last_attempt_at timestamptz,
    -- NULL: not to be dialed (finished, DNC, in a call, over its limits). The hopper reads only
    -- rows with a time here, through leads_due.
    next_attempt_at timestamptz,
    -- The import that brought the lead, for history; no foreign key, whose per-row check would
    -- cost bulk imports a lock on the same job row 20,000 times a batch.
    import_job_id   bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One lead per number in a list. Number first, so the same index finds a caller's leads in
-- every list (inbound screen pop, DNC sweeps, the per-number attempt cap).
CREATE UNIQUE INDEX leads_phone_list ON leads (phone_e164, list_id);
-- A list's leads in load order (admin paging, export, counts); appended at its right edge.
CREATE INDEX leads_list ON leads (list_id, id);
-- The next-leads query walks this index per (list, status, zone) in due order: it never scans.
CREATE INDEX leads_due ON leads (list_id, status, time_zone, next_attempt_at)
    INCLUDE (state, attempt_count, id) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX leads_owner ON leads (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- leads.list_id must name a list. A foreign key checks each row on its own, locking the list's
-- row once per lead (measured: 12 of the 30 microseconds a lead costs a bulk import). These
-- triggers check each statement once: they lock every list the statement used, as the key would,
-- so a list cannot be deleted under a running import, and fail as the key would.
CREATE FUNCTION leads_check_lists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    PERFORM 1 FROM lists WHERE id IN (SELECT DISTINCT list_id FROM changed) FOR KEY SHARE;
    SELECT c.list_id INTO missing FROM changed c WHERE NOT EXISTS (SELECT 1 FROM lists l WHERE l.id = c.list_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format('list %s does not exist', missing),
            TABLE = 'leads', COLUMN = 'list_id';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_list_exists_on_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION leads_check_lists();
CREATE TRIGGER leads_list_exists_on_update AFTER UPDATE ON leads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION leads_check_lists();

-- Deleting a list deletes its leads, as ON DELETE CASCADE would.
CREATE FUNCTION lists_delete_leads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM leads WHERE list_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER lists_delete_leads BEFORE DELETE ON lists FOR EACH ROW EXECUTE FUNCTION lists_delete_leads();

-- Do-not-call entries. campaign_id NULL = system-wide. A `number` entry holds an E.164 number;
-- an `area_code` entry holds an E.164 prefix such as +1201 and blocks every number under it.
CREATE TABLE dnc_entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('number', 'area_code')),
    value       text NOT NULL,
    source      text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'registry', 'disposition', 'api', 'import', 'callee_request')),
    note        text NOT NULL DEFAULT '',
    added_by    bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'number' AND dialtone_is_e164(value)) OR (kind = 'area_code' AND value ~ '^\+[1-9][0-9]{1,6}$'))
);
CREATE UNIQUE INDEX dnc_system_value ON dnc_entries (value) WHERE campaign_id IS NULL;
CREATE UNIQUE INDEX dnc_campaign_value ON dnc_entries (campaign_id, value) WHERE campaign_id IS NOT NULL;
-- Lookups match a number and its leading digits (for area-code entries) in one index probe.
CREATE INDEX dnc_value ON dnc_entries (value);
