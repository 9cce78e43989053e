-- When access ends, what was opened with it closes at once. A web session deleted (a sign-out,
-- sign-out everywhere, a deactivation, a password reset, an expiry purge; from the admin, the
-- API, the CLI or by hand) is announced on `dialtone_live`, and every web node closes the
-- sockets of pages opened with it.
CREATE FUNCTION live_web_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialtone_live', json_build_object(
        'kind', 'revoked', 'user_id', OLD.user_id, 'session', OLD.token_sha256)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER web_sessions_ended AFTER DELETE ON web_sessions
    FOR EACH ROW EXECUTE FUNCTION live_web_session_ended();

-- API tokens expire (a year unless set shorter), and are listed with their state.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
UPDATE api_tokens SET expires_at = created_at + interval '365 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL,
    ALTER COLUMN expires_at SET DEFAULT now() + interval '365 days',
    ADD CONSTRAINT api_tokens_expiry CHECK (expires_at > created_at);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The node a session's phone is on rides with its news, so that node hangs the phone up when
-- the session ends however it ends.
CREATE OR REPLACE FUNCTION live_agent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialtone_live', json_build_object(
        'kind', 'agent', 'user_id', NEW.user_id, 'campaign_id', NEW.campaign_id, 'session_id', NEW.id,
        'state', NEW.state, 'pause_code', NEW.pause_code, 'call_id', NEW.current_call_id,
        'since', NEW.state_since, 'preview_lead_id', NEW.preview_lead_id, 'node', NEW.node)::text);
    RETURN NULL;
END $$;
