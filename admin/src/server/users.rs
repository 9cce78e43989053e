//! Users (the Users page and `/api/v1/users`): list, create, edit, reset a password, and the
//! API tokens of the Account page.

use serde_json::Value;
use sqlx::PgPool;

use dialtone_core::asterisk_values::{self, Kind as Asterisk};
use dialtone_core::visibility;
use dialtone_core::vocabulary::Role;

use crate::model::{ApiTokenRow, Page, Saved, UserRow, PER_PAGE};

use super::actor::{Actor, OpError};
use super::search::{like_escape, offset, order_by};
use super::settings::refusal;

const USER_SORTS: &[(&str, &str)] = &[
    ("username", "u.username"),
    ("role", "u.role"),
    ("active", "u.active"),
    ("login", "u.last_login_at"),
];

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
    let Ok(parsed_role) = role.parse::<Role>() else {
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
    use dialtone_core::users::{self, end_access, AccessEnd};
    actor.admin()?;
    let mut fields = Vec::new();
    let parsed_role = role.parse::<Role>();
    if parsed_role.is_err() {
        fields.push(("role".into(), "admin, supervisor or agent".into()));
    }
    let keep_phone = phone.is_none();
    let phone = phone.map(str::trim).filter(|p| !p.is_empty());
    if let Some(Err(refused)) = phone.map(|p| asterisk_values::check(Asterisk::Phone, p)) {
        fields.push(("phone".into(), refused.kind.rule().into()));
    }
    let (Ok(role), true) = (parsed_role, fields.is_empty()) else {
        return Ok(Saved::Invalid { fields, form: None });
    };
    if id == actor.viewer.user_id && (!active || role != Role::Admin) {
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
    let phone_change = if keep_phone {
        users::Phone::Keep
    } else {
        users::Phone::Set(phone)
    };
    let phone = match users::update_in(&mut tx, id, role, active, phone_change).await {
        Ok(phone) => phone,
        Err(e) => return refusal(e, "phone"),
    };
    let (ids, removed) = match visibility::grant_campaigns(&mut tx, id, campaign_ids).await {
        Ok(granted) => granted,
        Err(e) => return refusal(e, "campaigns"),
    };
    let groups = match visibility::grant_groups(&mut tx, id, group_ids).await {
        Ok(groups) => groups,
        Err(e) => return refusal(e, "inbound_groups"),
    };
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
