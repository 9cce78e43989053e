-- An agent may set the disposition while still on the call. Their choice then, to pause after
-- it (AFTCAL) rather than go ready, is kept here until the call ends, and the end takes them
-- straight there: a call already dispositioned has nothing left to wrap up. Written by each
-- disposition, read only when the call it dispositioned ends.
ALTER TABLE agent_sessions ADD COLUMN pause_after_call boolean NOT NULL DEFAULT false;
