//! What the admin can do, once: the pages' server functions and the JSON API both call these.
//! Each checks the viewer's role and campaign access itself, and each change writes the audit
//! log in the same transaction.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::Value;
use sqlx::PgPool;

use dialtone_core::asterisk_values::{self, Kind as Asterisk};

use super::audit;
use crate::model::{
    ApiTokenRow, CampaignRow, DidRow, DncRow, InboundRow, ListRow, Page, Saved, SettingsForm,
    UserRow, Viewer, PER_PAGE,
};

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Who is acting, for the checks and the audit log.
pub struct Actor<'a> {
    pub viewer: &'a Viewer,
    pub ip: Option<IpAddr>,
}

impl Actor<'_> {
    /// Writes the audit entry of this actor's change, inside `db`'s transaction when it is one.
    pub async fn audit<'e>(
        &self,
        db: impl sqlx::PgExecutor<'e>,
        action: &str,
        entity: &str,
        entity_id: Option<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), sqlx::Error> {
        audit::write(
            db,
            Some(self.viewer.user_id),
            self.ip,
            action,
            entity,
            entity_id,
            before,
            after,
        )
        .await
    }

    pub(crate) fn admin(&self) -> Result<(), OpError> {
        if self.viewer.is_admin() {
            Ok(())
        } else {
            Err(OpError::Forbidden)
        }
    }

    pub(crate) fn staff(&self) -> Result<(), OpError> {
        if matches!(self.viewer.role.as_str(), "admin" | "supervisor") {
            Ok(())
        } else {
            Err(OpError::Forbidden)
        }
    }
}

/// The least digit string above every string of digits that starts with `digits`: `19` → `2`;
/// none for no digits or only nines.
fn digits_successor(digits: &str) -> Option<String> {
    let kept = digits.trim_end_matches('9');
    let last = kept.chars().last()?;
    let raised = char::from_digit(last.to_digit(10)? + 1, 10)?;
    Some(format!("{}{raised}", &kept[..kept.len() - last.len_utf8()]))
}

/// Text to match literally inside a LIKE pattern: its backslash, `%` and `_` lose their meaning.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The least string above every string that starts with `prefix`, in code point order: the
/// prefix with its last character raised by one (a last character that cannot be raised is
/// dropped and the one before raised).
pub(crate) fn prefix_successor(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Only U+10FFFF characters: nothing is above their range but the longer strings themselves.
    format!("{prefix}{}", char::MAX)
}

fn offset(page: u32) -> i64 {
    i64::from(page.max(1) - 1) * i64::from(PER_PAGE)
}

use super::settings::{self, as_text, refusal};

// ---- campaigns ----

const CAMPAIGN_SORTS: &[(&str, &str)] = &[
    ("name", "c.name"),
    ("method", "c.dial_method"),
    ("active", "c.active"),
    ("updated", "c.updated_at"),
    ("id", "c.id"),
];

const LIST_SORTS: &[(&str, &str)] = &[
    ("name", "l.name"),
    ("campaign", "c.name"),
    ("leads", "l.lead_count"),
    ("active", "l.active"),
    ("id", "l.id"),
];
const USER_SORTS: &[(&str, &str)] = &[
    ("username", "u.username"),
    ("role", "u.role"),
    ("active", "u.active"),
    ("login", "u.last_login_at"),
];

/// `sort` is a key of a table's sorts (`CAMPAIGN_SORTS`...), with `-` in front for descending.
fn order_by(sort: &str, allowed: &[(&str, &str)], default: &str) -> String {
    let (column, desc) = pick_sort(sort, allowed).unwrap_or((default, sort.starts_with('-')));
    format!("{column} {}", if desc { "DESC" } else { "ASC" })
}

/// The column a `sort` key names in `allowed` and whether it is descending; `None` for an empty
/// or unknown key (the table's default order). The column is always our own text, never the
/// user's.
pub(crate) fn pick_sort<'a>(sort: &str, allowed: &[(&str, &'a str)]) -> Option<(&'a str, bool)> {
    let (desc, key) = sort.strip_prefix('-').map_or((false, sort), |k| (true, k));
    allowed
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| (*c, desc))
}

/// Orders that no index serves sort only this many matches, taken in the index's order, so a
/// click on a column header never sorts millions of rows.
pub const SORT_WINDOW: i64 = 10_000;

fn direction(desc: bool) -> &'static str {
    if desc {
        "DESC"
    } else {
        "ASC"
    }
}

