//! Users: accounts, roles, campaign access, password resets and API tokens.

use dialtone_core::vocabulary::Role;
use std::collections::HashMap;
use strum::VariantArray;

use leptos::prelude::*;
use leptos_meta::Title;

use super::campaigns::{sort_link, urlencoding};
use super::lists::campaign_choices;
use super::{page_param, query_param, FieldError, Notice, Pager};
use crate::model::{ApiTokenRow, Page, Saved, UserRow};

#[server(endpoint = "list_users")]
pub async fn list_users(
    q: String,
    sort: Option<String>,
    page: u32,
) -> Result<Page<UserRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::users(pool, &actor, &q, sort.as_deref().unwrap_or(""), page)
        .await
        .map_err(op_error)
}

#[server(endpoint = "create_user")]
pub async fn create_user(
    username: String,
    display_name: String,
    role: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::create_user(pool, &actor, &username, &display_name, &role)
        .await
        .map_err(op_error)
}

/// `access` and `groups` hold `campaign id -> "on"` and `group id -> "on"` for each box ticked.
#[server(endpoint = "update_user")]
pub async fn update_user(
    id: i64,
    role: String,
    active: Option<String>,
    phone: Option<String>,
    access: Option<HashMap<String, String>>,
    groups: Option<HashMap<String, String>>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let campaigns: Vec<i64> = access
        .unwrap_or_default()
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect();
    let groups: Vec<i64> = groups
        .unwrap_or_default()
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect();
    crate::server::users::update_user(
        pool,
        &actor,
        id,
        &role,
        active.is_some(),
        Some(phone.as_deref().unwrap_or("")),
        &campaigns,
        &groups,
    )
    .await
    .map_err(op_error)
}

/// Inbound groups to choose from: (id, name).
#[server(endpoint = "group_choices")]
pub async fn group_choices() -> Result<Vec<(i64, String)>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::group_choices(pool, &actor)
        .await
        .map_err(op_error)
}

#[server(endpoint = "reset_password")]
pub async fn reset_password(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::reset_password(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiTokenRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::api_tokens(pool, &actor)
        .await
        .map_err(op_error)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::revoke_token(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "issue_token")]
pub async fn issue_token(id: i64, token_name: String) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::users::issue_token(pool, &actor, id, &token_name)
        .await
        .map_err(op_error)
}

