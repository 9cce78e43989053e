-- A call's end finds the agent reserved for it or on it by the call itself (the call row names
-- its agent only once they are connected), and deleting a call clears the reference: both look
-- agent sessions up by their current call.
CREATE INDEX agent_sessions_current_call ON agent_sessions (current_call_id) WHERE current_call_id IS NOT NULL;
