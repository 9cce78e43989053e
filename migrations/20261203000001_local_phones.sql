-- An agent's phone may be a Local channel into an operator's context (a mobile through a trunk,
-- a ring group), never into one of Dialtone's own dialtone-* contexts. Everything else is as
-- 20261202000001 wrote it; core::asterisk_values holds the same rule.
CREATE OR REPLACE FUNCTION dialtone_asterisk_value_ok(kind text, value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE kind
        WHEN 'file' THEN length(value) <= 200
            AND value ~ '^/?[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$'
        WHEN 'recording_file' THEN length(value) <= 200
            AND value ~ '^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$'
        WHEN 'recording_pattern' THEN length(value) <= 200
            AND value ~ '^([A-Za-z0-9_-]|\{(date|time|campaign|lead|uniqueid|call|agent)\})([A-Za-z0-9_.-]|\{(date|time|campaign|lead|uniqueid|call|agent)\})*(/([A-Za-z0-9_-]|\{(date|time|campaign|lead|uniqueid|call|agent)\})([A-Za-z0-9_.-]|\{(date|time|campaign|lead|uniqueid|call|agent)\})*)*$'
        WHEN 'caller_id_name' THEN value ~ '^[A-Za-z0-9 .''&+_-]{0,40}$'
        WHEN 'caller_id_number' THEN value ~ '^\+?[0-9]{3,15}$'
        WHEN 'dial_prefix' THEN value ~ '^[0-9*#]{0,10}$'
        WHEN 'dial_template' THEN length(value) <= 200 AND strpos(value, '{number}') > 0
            AND value ~ '^[A-Za-z0-9]{1,16}/([A-Za-z0-9_.+@/:-]|\{(number|e164|trunk)\})+$'
        WHEN 'dial_string' THEN length(value) <= 250 AND value ~ '^[A-Za-z0-9]{1,16}/[A-Za-z0-9_.+@/:-]+$'
        WHEN 'trunk' THEN value ~ '^[A-Za-z0-9_.-]{1,64}$'
        WHEN 'number' THEN value ~ '^\+?[0-9]{3,20}$'
        WHEN 'phone' THEN value ~ '^(PJSIP|SIP|IAX2)/[A-Za-z0-9_.-]{1,64}$'
            OR (value ~ '^Local/[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_-]{1,64}$' AND value !~ '@dialtone-')
        WHEN 'mailbox' THEN value ~ '^[A-Za-z0-9_-]{1,32}(@[A-Za-z0-9_-]{1,64})?$'
        WHEN 'conference' THEN value ~ '^[A-Za-z0-9_-]{1,64}$'
        WHEN 'music_class' THEN value ~ '^[A-Za-z0-9_-]{1,64}$'
        WHEN 'dtmf' THEN value ~ '^[0-9*#A-D]{1,64}$'
        WHEN 'did' THEN value ~ '^\+?[0-9*#]{1,20}$'
        ELSE false
    END
$$;
