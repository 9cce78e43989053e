-- What happened on the phone: dials, calls and their legs, callbacks, recordings, the abandon
-- ledger, consent, and who changed what.

-- Leads claimed for dialing. A row exists while a lead is reserved by a node; the lead's
-- next_attempt_at is NULL meanwhile so no other node selects it.
CREATE TABLE hopper (
    lead_id     bigint PRIMARY KEY REFERENCES leads (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    priority    integer NOT NULL DEFAULT 0,
    source      text NOT NULL DEFAULT 'standard' CHECK (source IN ('standard', 'callback', 'retry', 'manual')),
    node        text NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hopper_campaign ON hopper (campaign_id, priority DESC, claimed_at);

CREATE TABLE calls (
    id                 uuid PRIMARY KEY,
    direction          text NOT NULL CHECK (direction IN ('outbound', 'inbound', 'manual', 'transfer')),
    campaign_id        bigint REFERENCES campaigns (id),
    inbound_group_id   bigint REFERENCES inbound_groups (id),
    lead_id            bigint REFERENCES leads (id) ON DELETE SET NULL,
    agent_user_id      bigint REFERENCES users (id),
    agent_session_id   bigint REFERENCES agent_sessions (id),
    node               text NOT NULL,
    phone_e164         text,
    caller_id          text,
    did                text,
    -- Asterisk's uniqueid and channel of the customer leg.
    uniqueid           text,
    channel            text,
    state              text NOT NULL DEFAULT 'dialing'
        CHECK (state IN ('dialing', 'ringing', 'answered', 'queued', 'connected', 'ended')),
    amd_status         text CHECK (amd_status IN ('HUMAN', 'MACHINE', 'NOTSURE', 'HANGUP')),
    amd_cause          text,
    outcome            text CHECK (outcome IN ('answered', 'abandoned', 'machine', 'machine_message', 'no_answer', 'busy',
                                               'congestion', 'invalid_number', 'failed', 'queue_timeout', 'after_hours',
                                               'no_agents', 'caller_hangup', 'transferred', 'voicemail')),
    disposition        text,
    hangup_cause       integer,
    hangup_cause_text  text,
    dial_status        text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    answered_at        timestamptz,
    queued_at          timestamptz,
    agent_connected_at timestamptz,
    ended_at           timestamptz,
    ring_secs          numeric(8,2),
    wait_secs          numeric(8,2),
    talk_secs          numeric(10,2),
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
);
CREATE UNIQUE INDEX calls_uniqueid ON calls (uniqueid) WHERE uniqueid IS NOT NULL;
CREATE INDEX calls_campaign_time ON calls (campaign_id, created_at);
CREATE INDEX calls_group_time ON calls (inbound_group_id, created_at) WHERE inbound_group_id IS NOT NULL;
CREATE INDEX calls_agent_time ON calls (agent_user_id, created_at) WHERE agent_user_id IS NOT NULL;
CREATE INDEX calls_lead ON calls (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX calls_live ON calls (state) WHERE state <> 'ended';

ALTER TABLE agent_sessions ADD CONSTRAINT agent_sessions_call_fk FOREIGN KEY (current_call_id) REFERENCES calls (id) ON DELETE SET NULL;

CREATE TABLE call_legs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id      uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('customer', 'agent', 'transfer', 'consult', 'monitor')),
    channel      text NOT NULL,
    uniqueid     text,
    user_id      bigint REFERENCES users (id),
    started_at   timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz,
    ended_at     timestamptz,
    hangup_cause integer
);
CREATE INDEX call_legs_call ON call_legs (call_id);
CREATE INDEX call_legs_uniqueid ON call_legs (uniqueid) WHERE uniqueid IS NOT NULL;

-- One row per dial. `state` walks reserved -> originating -> resolved; a row is written as
-- originating before the Originate is sent, so a restart never dials it twice.
CREATE TABLE call_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id     uuid NOT NULL UNIQUE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    lead_id     bigint REFERENCES leads (id) ON DELETE SET NULL,
    list_id     bigint REFERENCES lists (id) ON DELETE SET NULL,
    phone_e164  text NOT NULL,
    node        text NOT NULL,
    state       text NOT NULL DEFAULT 'reserved' CHECK (state IN ('reserved', 'originating', 'resolved')),
    outcome     text CHECK (outcome IN ('answered_human', 'answered_machine', 'abandoned', 'no_answer', 'busy',
                                        'congestion', 'invalid_number', 'failed', 'cancelled')),
    reserved_at timestamptz NOT NULL DEFAULT now(),
    dialed_at   timestamptz,
    answered_at timestamptz,
    resolved_at timestamptz,
    CHECK ((state = 'resolved') = (outcome IS NOT NULL))
);
CREATE INDEX call_attempts_phone_time ON call_attempts (phone_e164, reserved_at);
CREATE INDEX call_attempts_campaign_time ON call_attempts (campaign_id, reserved_at);
CREATE INDEX call_attempts_open ON call_attempts (node, state) WHERE state <> 'resolved';
CREATE INDEX call_attempts_lead ON call_attempts (lead_id);

