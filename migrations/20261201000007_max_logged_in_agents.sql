-- campaigns.max_logged_in_agents: no session opens in a campaign that has that many open and
-- heard from in the last minute (a session whose page and node went away holds no seat). The
-- check runs in the database so that every way in (the agent's page, the API, the demo) keeps
-- it, and under a per-campaign lock so that two logins at once cannot both take the last seat.
CREATE FUNCTION agent_sessions_within_cap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cap integer;
    open bigint;
BEGIN
    SELECT max_logged_in_agents INTO cap FROM campaigns WHERE id = NEW.campaign_id;
    IF cap IS NULL THEN
        RETURN NEW;
    END IF;
    -- Held to the end of the transaction: the next login counts this one.
    PERFORM pg_advisory_xact_lock(7469, NEW.campaign_id::int);
    SELECT count(*) INTO open FROM agent_sessions
    WHERE campaign_id = NEW.campaign_id AND logged_out_at IS NULL AND last_seen_at > now() - interval '1 minute';
    IF open >= cap THEN
        RAISE check_violation USING MESSAGE = format('campaign %s has its %s agents logged in', NEW.campaign_id, cap),
            TABLE = 'agent_sessions', CONSTRAINT = 'max_logged_in_agents';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agent_sessions_within_cap BEFORE INSERT ON agent_sessions
    FOR EACH ROW EXECUTE FUNCTION agent_sessions_within_cap();
