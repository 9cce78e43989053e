-- The parking space of a call its agent parked (Asterisk's ParkedCall), while it waits there:
-- the agent's screen shows it, and any phone takes the caller back by dialing it.
ALTER TABLE calls ADD COLUMN parked_space text CHECK (parked_space ~ '^[0-9]{1,8}$');

-- The agent's screen follows its call's parking as it follows its state.
DROP TRIGGER calls_live ON calls;
CREATE TRIGGER calls_live AFTER INSERT OR UPDATE OF state, agent_user_id, parked_space ON calls
    FOR EACH ROW EXECUTE FUNCTION live_call_changed();
