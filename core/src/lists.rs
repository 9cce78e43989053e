//! Lead lists: a named set of leads, usually assigned to one campaign.

use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct List {
    pub id: i64,
    pub name: String,
    pub campaign_id: Option<i64>,
    pub active: bool,
    pub default_country: String,
    pub time_zones: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ListCounts {
    pub list_id: i64,
    pub leads: i64,
    pub dialable: i64,
    /// (status, leads), most common first.
    pub by_status: Vec<(String, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("list {0} does not exist")]
    NotFound(i64),
    #[error("campaign {0} does not exist")]
    NoCampaign(i64),
    #[error("unknown country '{0}': use an ISO code such as US")]
    Country(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn create(
    pool: &PgPool,
    name: &str,
    campaign_id: Option<i64>,
    default_country: &str,
) -> Result<i64, ListError> {
    create_in(
        &mut *pool.acquire().await?,
        name,
        campaign_id,
        default_country,
    )
    .await
}

/// [`create`], in the caller's transaction (the admin audits the creation in it).
pub async fn create_in(
    conn: &mut sqlx::PgConnection,
    name: &str,
    campaign_id: Option<i64>,
    default_country: &str,
) -> Result<i64, ListError> {
    let country = default_country.trim().to_ascii_uppercase();
    crate::phone::country(&country).map_err(|_| ListError::Country(default_country.to_string()))?;
    if let Some(campaign) = campaign_id {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1)")
                .bind(campaign)
                .fetch_one(&mut *conn)
                .await?;
        if !exists {
            return Err(ListError::NoCampaign(campaign));
        }
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO lists (name, campaign_id, default_country) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(campaign_id)
    .bind(country)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(pool: &PgPool, id: i64) -> Result<List, ListError> {
    sqlx::query_as("SELECT id, name, campaign_id, active, default_country::text, time_zones FROM lists WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(ListError::NotFound(id))
}

pub async fn all(pool: &PgPool) -> Result<Vec<List>, ListError> {
    Ok(sqlx::query_as("SELECT id, name, campaign_id, active, default_country::text, time_zones FROM lists ORDER BY id").fetch_all(pool).await?)
}

/// Moves a list to another campaign (or none) and turns it on or off, in the caller's
/// transaction.
pub async fn update_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    campaign_id: Option<i64>,
    active: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE lists SET campaign_id = $2, active = $3, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(campaign_id)
        .bind(active)
        .execute(tx)
        .await?;
    Ok(())
}

/// Whether leads of the list are in a hopper now: about to be dialed, or being dialed.
pub async fn being_dialed(tx: &mut sqlx::PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM hopper h JOIN leads l ON l.id = h.lead_id WHERE l.list_id = $1)",
    )
    .bind(id)
    .fetch_one(tx)
    .await
}

/// Deletes a list and its leads, in the caller's transaction. Refused by the database while
/// calls or callbacks refer to its leads.
pub async fn delete_in(tx: &mut sqlx::PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM lists WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Puts every lead of the list that is not finished (no completed, DNC or sale status) back
/// to NEW and due now, so it is dialed again. Returns how many.
pub async fn reset(conn: &mut sqlx::PgConnection, id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE leads SET status = 'NEW', next_attempt_at = now(), updated_at = now()
         WHERE list_id = $1 AND status NOT IN (SELECT code FROM statuses WHERE completed OR dnc OR sale)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn counts(pool: &PgPool, id: i64) -> Result<ListCounts, ListError> {
    get(pool, id).await?;
    let by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM leads WHERE list_id = $1 GROUP BY status ORDER BY count(*) DESC, status")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let dialable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM leads WHERE list_id = $1 AND next_attempt_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(ListCounts {
        list_id: id,
        leads: by_status.iter().map(|(_, n)| n).sum(),
        dialable,
        by_status,
    })
}
