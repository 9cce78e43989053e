//! The other channels of a call: today the third party an agent consults before a transfer.
//! A leg is open from its dial until its channel hangs up; the node that carries the call
//! writes them, and closes any a missed Hangup event left open.

use sqlx::PgPool;
use uuid::Uuid;

/// A consultation is dialed: its leg is known by the Uniqueid the node gave its Originate.
pub async fn open_consult(
    pool: &PgPool,
    call_id: Uuid,
    dial_string: &str,
    leg: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO call_legs (call_id, kind, channel, uniqueid) VALUES ($1, 'consult', $2, $3)",
    )
    .bind(call_id)
    .bind(dial_string)
    .bind(leg.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// The call's open consultation, by its Uniqueid: the latest when there are several.
pub async fn open_consult_of(pool: &PgPool, call_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar(
        "SELECT uniqueid FROM call_legs WHERE call_id = $1 AND kind = 'consult' AND ended_at IS NULL
         ORDER BY id DESC LIMIT 1",
    )
    .bind(call_id)
    .fetch_optional(pool)
    .await?
    .flatten())
}

/// Closes these consultations' legs, by Uniqueid (those still open).
pub async fn close_consults(pool: &PgPool, legs: &[String]) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE call_legs SET ended_at = now()
         WHERE uniqueid = ANY($1) AND kind = 'consult' AND ended_at IS NULL",
    )
    .bind(legs)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// A channel hung up: if it was a third party's, its leg closes with the cause. Returns the
/// consultations still open on the call it carried as the customer's channel (matched by
/// `uniqueid`, or by the call's id while a manual dial rings), as (call, leg Uniqueid).
pub async fn hung_up(
    pool: &PgPool,
    uniqueid: &str,
    cause: Option<i32>,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let as_call_id = uniqueid.parse::<Uuid>().ok();
    sqlx::query_as(
        "WITH ended AS (
            UPDATE call_legs SET ended_at = now(), hangup_cause = $2
            WHERE uniqueid = $1 AND kind = 'consult' AND ended_at IS NULL
         )
         SELECT l.call_id, l.uniqueid FROM calls c JOIN call_legs l ON l.call_id = c.id
         WHERE (c.uniqueid = $1 OR c.id = $3) AND l.kind = 'consult' AND l.ended_at IS NULL AND l.uniqueid IS NOT NULL",
    )
    .bind(uniqueid)
    .bind(cause)
    .bind(as_call_id)
    .fetch_all(pool)
    .await
}

/// Consultations still open on this node's calls that ended other than by a transfer: the
/// third parties a missed Hangup event left behind, as (call, leg Uniqueid).
pub async fn outlived(pool: &PgPool, node: &str) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.call_id, l.uniqueid FROM call_legs l JOIN calls c ON c.id = l.call_id
         WHERE l.kind = 'consult' AND l.ended_at IS NULL AND l.uniqueid IS NOT NULL
           AND c.node = $1 AND c.state = 'ended' AND c.outcome IS DISTINCT FROM 'transferred'",
    )
    .bind(node)
    .fetch_all(pool)
    .await
}