ALTER TABLE calls ADD COLUMN attempt_id bigint REFERENCES call_attempts (id);

CREATE TABLE callbacks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id       bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    -- NULL: anyone in the campaign; otherwise only this agent.
    agent_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    due_at        timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'dialing', 'done', 'cancelled')),
    comments      text NOT NULL DEFAULT '',
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz
);
CREATE INDEX callbacks_due ON callbacks (campaign_id, due_at) WHERE state = 'scheduled';
CREATE INDEX callbacks_agent ON callbacks (agent_user_id, due_at) WHERE state = 'scheduled';
CREATE INDEX callbacks_lead ON callbacks (lead_id);

CREATE TABLE recordings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id       uuid REFERENCES calls (id) ON DELETE SET NULL,
    lead_id       bigint REFERENCES leads (id) ON DELETE SET NULL,
    campaign_id   bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    agent_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    -- Relative to the recordings root; never absolute, never climbing out.
    file_path     text NOT NULL CHECK (file_path NOT LIKE '/%' AND file_path NOT LIKE '%..%'),
    format        text NOT NULL DEFAULT 'wav' CHECK (format IN ('wav', 'gsm', 'mp3', 'opus')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    duration_secs numeric(10,2),
    size_bytes    bigint
);
CREATE INDEX recordings_call ON recordings (call_id);
CREATE INDEX recordings_lead ON recordings (lead_id);
CREATE INDEX recordings_time ON recordings (started_at);

-- The abandoned-call ledger, one row per answered outbound call that reached a person.
-- FTC TSR: abandon rate = abandoned / live answers, per campaign, over 30 days.
CREATE TABLE abandon_ledger (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    call_id     uuid NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('live_answer', 'abandon', 'machine')),
    occurred_at timestamptz NOT NULL
);
CREATE INDEX abandon_ledger_campaign_time ON abandon_ledger (campaign_id, occurred_at) INCLUDE (kind);

-- Consent and its revocation, per number (TCPA express written consent, EBR, opt-outs).
CREATE TABLE consent_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_e164  text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    lead_id     bigint REFERENCES leads (id) ON DELETE SET NULL,
    campaign_id bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('express_written', 'prior_express', 'business_relationship', 'revoked')),
    obtained_at timestamptz NOT NULL,
    expires_at  timestamptz,
    source      text NOT NULL DEFAULT '',
    evidence    text NOT NULL DEFAULT '',
    recorded_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_phone ON consent_records (phone_e164, obtained_at);

-- Every change made through the admin or the API.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    ip          inet,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'import', 'login', 'logout', 'other')),
    entity      text NOT NULL,
    entity_id   text,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_time ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
