-- A campaign's pause_codes_mode says whether its agents give a reason when they pause: 'forced'
-- (they must choose one of its pause codes), 'optional' (they may), 'off' (it has none). A
-- paused session always names a code, so a pause without a reason names this one.
-- An operator's own PAUSED code becomes this system one (no longer offered to agents by itself).
INSERT INTO pause_codes (code, name, billable, system) VALUES ('PAUSED', 'Paused, no reason given', false, true)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, billable = false, system = true;
