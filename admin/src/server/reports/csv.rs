//! `GET /reports/{report}.csv`: each report as a spreadsheet-safe CSV file, for the same filter
//! and with the same checks as its page. Every cell goes through `csv_safety::neutralize`.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use dialtone_core::csv_safety::neutralize;
use futures::TryStreamExt;

use super::{Filter, ReportError};
use crate::pages::reports::{Args, CdrRow, Kind};
use crate::server::actor::{Actor, OpError};
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for kind in Kind::ALL {
        router = router.route(
            &format!("/reports/{}.csv", kind.slug()),
            get(move |state, session, ip, query| download(kind, state, session, ip, query)),
        );
    }
    router
}

/// The filter of the address, leniently: a parameter that is missing or repeated is no error.
fn args_from(query: Option<&str>) -> Args {
    let mut args = Args::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "from" => args.from = value,
            "to" => args.to = value,
            "campaign" => args.campaign = value,
            "group" => args.group = value,
            "secs" => args.secs = value,
            _ => {}
        }
    }
    args.page = 1;
    args
}

async fn download(
    kind: Kind,
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    RawQuery(query): RawQuery,
) -> Response {
    let filter = match Filter::parse(
        &args_from(query.as_deref()),
        chrono::Utc::now().date_naive(),
    ) {
        Ok(f) => f,
        Err(e) => return refusal(e.into()),
    };
    let actor = Actor {
        viewer: &session.viewer,
        ip,
    };
    let pool = &state.pool;
    let table = match kind {
        Kind::Summary => super::summary(pool, &actor, &filter)
            .await
            .map(summary_table),
        Kind::Agents => super::agents(pool, &actor, &filter).await.map(agents_table),
        Kind::Dispositions => super::dispositions(pool, &actor, &filter)
            .await
            .map(|rows| {
                let header = ["code", "name", "calls", "share_pct"]
                    .map(String::from)
                    .to_vec();
                let body = rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.code,
                            r.name,
                            r.calls.to_string(),
                            format!("{:.2}", r.share_pct),
                        ]
                    })
                    .collect();
                (header, body)
            }),
        Kind::ServiceLevel => super::service_level(pool, &actor, &filter)
            .await
            .map(|rows| {
                let within = format!("answered_within_{}s", filter.secs);
                let header = [
                    "inbound_group",
                    "offered",
                    "answered",
                    within.as_str(),
                    "service_level_pct",
                    "avg_wait_secs",
                    "abandons",
                    "abandon_pct",
                ]
                .map(String::from)
                .to_vec();
                let body = rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.group_name.clone(),
                            r.offered.to_string(),
                            r.answered.to_string(),
                            r.within.to_string(),
                            format!("{:.2}", r.service_level_pct()),
                            r.avg_wait.map(|w| format!("{w:.1}")).unwrap_or_default(),
                            r.abandons.to_string(),
                            format!("{:.2}", r.abandon_pct()),
                        ]
                    })
                    .collect();
                (header, body)
            }),
        Kind::Calls => return calls(state.pool.clone(), &actor, filter).await,
    };
    match table.map(|(header, rows)| write(&header, rows)) {
        Ok(Ok(bytes)) => attachment(kind, &filter, axum::body::Body::from(bytes)),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "report CSV not written");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the CSV could not be written",
            )
                .into_response()
        }
        Err(e) => refusal(e),
    }
}

type Table = (Vec<String>, Vec<Vec<String>>);

fn summary_table(s: crate::pages::reports::Summary) -> Table {
    let header = [
        "day",
        "dials",
        "human_answers",
        "machines",
        "no_answer",
        "busy",
        "congestion",
        "abandons",
        "other",
        "live_answers_30d",
        "abandons_30d",
        "abandon_rate_30d_pct",
        "abandon_cap_pct",
    ]
    .map(String::from)
    .to_vec();
    let body = s
        .days
        .into_iter()
        .map(|d| {
            let rate = format!("{:.2}", d.rate_30d());
            vec![
                d.day,
                d.dials.to_string(),
                d.human.to_string(),
                d.machine.to_string(),
                d.no_answer.to_string(),
                d.busy.to_string(),
                d.congestion.to_string(),
                d.abandoned.to_string(),
                d.other.to_string(),
                d.live_30d.to_string(),
                d.abandons_30d.to_string(),
                rate,
                format!("{:.2}", s.cap_pct),
            ]
        })
        .collect();
    (header, body)
}

