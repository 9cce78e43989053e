-- Reference rows every installation needs. Operators may add to them; the system rows are the
-- statuses the dialer itself sets and the legal calling rules.

INSERT INTO statuses (code, name, category, system, selectable, human_answered, sale, dnc, customer_contact,
                      not_interested, unworkable, callback, completed, answering_machine) VALUES
    ('NEW',    'New lead',                   'system',         true,  false, false, false, false, false, false, false, false, false, false),
    ('QUEUE',  'In the hopper',              'system',         true,  false, false, false, false, false, false, false, false, false, false),
    ('INCALL', 'In a call',                  'system',         true,  false, true,  false, false, true,  false, false, false, false, false),
    ('DROP',   'Abandoned (no agent in 2 s)','system',         true,  false, true,  false, false, false, false, false, false, false, false),
    ('NA',     'No answer',                  'no_contact',     true,  false, false, false, false, false, false, false, false, false, false),
    ('B',      'Busy',                       'no_contact',     true,  false, false, false, false, false, false, false, false, false, false),
    ('CONG',   'Network congestion',         'no_contact',     true,  false, false, false, false, false, false, false, false, false, false),
    ('DC',     'Disconnected number',        'unworkable',     true,  false, false, false, false, false, false, true,  false, true,  false),
    ('ERI',    'Dial failed',                'system',         true,  false, false, false, false, false, false, false, false, false, false),
    ('AA',     'Machine, hung up',           'machine',        true,  false, false, false, false, false, false, false, false, false, true),
    ('AM',     'Machine, message left',      'machine',        true,  false, false, false, false, false, false, false, false, false, true),
    ('CBHOLD', 'Callback scheduled',         'callback',       true,  false, true,  false, false, true,  false, false, true,  false, false),
    ('DNCL',   'On the system DNC list',     'dnc',            true,  false, false, false, true,  false, false, false, false, true,  false),
    ('DNCC',   'On the campaign DNC list',   'dnc',            true,  false, false, false, true,  false, false, false, false, true,  false),
    ('MAXATT', 'Attempt limit reached',      'system',         true,  false, false, false, false, false, false, false, false, true,  false),
    ('SALE',   'Sale',                       'sale',           false, true,  true,  true,  false, true,  false, false, false, true,  false),
    ('NI',     'Not interested',             'not_interested', false, true,  true,  false, false, true,  true,  false, false, true,  false),
    ('CALLBK', 'Call back',                  'callback',       false, true,  true,  false, false, true,  false, false, true,  false, false),
    ('DNC',    'Do not call',                'dnc',            false, true,  true,  false, true,  true,  false, false, false, true,  false),
    ('NP',     'No pitch, no price',         'contact',        false, true,  true,  false, false, true,  false, false, false, false, false),
    ('WN',     'Wrong number',               'unworkable',     false, true,  true,  false, false, false, false, true,  false, true,  false),
    ('AM_AG',  'Machine, agent heard',       'machine',        false, true,  false, false, false, false, false, false, false, false, true),
    ('XFER',   'Transferred',                'contact',        false, true,  true,  false, false, true,  false, false, false, true,  false);

INSERT INTO pause_codes (code, name, billable, system) VALUES
    ('LOGIN',  'Just logged in',                 false, true),
    ('LAGGED', 'Agent page lost its connection', false, true),
    ('FORCED', 'Paused by a supervisor',         false, true),
    ('AFTCAL', 'Paused after a call',            false, true),
    ('BREAK',  'Break',                          false, false),
    ('LUNCH',  'Lunch',                          false, false),
    ('TRAIN',  'Training',                       true,  false),
    ('MEET',   'Meeting',                        true,  false);

-- Federal: 8 am to 9 pm in the callee's local time (47 CFR 64.1200(c)(1), 16 CFR 310.4(c)).
-- Florida (Fla. Stat. 501.616(6)) and Oklahoma (15 O.S. 775C.4): 8 am to 8 pm, at most three
-- calls to one number in 24 hours.
INSERT INTO calling_rules (country, state, opens_at, closes_at, max_attempts_24h, citation) VALUES
    ('US', NULL, '08:00', '21:00', NULL, '47 CFR 64.1200(c)(1); 16 CFR 310.4(c)'),
    ('US', 'FL', '08:00', '20:00', 3,    'Fla. Stat. 501.616(6)'),
    ('US', 'OK', '08:00', '20:00', 3,    'Okla. Stat. tit. 15, 775C.4');

INSERT INTO call_times (name, description) VALUES
    ('9am-9pm', 'Every day, 9:00 to 21:00 in the callee''s time zone'),
    ('weekdays 9am-8pm', 'Monday to Friday, 9:00 to 20:00 in the callee''s time zone');
INSERT INTO call_time_windows (call_time_id, weekday, opens_at, closes_at)
SELECT ct.id, d, '09:00', '21:00' FROM call_times ct, generate_series(1, 7) d WHERE ct.name = '9am-9pm';
INSERT INTO call_time_windows (call_time_id, weekday, opens_at, closes_at)
SELECT ct.id, d, '09:00', '20:00' FROM call_times ct, generate_series(1, 5) d WHERE ct.name = 'weekdays 9am-8pm';

-- Days most US centers do not dial; they close the shipped call times, not the country.
INSERT INTO holidays (name, day, country, call_time_id)
SELECT h.name, h.day::date, 'US', ct.id
FROM call_times ct, (VALUES
    ('New Year''s Day',   '2026-01-01'), ('Independence Day', '2026-07-04'),
    ('Thanksgiving Day',  '2026-11-26'), ('Christmas Day',    '2026-12-25'),
    ('New Year''s Day',   '2027-01-01'), ('Independence Day', '2027-07-04'),
    ('Thanksgiving Day',  '2027-11-25'), ('Christmas Day',    '2027-12-25'),
    ('New Year''s Day',   '2028-01-01'), ('Independence Day', '2028-07-04'),
    ('Thanksgiving Day',  '2028-11-23'), ('Christmas Day',    '2028-12-25')
) AS h(name, day);
