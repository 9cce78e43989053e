-- Legs are now closed when their channel hangs up (control::follow_consults), so the open ones
-- are few: the node's periodic sweep for third parties left behind (control::sweep_consults)
-- reads them here rather than every leg ever made.
CREATE INDEX call_legs_open ON call_legs (call_id) WHERE ended_at IS NULL;
