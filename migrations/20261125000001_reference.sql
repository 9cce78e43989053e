-- Checks used on the large tables. Plain string functions: a regular expression per row costs
-- several microseconds, which bulk imports of millions of leads feel.

-- `+`, a non-zero digit, then 6 to 14 more digits (ITU E.164).
CREATE FUNCTION dialtone_is_e164(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
    SELECT length(value) BETWEEN 8 AND 16 AND left(value, 1) = '+' AND substr(value, 2, 1) <> '0'
       AND ltrim(substr(value, 2), '0123456789') = ''
$$;

-- Upper-case letters, digits and `_`, 1 to max_len characters: status, country and state codes.
CREATE FUNCTION dialtone_is_code(value text, max_len integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
    SELECT length(value) BETWEEN 1 AND max_len AND ltrim(value, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_') = ''
$$;

-- Reference data every campaign points at: when it may call, how calls end, why agents pause.

-- Weekly calling windows, in the callee's local time.
CREATE TABLE call_times (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per open weekday; a missing weekday is closed. ISO weekday: 1 = Monday .. 7 = Sunday.
CREATE TABLE call_time_windows (
    call_time_id bigint NOT NULL REFERENCES call_times (id) ON DELETE CASCADE,
    weekday      smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens_at     time NOT NULL,
    closes_at    time NOT NULL,
    PRIMARY KEY (call_time_id, weekday),
    CHECK (opens_at < closes_at)
);

-- Legal windows that narrow every campaign's hours. country + state NULL = country-wide
-- (the federal rule); a state row applies to callees in that state. They cannot be widened
-- by a campaign: the dialer intersects them with the campaign's call time.
CREATE TABLE calling_rules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    country          char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    state            text CHECK (state ~ '^[A-Z]{2}$'),
    opens_at         time NOT NULL,
    closes_at        time NOT NULL,
    -- Days on which calling is forbidden entirely (ISO weekday numbers).
    closed_weekdays  smallint[] NOT NULL DEFAULT '{}',
    -- Attempts to one number in any rolling 24 hours, across all campaigns.
    max_attempts_24h integer CHECK (max_attempts_24h > 0),
    citation         text NOT NULL DEFAULT '',
    active           boolean NOT NULL DEFAULT true,
    CHECK (opens_at < closes_at)
);
CREATE UNIQUE INDEX calling_rules_scope ON calling_rules (country, coalesce(state, ''));

-- Days without calling. NULL state = the whole country; NULL call_time_id = every call time.
CREATE TABLE holidays (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    day          date NOT NULL,
    country      char(2) NOT NULL DEFAULT 'US' CHECK (country ~ '^[A-Z]{2}$'),
    state        text CHECK (state ~ '^[A-Z]{2}$'),
    call_time_id bigint REFERENCES call_times (id) ON DELETE CASCADE
);
CREATE INDEX holidays_day ON holidays (day);

-- Dispositions and system statuses. The flags drive reports and the dialer: `human_answered`
-- is the denominator of the abandon rate, `dnc` adds the number to the campaign's DNC list,
-- `completed` stops further dialing, `callback` opens the scheduler.
CREATE TABLE statuses (
    code              text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{1,12}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    category          text NOT NULL DEFAULT 'other'
        CHECK (category IN ('system', 'contact', 'no_contact', 'sale', 'not_interested', 'callback', 'dnc', 'machine', 'unworkable', 'other')),
    system            boolean NOT NULL DEFAULT false,
    selectable        boolean NOT NULL DEFAULT true,
    human_answered    boolean NOT NULL DEFAULT false,
    sale              boolean NOT NULL DEFAULT false,
    dnc               boolean NOT NULL DEFAULT false,
    customer_contact  boolean NOT NULL DEFAULT false,
    not_interested    boolean NOT NULL DEFAULT false,
    unworkable        boolean NOT NULL DEFAULT false,
    callback          boolean NOT NULL DEFAULT false,
    completed         boolean NOT NULL DEFAULT false,
    answering_machine boolean NOT NULL DEFAULT false,
    -- Selectable only when the call lasted within these bounds (seconds).
    min_talk_secs     integer NOT NULL DEFAULT 0 CHECK (min_talk_secs >= 0),
    max_talk_secs     integer CHECK (max_talk_secs > 0),
    CHECK (max_talk_secs IS NULL OR max_talk_secs >= min_talk_secs)
);

CREATE TABLE pause_codes (
    code     text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{1,12}$'),
    name     text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    billable boolean NOT NULL DEFAULT false,
    -- System codes are set by Dialtone (LOGIN, LAGGED...) and cannot be chosen by agents.
    system   boolean NOT NULL DEFAULT false
);