/// One column per pause code and per disposition met, so a spreadsheet can sum them.
fn agents_table(rows: Vec<crate::pages::reports::AgentRow>) -> Table {
    let mut pause_codes: Vec<String> = rows
        .iter()
        .flat_map(|r| r.pauses.iter().map(|p| p.0.clone()))
        .collect();
    pause_codes.sort();
    pause_codes.dedup();
    let mut codes: Vec<String> = rows
        .iter()
        .flat_map(|r| r.dispositions.iter().map(|d| d.0.clone()))
        .collect();
    codes.sort();
    codes.dedup();
    let mut header: Vec<String> = [
        "agent",
        "logged_in_secs",
        "talk_secs",
        "wait_secs",
        "pause_secs",
        "wrapup_secs",
        "calls",
    ]
    .map(String::from)
    .to_vec();
    header.extend(pause_codes.iter().map(|c| format!("pause_{c}_secs")));
    header.extend(codes.iter().map(|c| format!("disposition_{c}")));
    let body = rows
        .into_iter()
        .map(|r| {
            let mut row = vec![
                r.agent.clone(),
                format!("{:.0}", r.logged_in),
                format!("{:.0}", r.talk),
                format!("{:.0}", r.wait),
                format!("{:.0}", r.pause),
                format!("{:.0}", r.wrapup),
                r.calls.to_string(),
            ];
            row.extend(pause_codes.iter().map(|c| {
                let secs = r.pauses.iter().find(|p| &p.0 == c).map_or(0.0, |p| p.1);
                format!("{secs:.0}")
            }));
            row.extend(codes.iter().map(|c| {
                r.dispositions
                    .iter()
                    .find(|d| &d.0 == c)
                    .map_or(0, |d| d.1)
                    .to_string()
            }));
            row
        })
        .collect();
    (header, body)
}

/// The cells as they are safe to open in a spreadsheet.
fn safe<S: AsRef<str>>(cells: &[S]) -> Vec<String> {
    cells
        .iter()
        .map(|c| neutralize(c.as_ref()).into_owned())
        .collect()
}

fn write(header: &[String], rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(safe(header))?;
    for row in rows {
        w.write_record(safe(&row))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

const CDR_HEADER: &[&str] = &[
    "call_id",
    "started_utc",
    "direction",
    "campaign",
    "inbound_group",
    "number",
    "agent",
    "outcome",
    "disposition",
    "answered_utc",
    "ended_utc",
    "wait_secs",
    "talk_secs",
    "recording",
];

fn cdr_record(r: CdrRow) -> Vec<String> {
    let secs = |s: Option<f64>| s.map(|s| format!("{s:.0}")).unwrap_or_default();
    vec![
        r.id,
        r.started,
        r.direction,
        r.campaign.unwrap_or_default(),
        r.group_name.unwrap_or_default(),
        r.number.unwrap_or_default(),
        r.agent.unwrap_or_default(),
        r.outcome.unwrap_or_default(),
        r.disposition.unwrap_or_default(),
        r.answered.unwrap_or_default(),
        r.ended.unwrap_or_default(),
        secs(r.wait_secs),
        secs(r.talk_secs),
        r.recording_id
            .map(|id| format!("/recordings/{id}/file"))
            .unwrap_or_default(),
    ]
}

/// Every call of the range, streamed as it is read (a year of calls does not fit in memory).
async fn calls(pool: sqlx::PgPool, actor: &Actor<'_>, filter: Filter) -> Response {
    let scope = match super::scope(&pool, actor, &filter).await {
        Ok(s) => s,
        Err(e) => return refusal(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let (start, end) = (filter.start(), filter.end());
    tokio::spawn(async move {
        let sql = super::cdr_sql();
        let mut rows = sqlx::query_as::<_, CdrRow>(&sql)
            .bind(&scope.campaigns)
            .bind(&scope.groups)
            .bind(start)
            .bind(end)
            .bind(None::<i64>)
            .bind(0_i64)
            .fetch(&pool);
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut failed = w
            .write_record(safe(CDR_HEADER))
            .err()
            .map(|e| e.to_string());
        while failed.is_none() {
            match rows.try_next().await {
                // The writer fills the Vec as its own buffer fills; send the Vec when large.
                Ok(Some(row)) => match w.write_record(safe(&cdr_record(row))) {
                    Err(e) => failed = Some(e.to_string()),
                    Ok(()) if w.get_ref().len() >= 64 * 1024 => {
                        let full = std::mem::replace(&mut w, csv::Writer::from_writer(Vec::new()));
                        match full.into_inner() {
                            Ok(chunk) => {
                                if tx.send(Ok(chunk)).await.is_err() {
                                    return; // the browser went away
                                }
                            }
                            Err(e) => failed = Some(e.to_string()),
                        }
                    }
                    Ok(()) => {}
                },
                Ok(None) => break,
                Err(e) => failed = Some(e.to_string()),
            }
        }
        if let Some(e) = failed {
            tracing::error!(error = %e, "call detail CSV stopped");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
            return;
        }
        match w.into_inner() {
            Ok(rest) => {
                let _ = tx.send(Ok(rest)).await;
            }
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e.into_error()))).await;
            }
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    attachment(Kind::Calls, &filter, body)
}

fn attachment(kind: Kind, filter: &Filter, body: axum::body::Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    // Dates and a fixed slug only: nothing to escape in the file name.
    let name = format!(
        "attachment; filename=\"{}-{}-to-{}.csv\"",
        kind.slug(),
        filter.from,
        filter.to
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A refused or failed report as plain text with its status; database detail only in the log.
fn refusal(e: ReportError) -> Response {
    let status = match &e {
        ReportError::Filter(_) => StatusCode::BAD_REQUEST,
        ReportError::Campaign | ReportError::Group | ReportError::Op(OpError::Forbidden) => {
            StatusCode::FORBIDDEN
        }
        ReportError::Op(OpError::NotFound) => StatusCode::NOT_FOUND,
        ReportError::Op(OpError::Db(db)) => {
            tracing::error!(error = %db, "report: database");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer; try again",
            )
                .into_response();
        }
    };
    (status, e.to_string()).into_response()
}