pub async fn campaigns(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &str,
    sort: &str,
    page: u32,
) -> Result<Page<CampaignRow>, OpError> {
    actor.staff()?;
    let pattern = format!("%{}%", like_escape(filter.trim()));
    let visible = "($1 OR c.id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2)) AND c.name ILIKE $3";
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM campaigns c WHERE {visible}"))
            .bind(actor.viewer.is_admin())
            .bind(actor.viewer.user_id)
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
    let rows: Vec<(i64, String, bool, String, i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.name, c.active, c.dial_method,
                (SELECT count(*) FROM lists l WHERE l.campaign_id = c.id),
                (SELECT count(*) FROM agent_sessions s WHERE s.campaign_id = c.id AND s.logged_out_at IS NULL),
                to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
         FROM campaigns c WHERE {visible} ORDER BY {} LIMIT $4 OFFSET $5",
        order_by(sort, CAMPAIGN_SORTS, "c.name")
    ))
    .bind(actor.viewer.is_admin())
    .bind(actor.viewer.user_id)
    .bind(&pattern)
    .bind(i64::from(PER_PAGE))
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(id, name, active, dial_method, lists, agents_logged_in, updated_at)| CampaignRow {
                id,
                name,
                active,
                dial_method,
                lists,
                agents_logged_in,
                updated_at,
            },
        )
        .collect();
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

async fn visible_campaign(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    if super::may_see_campaign(pool, actor.viewer, id).await? {
        Ok(())
    } else {
        Err(OpError::NotFound)
    }
}

/// Admins change any campaign; supervisors those granted to them (settings, on/off, what it
/// offers agents); anyone else none. Creating, copying and everything system-wide stay admins'.
pub async fn manage_campaign(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    if actor.viewer.is_admin() || super::may_see_campaign(pool, actor.viewer, id).await? {
        Ok(())
    } else {
        Err(OpError::Forbidden)
    }
}

pub async fn campaign(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<SettingsForm, OpError> {
    visible_campaign(pool, actor, id).await?;
    settings::form(pool, &settings::CAMPAIGN, id).await
}

pub async fn save_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    version: &str,
    input: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    manage_campaign(pool, actor, id).await?;
    settings::save(pool, actor, &settings::CAMPAIGN, id, version, input).await
}

/// The call time a new campaign starts with (shipped in the seed migration).
const DEFAULT_CALL_TIME: &str = "9am-9pm";

fn check_name(name: &str) -> Option<(String, String)> {
    let name = name.trim();
    if name.is_empty() {
        Some(("name".into(), "required".into()))
    } else if name.chars().count() > 80 {
        Some(("name".into(), "at most 80 characters".into()))
    } else {
        None
    }
}

pub async fn create_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    dial_method: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut fields: Vec<(String, String)> = check_name(name).into_iter().collect();
    let method = match dial_method {
        "manual" => Some(dialtone_core::campaigns::DialMethod::Manual),
        "preview" => Some(dialtone_core::campaigns::DialMethod::Preview),
        "progressive" => Some(dialtone_core::campaigns::DialMethod::Progressive),
        "ratio" => Some(dialtone_core::campaigns::DialMethod::Ratio),
        "predictive" => Some(dialtone_core::campaigns::DialMethod::Predictive),
        _ => None,
    };
    if method.is_none() {
        fields.push(("dial_method".into(), "choose a dial method".into()));
    }
    let Some(method) = method.filter(|_| fields.is_empty()) else {
        return Ok(Saved::Invalid { fields, form: None });
    };
    let mut tx = pool.begin().await?;
    let id =
        match dialtone_core::campaigns::create_in(&mut tx, name.trim(), method, DEFAULT_CALL_TIME)
            .await
        {
            Ok(id) => id,
            Err(e) => return refusal(e, "name"),
        };
    let after: Option<Value> =
        sqlx::query_scalar("SELECT to_jsonb(c) FROM campaigns c WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    actor
        .audit(
            &mut *tx,
            "create",
            "campaign",
            Some(id.to_string()),
            None,
            after,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Campaign created: it is inactive until you activate it.".into(),
    })
}

