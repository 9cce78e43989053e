//! Who sees which campaign and inbound group: an admin every one, a supervisor or an agent
//! those granted to them (`user_campaigns`, `user_inbound_groups`). The one statement of the
//! rule; a query that lists records binds a [`Seen`] and filters with
//! `($n::bigint[] IS NULL OR campaign_id = ANY($n))`, which holds no rule of its own.

use sqlx::{PgConnection, PgPool};

/// What a person sees of one kind of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Every one, including records that belong to none (a list with no campaign).
    Every,
    /// Those with these ids.
    Only(Vec<i64>),
}

impl Seen {
    /// As a query binds it: NULL for every one, else the ids.
    pub fn ids(&self) -> Option<&[i64]> {
        match self {
            Seen::Every => None,
            Seen::Only(ids) => Some(ids),
        }
    }
}

/// The campaigns this person sees. Someone unknown sees none.
pub async fn campaigns(pool: &PgPool, user_id: i64) -> Result<Seen, sqlx::Error> {
    seen(
        pool,
        user_id,
        "SELECT u.role = 'admin', ARRAY(SELECT campaign_id FROM user_campaigns WHERE user_id = u.id ORDER BY 1)
         FROM users u WHERE u.id = $1",
    )
    .await
}

/// The inbound groups this person sees. Someone unknown sees none.
pub async fn groups(pool: &PgPool, user_id: i64) -> Result<Seen, sqlx::Error> {
    seen(
        pool,
        user_id,
        "SELECT u.role = 'admin', ARRAY(SELECT group_id FROM user_inbound_groups WHERE user_id = u.id ORDER BY 1)
         FROM users u WHERE u.id = $1",
    )
    .await
}

async fn seen(pool: &PgPool, user_id: i64, sql: &str) -> Result<Seen, sqlx::Error> {
    let row: Option<(bool, Vec<i64>)> = sqlx::query_as(sql)
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some((true, _)) => Seen::Every,
        Some((false, ids)) => Seen::Only(ids),
        None => Seen::Only(Vec::new()),
    })
}

/// Whether this person sees this campaign.
pub async fn sees_campaign(
    pool: &PgPool,
    user_id: i64,
    campaign_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT u.role = 'admin' FROM users u WHERE u.id = $1), false)
             OR EXISTS (SELECT 1 FROM user_campaigns WHERE user_id = $1 AND campaign_id = $2)",
    )
    .bind(user_id)
    .bind(campaign_id)
    .fetch_one(pool)
    .await
}

/// Whether this person sees this inbound group.
pub async fn sees_group(pool: &PgPool, user_id: i64, group_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT u.role = 'admin' FROM users u WHERE u.id = $1), false)
             OR EXISTS (SELECT 1 FROM user_inbound_groups WHERE user_id = $1 AND group_id = $2)",
    )
    .bind(user_id)
    .bind(group_id)
    .fetch_one(pool)
    .await
}

/// Gives this person exactly these campaigns, in the caller's transaction. A grant kept keeps
/// its row (only those taken away are deleted). Returns the ids granted, sorted, and how many
/// grants were taken away (their sessions in those campaigns must end).
pub async fn grant_campaigns(
    tx: &mut PgConnection,
    user_id: i64,
    campaigns: &[i64],
) -> Result<(Vec<i64>, u64), sqlx::Error> {
    let mut ids = campaigns.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let removed = sqlx::query(
        "DELETE FROM user_campaigns WHERE user_id = $1 AND campaign_id <> ALL($2::bigint[])",
    )
    .bind(user_id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO user_campaigns (user_id, campaign_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    Ok((ids, removed))
}

/// Gives this person exactly these inbound groups, in the caller's transaction. Returns the
/// ids granted, sorted.
pub async fn grant_groups(
    tx: &mut PgConnection,
    user_id: i64,
    groups: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = groups.to_vec();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("DELETE FROM user_inbound_groups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_inbound_groups (user_id, group_id) SELECT $1, unnest($2::bigint[])",
    )
    .bind(user_id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    Ok(ids)
}
