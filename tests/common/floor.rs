//! The campaigns and the rule checks the dialer's end-to-end tests share, in process
//! (`dialer_sim.rs`) and across processes (`node_and_sim.rs`).

use dialtone_core::{campaigns, lists};
use sqlx::PgPool;

pub async fn campaign_with_list(
    pool: &PgPool,
    method: dialtone_core::vocabulary::DialMethod,
    zone: &str,
) -> (i64, i64) {
    let campaign = campaigns::create(pool, "sim", method, "9am-9pm")
        .await
        .expect("campaign");
    sqlx::query("UPDATE campaigns SET call_time_id = NULL, active = true, wrapup_secs = 0, recording_policy = 'never' WHERE id = $1")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("settings");
    let list = lists::create(pool, "l", Some(campaign), "US")
        .await
        .expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1")
        .bind(list)
        .bind(zone)
        .execute(pool)
        .await
        .expect("zones");
    (campaign, list)
}

pub async fn add_leads(pool: &PgPool, list: i64, first: i32, count: i32, zone: &str) {
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, next_attempt_at)
         SELECT $1, '+1201' || lpad(g::text, 7, '0'), 'US', $4, now() - interval '1 minute' FROM generate_series($2, $2 + $3 - 1) g",
    )
    .bind(list)
    .bind(first)
    .bind(count)
    .bind(zone)
    .execute(pool)
    .await
    .expect("leads");
}

/// Checks that the abandon ledger is the call records (a live answer per call an agent took, an
/// abandon per abandoned call) and that every abandon heard the safe-harbor message within 2
/// seconds of answer; returns (connected, abandoned).
pub async fn ledger_is_the_call_records(pool: &PgPool) -> (i64, i64) {
    let (ledger_live, ledger_abandons, connected, abandoned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM abandon_ledger WHERE kind = 'live_answer'), (SELECT count(*) FROM abandon_ledger WHERE kind = 'abandon'),
                (SELECT count(*) FROM calls WHERE agent_connected_at IS NOT NULL), (SELECT count(*) FROM calls WHERE outcome = 'abandoned')",
    )
    .fetch_one(pool)
    .await
    .expect("ledger");
    assert_eq!(
        (ledger_live, ledger_abandons),
        (connected, abandoned),
        "the ledger is the call records"
    );
    let late: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls c JOIN abandon_ledger l ON l.call_id = c.id
         WHERE l.kind = 'abandon' AND l.occurred_at - c.answered_at > interval '2 seconds'",
    )
    .fetch_one(pool)
    .await
    .expect("late");
    assert_eq!(
        late, 0,
        "every abandon got the safe-harbor message within 2 seconds of answer"
    );
    (connected, abandoned)
}

/// A zone where it is night now: its callees are outside every calling window.
pub fn night_zone() -> &'static str {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    [
        "Pacific/Kiritimati",
        "Pacific/Auckland",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "Pacific/Honolulu",
    ]
    .into_iter()
    .find(|z| {
        z.parse::<chrono_tz::Tz>()
            .is_ok_and(|tz| !(7..22).contains(&now.with_timezone(&tz).hour()))
    })
    .expect("somewhere it is night")
}

/// Leads of `zone` due and callable (not on a DNC list) that were never tried, and dials still
/// open (unresolved or waiting in the hopper).
pub async fn progress(pool: &PgPool, zone: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM leads WHERE attempt_count = 0 AND next_attempt_at <= now() AND time_zone = $1
                   AND phone_e164 NOT IN (SELECT value FROM dnc_entries)),
                (SELECT count(*) FROM call_attempts WHERE state <> 'resolved') + (SELECT count(*) FROM hopper)",
    )
    .bind(zone)
    .fetch_one(pool)
    .await
    .expect("progress")
}

/// A predictive campaign of 1,000 callable leads in a zone where it is day, 20 more where it is
/// night and 20 of the first on the system DNC list, with a short drop window (so the pacer's
/// misses become abandons a test can see). Returns the campaign and the day zone.
pub async fn thousand_lead_campaign(pool: &PgPool) -> (i64, String) {
    use dialtone_core::dnc::{self, Scope, Source};
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let night = night_zone();
    let (campaign, list) = campaign_with_list(
        pool,
        dialtone_core::vocabulary::DialMethod::Predictive,
        &zone,
    )
    .await;
    // A short drop window, so that the pacer's misses become abandons the test can see.
    sqlx::query("UPDATE campaigns SET drop_timeout_secs = 0.3, max_lines = 60 WHERE id = $1")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("drop");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2, $3] WHERE id = $1")
        .bind(list)
        .bind(&zone)
        .bind(night)
        .execute(pool)
        .await
        .expect("zones");
    add_leads(pool, list, 5_550_001, 1000, &zone).await;
    add_leads(pool, list, 6_660_001, 20, night).await;
    for n in 5_550_001..5_550_021 {
        let number = dialtone_core::phone::normalize(
            &format!("+1201{n:07}"),
            dialtone_core::phone::country("US").expect("US"),
        )
        .expect("number");
        dnc::add_number(pool, Scope::System, &number, Source::Manual, "asked")
            .await
            .expect("dnc");
    }

    (campaign, zone)
}

/// Every rule a campaign must keep, checked on the records once it is done: each callable lead
/// dialed exactly once and settled, no number twice, no DNC number, no callee outside calling
/// hours, every kind of outcome seen, the ledger equal to the call records with every abandon
/// told within 2 seconds, every call closed. Returns (connected, abandoned, dialed once).
pub async fn thousand_lead_rules_kept(pool: &PgPool, zone: &str) -> (i64, i64, i64) {
    // Every lead that could be called was called once, and ended final or scheduled for later.
    let (dialed_once, never, unsettled): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 0 AND next_attempt_at <= now())
         FROM (SELECT l.id, l.next_attempt_at, count(a.id) AS n FROM leads l LEFT JOIN call_attempts a ON a.lead_id = l.id
               WHERE l.time_zone = $1 AND l.phone_e164 NOT IN (SELECT value FROM dnc_entries) GROUP BY l.id) x",
    )
    .bind(zone)
    .fetch_one(pool)
    .await
    .expect("leads");
    assert_eq!(
        (dialed_once, never, unsettled),
        (980, 0, 0),
        "every callable lead dialed exactly once and settled"
    );
    let twice: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT phone_e164 FROM call_attempts GROUP BY phone_e164 HAVING count(*) > 1) x")
        .fetch_one(pool)
        .await
        .expect("twice");
    assert_eq!(twice, 0, "no number dialed twice within its retry delay");
    let forbidden: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE phone_e164 IN (SELECT value FROM dnc_entries)), count(*) FILTER (WHERE phone_e164 LIKE '+1201666%')
         FROM call_attempts",
    )
    .fetch_one(pool)
    .await
    .expect("forbidden");
    assert_eq!(
        forbidden,
        (0, 0),
        "no DNC number and no callee outside calling hours was dialed"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT outcome FROM call_attempts ORDER BY 1")
            .fetch_all(pool)
            .await
            .expect("outcomes");
    for kind in ["answered_human", "answered_machine", "busy", "congestion"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} among the outcomes: {kinds:?}"
        );
    }

    let (calls_live, calls_abandoned) = ledger_is_the_call_records(pool).await;
    let open_calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE state <> 'ended'")
        .fetch_one(pool)
        .await
        .expect("calls");
    assert_eq!(open_calls, 0, "call-end closed every call");
    (calls_live, calls_abandoned, dialed_once)
}