/// A new inactive campaign with every setting, disposition and pause code of `id`.
pub async fn clone_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    name: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    if let Some(field) = check_name(name) {
        return Ok(Saved::Invalid {
            fields: vec![field],
            form: None,
        });
    }
    let mut tx = pool.begin().await?;
    let row: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(c) - 'id' - 'created_at' - 'updated_at' FROM campaigns c WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut copy) = row else {
        return Err(OpError::NotFound);
    };
    if let Some(obj) = copy.as_object_mut() {
        obj.insert("name".into(), Value::String(name.trim().to_string()));
        obj.insert("active".into(), Value::Bool(false));
    }
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'campaigns' AND column_name NOT IN ('id', 'created_at', 'updated_at') ORDER BY ordinal_position",
    )
    .fetch_all(&mut *tx)
    .await?;
    let columns = columns.join(", ");
    let created = sqlx::query_scalar::<_, i64>(&format!(
        "INSERT INTO campaigns ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::campaigns, $1) RETURNING id"
    ))
    .bind(&copy)
    .fetch_one(&mut *tx)
    .await;
    let new_id = match created {
        Ok(new_id) => new_id,
        Err(e) => return refusal(e, "name"),
    };
    for table in [
        "campaign_dispositions",
        "campaign_pause_codes",
        "campaign_retry_rules",
        "campaign_inbound_groups",
    ] {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'campaign_id' ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let columns = columns.join(", ");
        sqlx::query(&format!("INSERT INTO {table} (campaign_id, {columns}) SELECT $1, {columns} FROM {table} WHERE campaign_id = $2"))
            .bind(new_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    actor
        .audit(
            &mut *tx,
            "create",
            "campaign",
            Some(new_id.to_string()),
            None,
            Some(serde_json::json!({"cloned_from": id, "name": name.trim()})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: new_id,
        message: "Copied: the new campaign is inactive.".into(),
    })
}

pub async fn set_campaign_active(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    active: bool,
) -> Result<Saved, OpError> {
    manage_campaign(pool, actor, id).await?;
    settings::set_active(pool, actor, &settings::CAMPAIGN, id, active).await?;
    let message = if active {
        "Activated: the dialer starts within seconds."
    } else {
        "Deactivated: no new calls are dialed."
    };
    Ok(Saved::Ok {
        id,
        message: message.into(),
    })
}

// ---- lists ----

pub async fn lists(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &str,
    sort: &str,
    page: u32,
) -> Result<Page<ListRow>, OpError> {
    actor.staff()?;
    let pattern = format!("%{}%", like_escape(filter.trim()));
    let visible = "($1 OR l.campaign_id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2)) AND l.name ILIKE $3";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM lists l WHERE {visible}"))
        .bind(actor.viewer.is_admin())
        .bind(actor.viewer.user_id)
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    let rows: Vec<(i64, String, Option<String>, bool, String, i64)> = sqlx::query_as(&format!(
        "SELECT l.id, l.name, c.name, l.active, l.default_country::text, l.lead_count
         FROM lists l LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE {visible} ORDER BY {}, l.id DESC LIMIT $4 OFFSET $5",
        order_by(if sort.is_empty() { "-id" } else { sort }, LIST_SORTS, "l.id")
    ))
    .bind(actor.viewer.is_admin())
    .bind(actor.viewer.user_id)
    .bind(&pattern)
    .bind(i64::from(PER_PAGE))
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(id, name, campaign, active, default_country, leads)| ListRow {
                id,
                name,
                campaign,
                active,
                default_country,
                leads,
            },
        )
        .collect();
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

pub async fn list_visible(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    let campaign: Option<Option<i64>> =
        sqlx::query_scalar("SELECT campaign_id FROM lists WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let campaign = campaign.ok_or(OpError::NotFound)?;
    match campaign {
        _ if actor.viewer.is_admin() => Ok(()),
        Some(c) if super::may_see_campaign(pool, actor.viewer, c).await? => Ok(()),
        _ => Err(OpError::NotFound),
    }
}

pub async fn create_list(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    campaign_id: Option<i64>,
    country: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    if let Some(field) = check_name(name) {
        return Ok(Saved::Invalid {
            fields: vec![field],
            form: None,
        });
    }
    let mut tx = pool.begin().await?;
    match dialtone_core::lists::create_in(&mut tx, name.trim(), campaign_id, country).await {
        Ok(id) => {
            actor.audit(&mut *tx, "create", "list", Some(id.to_string()), None, Some(serde_json::json!({"name": name.trim(), "campaign_id": campaign_id, "default_country": country}))).await?;
            tx.commit().await?;
            Ok(Saved::Ok {
                id,
                message: "List created: upload leads into it.".into(),
            })
        }
        Err(dialtone_core::lists::ListError::Country(c)) => Ok(Saved::Invalid {
            fields: vec![(
                "country".into(),
                format!("'{c}' is not a country code such as US"),
            )],
            form: None,
        }),
        Err(dialtone_core::lists::ListError::NoCampaign(_)) => Ok(Saved::Invalid {
            fields: vec![("campaign_id".into(), "no such campaign".into())],
            form: None,
        }),
        Err(dialtone_core::lists::ListError::NotFound(_)) => Err(OpError::NotFound),
        Err(dialtone_core::lists::ListError::Db(e)) => refusal(e, "name"),
    }
}

/// Moves a list to another campaign (or none) and turns it on or off.
pub async fn update_list(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    campaign_id: Option<i64>,
    active: bool,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> = sqlx::query_scalar("SELECT jsonb_build_object('campaign_id', campaign_id, 'active', active) FROM lists WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let done = sqlx::query(
        "UPDATE lists SET campaign_id = $2, active = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(campaign_id)
    .bind(active)
    .execute(&mut *tx)
    .await;
    if let Err(e) = done {
        return refusal(e, "campaign_id");
    }
    let after = serde_json::json!({"campaign_id": campaign_id, "active": active});
    actor
        .audit(
            &mut *tx,
            "update",
            "list",
            Some(id.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Saved.".into(),
    })
}

/// Puts every lead of the list that is not finished back to NEW and due now, so it is dialed again.
pub async fn reset_list(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE leads SET status = 'NEW', next_attempt_at = now(), updated_at = now()
         WHERE list_id = $1 AND status NOT IN (SELECT code FROM statuses WHERE completed OR dnc OR sale)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    actor
        .audit(
            &mut *tx,
            "update",
            "list",
            Some(id.to_string()),
            None,
            Some(serde_json::json!({"reset_leads": done.rows_affected()})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{} leads will be dialed again.", done.rows_affected()),
    })
}

pub async fn delete_list(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> =
        sqlx::query_scalar("SELECT to_jsonb(l) FROM lists l WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let in_use: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hopper h JOIN leads l ON l.id = h.lead_id WHERE l.list_id = $1)").bind(id).fetch_one(&mut *tx).await?;
    if in_use {
        return Ok(Saved::refused(
            "Leads of this list are being dialed: deactivate the list and wait a minute first.",
        ));
    }
    if let Err(e) = sqlx::query("DELETE FROM lists WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
    {
        return match refusal(e, "name")? {
            Saved::Invalid { .. } => Ok(Saved::refused(
                "Calls or callbacks still refer to this list's leads: deactivate it instead.",
            )),
            ok => Ok(ok),
        };
    }
    actor
        .audit(
            &mut *tx,
            "delete",
            "list",
            Some(id.to_string()),
            Some(before),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "List deleted with its leads.".into(),
    })
}

// ---- do-not-call ----

/// DNC columns, named by the inner query's aliases in `dnc_search`.
const DNC_SORTS: &[(&str, &str)] = &[
    ("value", "value"),
    ("list", "campaign"),
    ("source", "source"),
    ("added", "created_at"),
];

/// Entries whose value starts with the digits typed, a page at a time without counting them
/// all (a national registry holds millions). The value order (either way) walks the
/// `dnc_value` index; other orders sort the first [`SORT_WINDOW`] matches by value.
pub async fn dnc_search(
    pool: &PgPool,
    actor: &Actor<'_>,
    query: &str,
    sort: &str,
    page: u32,
) -> Result<Page<DncRow>, OpError> {
    actor.admin()?;
    let prefix = query
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>();
    // Entries are `+` and digits: a prefix is the range from `+digits` to the next such prefix
    // (`+19` → `+2`), which the value index walks even in a prepared statement's generic plan
    // (a LIKE with a parameter pattern would read every entry). Digits after `+` order the same
    // under any collation; the LIKE keeps the match exact. No next prefix (none typed, or all
    // nines): no upper bound.
    let from = format!("+{prefix}");
    let to = digits_successor(&prefix).map(|d| format!("+{d}"));
    let pattern = format!("{from}%");
    let (column, desc) = pick_sort(sort, DNC_SORTS).unwrap_or(("value", false));
    let dir = direction(desc);
    let matching = if to.is_some() {
        "d.value >= $1 AND d.value < $2 AND d.value LIKE $3"
    } else {
        "d.value >= $1 AND $2::text IS NULL AND d.value LIKE $3"
    };
    let columns = "d.id, c.name AS campaign, d.value, d.source, d.note, d.created_at";
    let from_clause = "dnc_entries d LEFT JOIN campaigns c ON c.id = d.campaign_id";
    let inner = if column == "value" {
        format!("SELECT {columns} FROM {from_clause} WHERE {matching} ORDER BY d.value {dir}, d.id {dir} LIMIT $4 OFFSET $5")
    } else {
        format!(
            "SELECT * FROM (SELECT {columns} FROM {from_clause} WHERE {matching} ORDER BY d.value LIMIT {SORT_WINDOW}) w
             ORDER BY {column} {dir} NULLS LAST, value, id LIMIT $4 OFFSET $5"
        )
    };
    let rows: Vec<(i64, Option<String>, String, String, String, String)> = sqlx::query_as(&format!(
        "SELECT id, campaign, value, source, note, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM ({inner}) m"
    ))
    .bind(&from)
    .bind(&to)
    .bind(&pattern)
    .bind(i64::from(PER_PAGE) + 1)
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    // One row more than a page says there is a next page.
    let more = rows.len() > PER_PAGE as usize;
    let rows: Vec<DncRow> = rows
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|(id, campaign, value, source, note, added_at)| DncRow {
            id,
            scope: campaign.unwrap_or_else(|| "system".into()),
            value,
            source,
            note,
            added_at,
        })
        .collect();
    Ok(Page {
        total: offset(page) + rows.len() as i64 + i64::from(more),
        rows,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

/// Adds a number (any format, read in `country`) or an area code (`area:1201`) to a list.
pub async fn dnc_add(
    pool: &PgPool,
    actor: &Actor<'_>,
    entry: &str,
    country: &str,
    campaign_id: Option<i64>,
    note: &str,
) -> Result<Saved, OpError> {
    use dialtone_core::dnc::{self, Scope, Source};
    actor.admin()?;
    let scope = campaign_id.map_or(Scope::System, Scope::Campaign);
    let entry = entry.trim();
    let mut tx = pool.begin().await?;
    let added = if let Some(area) = entry.strip_prefix("area:") {
        match dnc::add_area_code(&mut *tx, scope, area, note).await {
            Ok(added) => (added, format!("+{}", area.trim().trim_start_matches('+'))),
            Err(dnc::DncError::BadAreaCode(_)) => {
                return Ok(Saved::Invalid {
                    fields: vec![(
                        "number".into(),
                        "an area code is 2 to 7 digits with the country code, e.g. area:1201"
                            .into(),
                    )],
                    form: None,
                })
            }
            Err(dnc::DncError::Db(e)) => return refusal(e, "number"),
            Err(e) => return Ok(Saved::refused(e.to_string())),
        }
    } else {
        let Ok(country) = dialtone_core::phone::country(country.trim()) else {
            return Ok(Saved::Invalid {
                fields: vec![("country".into(), "a country code such as US".into())],
                form: None,
            });
        };
        let number = match dialtone_core::phone::normalize(entry, country) {
            Ok(n) => n,
            Err(e) => {
                return Ok(Saved::Invalid {
                    fields: vec![("number".into(), e.to_string())],
                    form: None,
                })
            }
        };
        match dnc::add_number(&mut *tx, scope, &number, Source::Manual, note).await {
            Ok(added) => (added, number.number.clone()),
            Err(dnc::DncError::Db(e)) => return refusal(e, "number"),
            Err(e) => return Ok(Saved::refused(e.to_string())),
        }
    };
    let (is_new, value) = added;
    if is_new {
        actor
            .audit(
                &mut *tx,
                "create",
                "dnc",
                Some(value.clone()),
                None,
                Some(serde_json::json!({"value": value, "campaign_id": campaign_id, "note": note})),
            )
            .await?;
        tx.commit().await?;
        Ok(Saved::Ok {
            id: 0,
            message: format!("{value} will not be called."),
        })
    } else {
        Ok(Saved::Ok {
            id: 0,
            message: format!("{value} was already on that list."),
        })
    }
}

pub async fn dnc_remove(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> =
        sqlx::query_scalar("DELETE FROM dnc_entries d WHERE id = $1 RETURNING to_jsonb(d)")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let value = as_text(before.get("value"));
    actor
        .audit(
            &mut *tx,
            "delete",
            "dnc",
            Some(value.clone()),
            Some(before),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{value} removed from the do-not-call list."),
    })
}

// ---- users ----

pub async fn users(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &str,
    sort: &str,
    page: u32,
) -> Result<Page<UserRow>, OpError> {
    actor.admin()?;
    let pattern = format!("%{}%", like_escape(filter.trim()));
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE username ILIKE $1 OR display_name ILIKE $1",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await?;
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT u.id, u.username, u.display_name, u.role, u.active, u.must_change_password,
                to_char(u.last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS last_login_at,
                COALESCE(ARRAY(SELECT c.name FROM user_campaigns uc JOIN campaigns c ON c.id = uc.campaign_id WHERE uc.user_id = u.id ORDER BY c.name), '{{}}') AS campaigns,
                COALESCE(ARRAY(SELECT g.name FROM user_inbound_groups ug JOIN inbound_groups g ON g.id = ug.group_id WHERE ug.user_id = u.id ORDER BY g.name), '{{}}') AS inbound_groups,
                u.phone_dial_string AS phone
         FROM users u WHERE u.username ILIKE $1 OR u.display_name ILIKE $1 ORDER BY {}, u.username LIMIT $2 OFFSET $3",
        order_by(sort, USER_SORTS, "u.username")
    ))
    .bind(&pattern)
    .bind(i64::from(PER_PAGE))
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

/// Creates an account with a generated first password, returned once in the message.
pub async fn create_user(
    pool: &PgPool,
    actor: &Actor<'_>,
    username: &str,
    display_name: &str,
    role: &str,
) -> Result<Saved, OpError> {
    use dialtone_core::users::{self, UserError};
    actor.admin()?;
    let Ok(parsed_role) = role.parse::<users::Role>() else {
        return Ok(Saved::Invalid {
            fields: vec![("role".into(), "admin, supervisor or agent".into())],
            form: None,
        });
    };
    if display_name.chars().count() > 80 {
        return Ok(Saved::Invalid {
            fields: vec![("display_name".into(), "at most 80 characters".into())],
            form: None,
        });
    }
    let password = users::generate_password();
    let username = username.trim().to_ascii_lowercase();
    let mut tx = pool.begin().await?;
    match users::create(
        &mut *tx,
        &username,
        display_name.trim(),
        parsed_role,
        &password,
    )
    .await
    {
        Ok(id) => {
            actor.audit(&mut *tx, "create", "user", Some(id.to_string()), None, Some(serde_json::json!({"username": username, "role": role, "display_name": display_name.trim()}))).await?;
            tx.commit().await?;
            Ok(Saved::Ok { id, message: format!("Created {username}. First password: {password} (shown once; they must change it at sign-in).") })
        }
        Err(UserError::Username(_)) => Ok(Saved::Invalid {
            fields: vec![("username".into(), "2 to 64 of a-z 0-9 _ . @ -".into())],
            form: None,
        }),
        Err(UserError::Exists(_)) => Ok(Saved::Invalid {
            fields: vec![("username".into(), "already taken".into())],
            form: None,
        }),
        Err(UserError::Db(e)) => refusal(e, "username"),
        Err(e) => Ok(Saved::refused(e.to_string())),
    }
}

/// Role, active flag, phone (`None` keeps it, empty clears it) and campaign access, saved
/// together. Access taken away ends at
/// once (`core::users::end_access`): a deactivated user's sessions, tokens and dialer session;
/// a dialer session in a campaign no longer theirs.
#[allow(clippy::too_many_arguments)]
pub async fn update_user(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    role: &str,
    active: bool,
    phone: Option<&str>,
    campaign_ids: &[i64],
    group_ids: &[i64],
) -> Result<Saved, OpError> {
    use dialtone_core::users::{end_access, AccessEnd};
    actor.admin()?;
    let mut fields = Vec::new();
    if role.parse::<dialtone_core::users::Role>().is_err() {
        fields.push(("role".into(), "admin, supervisor or agent".into()));
    }
    let keep_phone = phone.is_none();
    let phone = phone.map(str::trim).filter(|p| !p.is_empty());
    if let Some(Err(refused)) = phone.map(|p| asterisk_values::check(Asterisk::Phone, p)) {
        fields.push(("phone".into(), refused.kind.rule().into()));
    }
    if !fields.is_empty() {
        return Ok(Saved::Invalid { fields, form: None });
    }
    if id == actor.viewer.user_id && (!active || role != "admin") {
        return Ok(Saved::refused(
            "You cannot remove your own admin rights or deactivate yourself.",
        ));
    }
    let mut tx = pool.begin().await?;
    let before: Option<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object('role', role, 'active', active, 'phone', phone_dial_string,
            'campaigns', COALESCE((SELECT jsonb_agg(campaign_id ORDER BY campaign_id) FROM user_campaigns WHERE user_id = u.id), '[]'),
            'inbound_groups', COALESCE((SELECT jsonb_agg(group_id ORDER BY group_id) FROM user_inbound_groups WHERE user_id = u.id), '[]'))
         FROM users u WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let phone: Option<String> = match sqlx::query_scalar(
        "UPDATE users SET role = $2, active = $3, updated_at = now(),
                phone_dial_string = CASE WHEN $5 THEN phone_dial_string ELSE $4 END
         WHERE id = $1 RETURNING phone_dial_string",
    )
    .bind(id)
    .bind(role)
    .bind(active)
    .bind(phone)
    .bind(keep_phone)
    .fetch_one(&mut *tx)
    .await
    {
        Ok(phone) => phone,
        Err(e) => return refusal(e, "phone"),
    };
    let mut ids = campaign_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // Only grants taken away are deleted: a save that keeps a campaign keeps its row.
    let removed = sqlx::query(
        "DELETE FROM user_campaigns WHERE user_id = $1 AND campaign_id <> ALL($2::bigint[])",
    )
    .bind(id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if let Err(e) = sqlx::query(
        "INSERT INTO user_campaigns (user_id, campaign_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&ids)
    .execute(&mut *tx)
    .await
    {
        return refusal(e, "campaigns");
    }
    let mut groups = group_ids.to_vec();
    groups.sort_unstable();
    groups.dedup();
    sqlx::query("DELETE FROM user_inbound_groups WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if let Err(e) = sqlx::query(
        "INSERT INTO user_inbound_groups (user_id, group_id) SELECT $1, unnest($2::bigint[])",
    )
    .bind(id)
    .bind(&groups)
    .execute(&mut *tx)
    .await
    {
        return refusal(e, "inbound_groups");
    }
    let after = serde_json::json!({"role": role, "active": active, "phone": phone, "campaigns": ids, "inbound_groups": groups});
    actor
        .audit(
            &mut *tx,
            "update",
            "user",
            Some(id.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    if !active {
        end_access(pool, id, AccessEnd::Everything, "account deactivated").await?;
    } else if removed > 0 {
        end_access(pool, id, AccessEnd::Campaigns, "campaign access removed").await?;
    }
    Ok(Saved::Ok {
        id,
        message: "Saved.".into(),
    })
}

/// A new generated password the user must change at next sign-in; everything the old one
/// opened ends (`core::users::set_password`).
pub async fn reset_password(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let username: Option<String> = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let username = username.ok_or(OpError::NotFound)?;
    let password = dialtone_core::users::generate_password();
    let mut tx = pool.begin().await?;
    match dialtone_core::users::store_password(&mut *tx, &username, &password, true).await {
        Ok(_) => {}
        Err(dialtone_core::users::UserError::Db(e)) => return Err(OpError::Db(e)),
        Err(e) => return Ok(Saved::refused(e.to_string())),
    }
    actor
        .audit(
            &mut *tx,
            "update",
            "user_password",
            Some(id.to_string()),
            None,
            Some(serde_json::json!({"reset": true})),
        )
        .await?;
    tx.commit().await?;
    dialtone_core::users::end_access(
        pool,
        id,
        dialtone_core::users::AccessEnd::Everything,
        "password reset",
    )
    .await?;
    Ok(Saved::Ok {
        id,
        message: format!(
            "New password for {username}: {password} (shown once; they must change it at sign-in)."
        ),
    })
}

/// A personal API token for `id`, returned once.
pub async fn issue_token(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    name: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Ok(Saved::Invalid {
            fields: vec![("token_name".into(), "1 to 80 characters".into())],
            form: None,
        });
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Err(OpError::NotFound);
    }
    let mut tx = pool.begin().await?;
    let token = super::session::issue_api_token(&mut *tx, id, name).await?;
    actor
        .audit(
            &mut *tx,
            "create",
            "api_token",
            Some(id.to_string()),
            None,
            Some(serde_json::json!({"name": name})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!(
            "API token '{name}': {token} (shown once; send it as 'Authorization: Bearer …')."
        ),
    })
}

/// Every API token (admin), newest first, with whether it still works.
pub async fn api_tokens(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<ApiTokenRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT t.id, t.user_id, u.username, t.name,
                to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS created_at,
                to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS expires_at,
                to_char(t.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS last_used_at,
                CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' WHEN t.expires_at <= now() THEN 'expired' ELSE 'active' END AS state
         FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at DESC, t.id DESC",
    )
    .fetch_all(pool)
    .await?)
}

/// Revokes an API token at once (admin); audited in the same transaction.
pub async fn revoke_token(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let revoked: Option<Value> = sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
         RETURNING jsonb_build_object('user_id', user_id, 'name', name)",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(token) = revoked else {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_tokens WHERE id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        return if exists {
            Ok(Saved::refused("That token was already revoked."))
        } else {
            Err(OpError::NotFound)
        };
    };
    actor
        .audit(
            &mut *tx,
            "delete",
            "api_token",
            Some(id.to_string()),
            Some(token),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Token revoked: it no longer signs anything in.".into(),
    })
}

/// Campaigns to choose from in forms: (id, name).
pub async fn campaign_choices(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<(i64, String)>, OpError> {
    actor.staff()?;
    Ok(sqlx::query_as(
        "SELECT id, name FROM campaigns c WHERE $1 OR id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2) ORDER BY name",
    )
    .bind(actor.viewer.is_admin())
    .bind(actor.viewer.user_id)
    .fetch_all(pool)
    .await?)
}

// ---- inbound groups and DIDs ----

pub async fn inbound_groups(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<InboundRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.active, c.name AS campaign, g.max_wait_secs, g.service_level_secs,
                COALESCE(ARRAY(SELECT d.number FROM dids d WHERE d.group_id = g.id ORDER BY d.number), '{}') AS dids,
                (SELECT count(*) FROM user_inbound_groups u WHERE u.group_id = g.id) AS agents
         FROM inbound_groups g LEFT JOIN campaigns c ON c.id = g.campaign_id ORDER BY g.name",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn create_inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    if let Some(field) = check_name(name) {
        return Ok(Saved::Invalid {
            fields: vec![field],
            form: None,
        });
    }
    let mut tx = pool.begin().await?;
    let created = sqlx::query_scalar::<_, Value>(
        "INSERT INTO inbound_groups (name) VALUES ($1) RETURNING to_jsonb(inbound_groups.*)",
    )
    .bind(name.trim())
    .fetch_one(&mut *tx)
    .await;
    let after = match created {
        Ok(after) => after,
        Err(e) => return refusal(e, "name"),
    };
    let id = after.get("id").and_then(Value::as_i64).unwrap_or(0);
    actor
        .audit(
            &mut *tx,
            "create",
            "inbound_group",
            Some(id.to_string()),
            None,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Group created: set its routes and hours, then give it a number.".into(),
    })
}

pub async fn inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
) -> Result<SettingsForm, OpError> {
    actor.admin()?;
    settings::form(pool, &settings::INBOUND_GROUP, id).await
}

pub async fn save_inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    version: &str,
    input: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    settings::save(pool, actor, &settings::INBOUND_GROUP, id, version, input).await
}

