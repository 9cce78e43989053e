-- The database's copy of core::asterisk_values: every column whose value reaches Asterisk (an
-- AGI argument, an AMI field, a dial string, a file name) is held to the kind of value it is,
-- so no way of writing a row (the admin, the API, the CLI, a hand-typed UPDATE) can store what
-- the node would refuse to send. core's tests hold this function and the Rust rules to the
-- same answers on the same values. An unknown kind is false: a misspelt constraint fails closed.
CREATE FUNCTION dialtone_asterisk_value_ok(kind text, value text) RETURNS boolean
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
        WHEN 'mailbox' THEN value ~ '^[A-Za-z0-9_-]{1,32}(@[A-Za-z0-9_-]{1,64})?$'
        WHEN 'conference' THEN value ~ '^[A-Za-z0-9_-]{1,64}$'
        WHEN 'music_class' THEN value ~ '^[A-Za-z0-9_-]{1,64}$'
        WHEN 'dtmf' THEN value ~ '^[0-9*#A-D]{1,64}$'
        WHEN 'did' THEN value ~ '^\+?[0-9*#]{1,20}$'
        ELSE false
    END
$$;

-- What an inbound route's target is depends on its action: a mailbox, a message to play, a
-- number; a group is looked up by name and never sent.
CREATE FUNCTION dialtone_route_target_ok(action text, target text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE action
        WHEN 'voicemail' THEN dialtone_asterisk_value_ok('mailbox', target)
        WHEN 'message_hangup' THEN dialtone_asterisk_value_ok('file', target)
        WHEN 'transfer_number' THEN dialtone_asterisk_value_ok('number', target)
        ELSE true
    END
$$;

ALTER TABLE campaigns
    ADD CONSTRAINT campaigns_safe_harbor_audio_asterisk CHECK (dialtone_asterisk_value_ok('file', safe_harbor_audio)),
    ADD CONSTRAINT campaigns_machine_message_audio_asterisk CHECK (dialtone_asterisk_value_ok('file', machine_message_audio)),
    ADD CONSTRAINT campaigns_recording_pattern_asterisk CHECK (dialtone_asterisk_value_ok('recording_pattern', recording_pattern)),
    ADD CONSTRAINT campaigns_caller_id_name_asterisk CHECK (dialtone_asterisk_value_ok('caller_id_name', caller_id_name)),
    ADD CONSTRAINT campaigns_caller_id_number_asterisk CHECK (dialtone_asterisk_value_ok('caller_id_number', caller_id_number)),
    ADD CONSTRAINT campaigns_dial_template_asterisk CHECK (dialtone_asterisk_value_ok('dial_template', dial_template)),
    ADD CONSTRAINT campaigns_trunk_asterisk CHECK (dialtone_asterisk_value_ok('trunk', trunk)),
    ADD CONSTRAINT campaigns_dial_prefix_asterisk CHECK (dialtone_asterisk_value_ok('dial_prefix', dial_prefix));

ALTER TABLE inbound_groups
    ADD CONSTRAINT inbound_groups_welcome_audio_asterisk CHECK (dialtone_asterisk_value_ok('file', welcome_audio)),
    ADD CONSTRAINT inbound_groups_music_class_asterisk CHECK (dialtone_asterisk_value_ok('music_class', music_class)),
    ADD CONSTRAINT inbound_groups_closed_target_asterisk CHECK (dialtone_route_target_ok(closed_action, closed_target)),
    ADD CONSTRAINT inbound_groups_no_agents_target_asterisk CHECK (dialtone_route_target_ok(no_agents_action, no_agents_target)),
    ADD CONSTRAINT inbound_groups_timeout_target_asterisk CHECK (dialtone_route_target_ok(timeout_action, timeout_target));

ALTER TABLE dids ADD CONSTRAINT dids_number_asterisk CHECK (dialtone_asterisk_value_ok('did', number));

ALTER TABLE users ADD CONSTRAINT users_phone_asterisk CHECK (dialtone_asterisk_value_ok('phone', phone_dial_string));

ALTER TABLE agent_sessions
    ADD CONSTRAINT agent_sessions_phone_asterisk CHECK (dialtone_asterisk_value_ok('phone', phone_dial_string)),
    ADD CONSTRAINT agent_sessions_conference_asterisk CHECK (dialtone_asterisk_value_ok('conference', conference));

ALTER TABLE recordings ADD CONSTRAINT recordings_file_path_asterisk CHECK (dialtone_asterisk_value_ok('recording_file', file_path));
