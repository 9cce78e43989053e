-- People, their access, inbound routing, and agents' working sessions.

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             text NOT NULL CHECK (username ~ '^[a-z0-9_.@-]{2,64}$'),
    display_name         text NOT NULL DEFAULT '' CHECK (length(display_name) <= 80),
    role                 text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    -- argon2id PHC string.
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    must_change_password boolean NOT NULL DEFAULT true,
    active               boolean NOT NULL DEFAULT true,
    -- How to ring this agent's phone into their conference, e.g. PJSIP/1001.
    phone_dial_string    text CHECK (length(phone_dial_string) BETWEEN 1 AND 200),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_login_at        timestamptz
);
CREATE UNIQUE INDEX users_username ON users (username);

ALTER TABLE leads ADD CONSTRAINT leads_owner_fk FOREIGN KEY (owner_user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE dnc_entries ADD CONSTRAINT dnc_added_by_fk FOREIGN KEY (added_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_created_by_fk FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;

-- Supervisors and agents see only the campaigns listed here; admins see all.
CREATE TABLE user_campaigns (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, campaign_id)
);
CREATE INDEX user_campaigns_campaign ON user_campaigns (campaign_id);

-- Server-side web sessions; the cookie carries the token, the table only its hash.
CREATE TABLE web_sessions (
    token_sha256 text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           inet,
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE inbound_groups (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                   text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
    description            text NOT NULL DEFAULT '',
    active                 boolean NOT NULL DEFAULT true,
    -- Dispositions, recording and scripts come from this campaign's settings.
    campaign_id            bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    call_time_id           bigint REFERENCES call_times (id),
    time_zone              text NOT NULL DEFAULT 'America/New_York' CHECK (length(time_zone) BETWEEN 1 AND 64),
    queue_priority         integer NOT NULL DEFAULT 50 CHECK (queue_priority BETWEEN 0 AND 99),
    welcome_audio          text CHECK (length(welcome_audio) BETWEEN 1 AND 200),
    music_class            text NOT NULL DEFAULT 'default' CHECK (music_class ~ '^[A-Za-z0-9_-]{1,64}$'),
    -- Announce the caller's position every N seconds; 0 = never.
    position_announce_secs integer NOT NULL DEFAULT 30 CHECK (position_announce_secs BETWEEN 0 AND 3600),
    max_wait_secs          integer NOT NULL DEFAULT 300 CHECK (max_wait_secs BETWEEN 5 AND 86400),
    -- Answered within this many seconds counts toward the service level.
    service_level_secs     integer NOT NULL DEFAULT 20 CHECK (service_level_secs BETWEEN 1 AND 3600),
    recording_policy       text NOT NULL DEFAULT 'all_calls'
        CHECK (recording_policy IN ('never', 'on_demand', 'all_calls', 'all_calls_forced')),
    -- What happens when the group is closed, has no agent logged in, or the caller waited too long.
    closed_action          text NOT NULL DEFAULT 'message_hangup',
    closed_target          text,
    no_agents_action       text NOT NULL DEFAULT 'message_hangup',
    no_agents_target       text,
    timeout_action         text NOT NULL DEFAULT 'voicemail',
    timeout_target         text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (closed_action IN ('voicemail', 'message_hangup', 'transfer_number', 'transfer_group')),
    CHECK (no_agents_action IN ('voicemail', 'message_hangup', 'transfer_number', 'transfer_group')),
    CHECK (timeout_action IN ('voicemail', 'message_hangup', 'transfer_number', 'transfer_group')),
    -- message_hangup and voicemail may use the default target; transfers need one.
    CHECK (closed_action NOT LIKE 'transfer_%' OR closed_target IS NOT NULL),
    CHECK (no_agents_action NOT LIKE 'transfer_%' OR no_agents_target IS NOT NULL),
    CHECK (timeout_action NOT LIKE 'transfer_%' OR timeout_target IS NOT NULL)
);
ALTER TABLE campaigns ADD CONSTRAINT campaigns_drop_group_fk
    FOREIGN KEY (drop_inbound_group_id) REFERENCES inbound_groups (id) ON DELETE RESTRICT;

-- Numbers callers dial, each routed to one group.
CREATE TABLE dids (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      text NOT NULL UNIQUE CHECK (number ~ '^\+?[0-9*#]{1,20}$'),
    description text NOT NULL DEFAULT '',
    group_id    bigint NOT NULL REFERENCES inbound_groups (id) ON DELETE RESTRICT,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Groups a blended campaign's agents also serve.
CREATE TABLE campaign_inbound_groups (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_id    bigint NOT NULL REFERENCES inbound_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, group_id)
);

-- Groups a user may take calls from.
CREATE TABLE user_inbound_groups (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES inbound_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

-- One row per agent login. The agent's phone sits in `conference` for the whole session.
CREATE TABLE agent_sessions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES users (id),
    campaign_id       bigint NOT NULL REFERENCES campaigns (id),
    node              text NOT NULL,
    phone_dial_string text NOT NULL,
    conference        text NOT NULL,
    state             text NOT NULL DEFAULT 'connecting'
        CHECK (state IN ('connecting', 'ready', 'paused', 'reserved', 'on_call', 'wrapup', 'logged_out')),
    state_since       timestamptz NOT NULL DEFAULT now(),
    pause_code        text REFERENCES pause_codes (code),
    current_call_id   uuid,
    calls_taken       integer NOT NULL DEFAULT 0,
    -- The agent page's heartbeat: a silent page stops receiving calls.
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    logged_in_at      timestamptz NOT NULL DEFAULT now(),
    logged_out_at     timestamptz,
    logout_reason     text,
    CHECK ((state = 'logged_out') = (logged_out_at IS NOT NULL)),
    CHECK (state <> 'paused' OR pause_code IS NOT NULL)
);
CREATE UNIQUE INDEX agent_sessions_one_per_user ON agent_sessions (user_id) WHERE logged_out_at IS NULL;
-- Longest-idle ready agent of a campaign.
CREATE INDEX agent_sessions_ready ON agent_sessions (campaign_id, state_since) WHERE state = 'ready';
CREATE INDEX agent_sessions_user_time ON agent_sessions (user_id, logged_in_at);

-- Inbound groups this session takes calls from (chosen at login among the user's groups).
CREATE TABLE agent_session_groups (
    session_id bigint NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
    group_id   bigint NOT NULL REFERENCES inbound_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, group_id)
);
CREATE INDEX agent_session_groups_group ON agent_session_groups (group_id);

-- Every state an agent passed through, for the agent-time reports.
CREATE TABLE agent_state_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  bigint NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    state       text NOT NULL CHECK (state IN ('connecting', 'ready', 'paused', 'reserved', 'on_call', 'wrapup', 'logged_out')),
    pause_code  text,
    call_id     uuid,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX agent_state_history_user_time ON agent_state_history (user_id, started_at);
CREATE INDEX agent_state_history_campaign_time ON agent_state_history (campaign_id, started_at);