pub async fn set_inbound_active(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    active: bool,
) -> Result<Saved, OpError> {
    actor.admin()?;
    settings::set_active(pool, actor, &settings::INBOUND_GROUP, id, active).await?;
    let message = if active {
        "Open: calls to its numbers are queued."
    } else {
        "Closed: its numbers get the closed route."
    };
    Ok(Saved::Ok {
        id,
        message: message.into(),
    })
}

pub async fn dids(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<DidRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT d.id, d.number, d.description, g.name AS group_name, d.active FROM dids d JOIN inbound_groups g ON g.id = d.group_id ORDER BY d.number",
    )
    .fetch_all(pool)
    .await?)
}

/// A number callers dial, routed to a group. Digits as the carrier presents them (with an
/// optional +), or a dialplan pattern's * and #.
pub async fn add_did(
    pool: &PgPool,
    actor: &Actor<'_>,
    number: &str,
    description: &str,
    group_id: Option<i64>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let number = number.trim().replace([' ', '-', '(', ')', '.'], "");
    let mut fields = Vec::new();
    if !Asterisk::Did.accepts(&number) {
        fields.push((
            "number".to_string(),
            "digits as the carrier sends them, optional +".to_string(),
        ));
    }
    if description.chars().count() > 200 {
        fields.push(("description".into(), "at most 200 characters".into()));
    }
    let Some(group_id) = group_id else {
        fields.push(("group_id".into(), "choose the group it rings".into()));
        return Ok(Saved::Invalid { fields, form: None });
    };
    if !fields.is_empty() {
        return Ok(Saved::Invalid { fields, form: None });
    }
    let mut tx = pool.begin().await?;
    let created = sqlx::query_scalar::<_, i64>(
        "INSERT INTO dids (number, description, group_id) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&number)
    .bind(description.trim())
    .bind(group_id)
    .fetch_one(&mut *tx)
    .await;
    let id = match created {
        Ok(id) => id,
        Err(e) => return refusal(e, "number"),
    };
    let after = serde_json::json!({"number": number, "group_id": group_id, "description": description.trim()});
    actor
        .audit(
            &mut *tx,
            "create",
            "did",
            Some(id.to_string()),
            None,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{number} now rings the group."),
    })
}