#[component]
pub fn Users() -> impl IntoView {
    let q = query_param("q");
    let sort = query_param("sort");
    let page = page_param();
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let token = ServerAction::<IssueToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let revoked: Signal<Option<Result<Saved, ServerFnError>>> = revoke.value().into();
    let tokens = Resource::new(
        move || (token.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let created: Signal<Option<Result<Saved, ServerFnError>>> = create.value().into();
    let updated: Signal<Option<Result<Saved, ServerFnError>>> = update.value().into();
    let was_reset: Signal<Option<Result<Saved, ServerFnError>>> = reset.value().into();
    let issued: Signal<Option<Result<Saved, ServerFnError>>> = token.value().into();
    let (q2, sort2, page2) = (q.clone(), sort.clone(), page.clone());
    let rows = Resource::new(
        move || {
            (
                q2(),
                sort2(),
                page2(),
                create.version().get(),
                update.version().get(),
            )
        },
        |(q, sort, page, _, _)| list_users(q, Some(sort), page),
    );
    let choices = Resource::new(|| (), |_| campaign_choices());
    let group_list = Resource::new(|| (), |_| group_choices());
    view! {
        <Title text="Users · Dialtone"/>
        <h1>"Users"</h1>
        <section class="card">
            <h2>"New user"</h2>
            <Notice result=created/>
            <ActionForm action=create>
                <div class="row">
                    <label>"Username" <input name="username" required maxlength="64" autocomplete="off"/> <FieldError result=created key="username"/></label>
                    <label>"Name" <input name="display_name" maxlength="80"/> <FieldError result=created key="display_name"/></label>
                    <label>"Role"
                        <select name="role">{role_options(None)}</select>
                        <FieldError result=created key="role"/>
                    </label>
                    <button type="submit">"Create"</button>
                </div>
            </ActionForm>
        </section>
        <form method="get" action="/users" class="filters">
            <input type="search" name="q" placeholder="Username or name contains…" value=q.clone()/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Filter"</button>
        </form>
        <Notice result=updated/>
        <Notice result=was_reset/>
        <Notice result=issued/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (q, sort) = (q(), sort());
                Suspend::new(async move {
                    let campaigns = choices.await.unwrap_or_default();
                    let all_groups = group_list.await.unwrap_or_default();
                    match rows.await {
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let base = format!("/users?q={}&sort={}", urlencoding(&q), urlencoding(&sort));
                            let link = |key: &str| sort_link("/users", &sort, key, &q);
                            view! {
                                <table>
                                    <thead><tr>
                                        <th><a href=link("username")>"User"</a></th>
                                        <th><a href=link("role")>"Role, state and campaigns"</a></th>
                                        <th><a href=link("login")>"Last sign-in (UTC)"</a></th>
                                        <th>"Password and API"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|u| {
                                            let (uid, uid2, uid3) = (u.id.to_string(), u.id.to_string(), u.id.to_string());
                                            let role = u.role;
                                            let mine = u.campaigns.clone();
                                            let campaigns = campaigns.clone();
                                            let all_groups = all_groups.clone();
                                            let my_groups = u.inbound_groups.clone();
                                            view! {
                                                <tr>
                                                    <td><strong>{u.username.clone()}</strong><br/>{u.display_name.clone()}
                                                        {u.must_change_password.then(|| view! { <br/><small>"must change password"</small> })}</td>
                                                    <td>
                                                        <ActionForm action=update>
                                                            <input type="hidden" name="id" value=uid/>
                                                            <select name="role" aria-label="role">
                                                                {role_options(Some(role))}
                                                            </select>
                                                            <label><input type="checkbox" name="active" value="on" checked=u.active/> "active"</label>
                                                            <label>"Phone" <input name="phone" value=u.phone.clone().unwrap_or_default() placeholder="PJSIP/1001" size="12" maxlength="70" autocomplete="off"/></label>
                                                            <FieldError result=updated key="phone"/>
                                                            <div class="access">
                                                                {campaigns.iter().map(|(cid, name)| view! {
                                                                    <label><input type="checkbox" name=format!("access[{cid}]") value="on" checked=mine.contains(name)/> {name.clone()}</label>
                                                                }).collect_view()}
                                                            </div>
                                                            <div class="access">
                                                                {all_groups.iter().map(|(gid, name)| view! {
                                                                    <label><input type="checkbox" name=format!("groups[{gid}]") value="on" checked=my_groups.contains(name)/> {format!("inbound: {name}")}</label>
                                                                }).collect_view()}
                                                            </div>
                                                            <button type="submit">"Save"</button>
                                                        </ActionForm>
                                                    </td>
                                                    <td>{u.last_login_at.unwrap_or_else(|| "never".into())}</td>
                                                    <td>
                                                        <ActionForm action=reset>
                                                            <input type="hidden" name="id" value=uid2/>
                                                            <button type="submit" class="link">"Reset password"</button>
                                                        </ActionForm>
                                                        <ActionForm action=token>
                                                            <input type="hidden" name="id" value=uid3/>
                                                            <input name="token_name" placeholder="token name" size="10" maxlength="80"/>
                                                            <button type="submit" class="link">"New API token"</button>
                                                            <FieldError result=issued key="token_name"/>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page pages total base/>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
        <section class="card">
            <h2>"API tokens"</h2>
            <p class="hint">"A token works until it expires (a year after it was made) or is revoked; resetting its user's password or signing them out everywhere revokes it too."</p>
            <Notice result=revoked/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(rows) if rows.is_empty() => view! { <p>"No API tokens yet."</p> }.into_any(),
                        Ok(rows) => view! {
                            <table>
                                <thead><tr><th>"User"</th><th>"Token"</th><th>"Made (UTC)"</th><th>"Expires (UTC)"</th><th>"Last used (UTC)"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|t| view! {
                                        <tr>
                                            <td>{t.username.clone()}</td>
                                            <td>{t.name.clone()}</td>
                                            <td>{t.created_at.clone()}</td>
                                            <td>{t.expires_at.clone()}</td>
                                            <td>{t.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                            <td>{t.state.clone()}</td>
                                            <td>{(t.state == "active").then(|| view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=t.id.to_string()/>
                                                    <button type="submit" class="link">"Revoke"</button>
                                                </ActionForm>
                                            })}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The roles to choose from, the least first (a new account is an agent unless chosen).
fn role_options(selected: Option<Role>) -> impl IntoView {
    Role::VARIANTS
        .iter()
        .rev()
        .map(|r| view! { <option value=r.as_str() selected=Some(*r) == selected>{r.as_str()}</option> })
        .collect_view()
}
