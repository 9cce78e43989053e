-- What the agent screens and wallboards are pushed: every change of an agent's state and of a
-- live call is announced on the `dialtone_live` channel when its transaction commits, whichever
-- process made it (a call flow, the dialer, the web). Each web node listens and forwards the
-- news to the pages it serves, so nothing in the browser polls.

-- The lead a preview-dialing agent is looking at: claimed from the hopper for them alone, and
-- handed back (due again) if they skip it or log out without dialing it.
ALTER TABLE agent_sessions ADD COLUMN preview_lead_id bigint REFERENCES leads (id) ON DELETE SET NULL;

CREATE FUNCTION live_agent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialtone_live', json_build_object(
        'kind', 'agent', 'user_id', NEW.user_id, 'campaign_id', NEW.campaign_id, 'session_id', NEW.id,
        'state', NEW.state, 'pause_code', NEW.pause_code, 'call_id', NEW.current_call_id,
        'since', NEW.state_since, 'preview_lead_id', NEW.preview_lead_id)::text);
    RETURN NULL;
END $$;
-- Not on `last_seen_at`: the heartbeat changes it every second and tells nobody anything.
CREATE TRIGGER agent_sessions_live AFTER INSERT OR UPDATE OF state, pause_code, current_call_id, logged_out_at, preview_lead_id
    ON agent_sessions FOR EACH ROW EXECUTE FUNCTION live_agent_changed();

CREATE FUNCTION live_call_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialtone_live', json_build_object(
        'kind', 'call', 'call_id', NEW.id, 'campaign_id', NEW.campaign_id, 'group_id', NEW.inbound_group_id,
        'user_id', NEW.agent_user_id, 'state', NEW.state)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER calls_live AFTER INSERT OR UPDATE OF state, agent_user_id ON calls
    FOR EACH ROW EXECUTE FUNCTION live_call_changed();