pub async fn remove_did(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> =
        sqlx::query_scalar("DELETE FROM dids d WHERE id = $1 RETURNING to_jsonb(d)")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(OpError::NotFound)?;
    actor
        .audit(
            &mut *tx,
            "delete",
            "did",
            Some(id.to_string()),
            Some(before),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Number removed.".into(),
    })
}

/// Inbound groups to choose from in forms: (id, name).
pub async fn group_choices(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<(i64, String)>, OpError> {
    actor.admin()?;
    Ok(
        sqlx::query_as("SELECT id, name FROM inbound_groups ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_ranges() {
        assert_eq!(digits_successor("1300").as_deref(), Some("1301"));
        assert_eq!(digits_successor("19").as_deref(), Some("2"));
        assert_eq!(digits_successor("1399").as_deref(), Some("14"));
        assert_eq!(digits_successor("99"), None);
        assert_eq!(digits_successor(""), None);
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(prefix_successor("silv"), "silw");
        assert_eq!(prefix_successor("o'b"), "o'c");
        // The surrogate gap is skipped, and a last character at the top is dropped.
        assert_eq!(prefix_successor("a\u{D7FF}"), "a\u{E000}");
        assert_eq!(prefix_successor("ab\u{10FFFF}"), "ac");
        for name in ["silva", "silvaé", "silv\u{10FFFF}x"] {
            assert!(
                name >= "silv" && name < prefix_successor("silv").as_str(),
                "{name}"
            );
        }
        assert!("silw" >= prefix_successor("silv").as_str());
    }
}
