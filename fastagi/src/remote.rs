//! The node's side of `dialtone_core::remote`: call control the web asks of this node, carried
//! out on this node's Asterisk, one request at a time per call in the order they came.

use dialtone_core::vocabulary::AgentState;
use std::time::Duration;

use dialtone_asterisk::ami::AmiError;
use dialtone_core::bus::Bus;
use dialtone_core::live::{LiveEvent, PG_CHANNEL};
use dialtone_core::remote::{self, Command, Declined, Reply, Request};
use futures::StreamExt;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::control::{self, Control, ControlError};

/// Takes this node's control requests until `shutdown`, resubscribing if the bus drops; and
/// hangs up the phone of every agent session of this node that ends ([`follow_logouts`]).
pub async fn serve(bus: Bus, control: Control, node: String, shutdown: CancellationToken) {
    tokio::spawn(follow_logouts(
        control.clone(),
        node.clone(),
        shutdown.clone(),
    ));
    let channel = remote::channel(&node);
    while !shutdown.is_cancelled() {
        let mut requests = match bus.subscribe::<Request>(&channel).await {
            Ok(requests) => requests,
            Err(e) => {
                tracing::error!(error = %e, %channel, "cannot take control requests; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        tracing::info!(%channel, "taking call-control requests");
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = requests.next() => next,
            };
            match next {
                Some(Ok(request)) => {
                    let (bus, control, node) = (bus.clone(), control.clone(), node.clone());
                    let span = tracing::info_span!("control", op = request.command.op());
                    tokio::spawn(
                        async move {
                            let result = carry_out(&control, &node, request.command)
                                .await
                                .map_err(|e| {
                                    let declined = e.declined();
                                    match declined {
                                        // Something failed here: the detail is for the log.
                                        Declined::PhoneSystem | Declined::Database => {
                                            tracing::warn!(error = %e, %declined, "control request failed")
                                        }
                                        _ => tracing::info!(reason = %e, "control request refused"),
                                    }
                                    declined
                                });
                            if let Err(e) = bus.publish(&request.reply_to, &Reply { result }).await
                            {
                                tracing::warn!(error = %e, "control reply not sent");
                            }
                        }
                        .instrument(span),
                    );
                }
                Some(Err(e)) => tracing::warn!(error = %e, "unreadable control request skipped"),
                None => break,
            }
        }
    }
}

/// Hangs up the phone of each agent session of this node as it ends, however it ends: the
/// agent logging out, a supervisor, or access revoked from the admin, the API or the CLI
/// (`core::users::end_access`), where nobody else speaks to this node's Asterisk. The news is
/// the session's own change (`dialtone_live`); a phone already gone is what was wanted.
pub async fn follow_logouts(control: Control, node: String, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let mut listener = match PgListener::connect_with(&control.pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for agents' logouts; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(e) = listener.listen(PG_CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN for agents' logouts failed; retrying");
            continue;
        }
        loop {
            let notification = tokio::select! {
                _ = shutdown.cancelled() => return,
                n = listener.recv() => n,
            };
            let payload = match notification {
                Ok(n) => n.payload().to_string(),
                Err(e) => {
                    tracing::warn!(error = %e, "logout listener dropped; reconnecting");
                    break;
                }
            };
            let Ok(LiveEvent::Agent {
                session_id,
                state,
                node: Some(of),
                ..
            }) = serde_json::from_str::<LiveEvent>(&payload)
            else {
                continue;
            };
            if state != AgentState::LoggedOut || of != node {
                continue;
            }
            let phone: Result<Option<String>, sqlx::Error> =
                // Not when the phone already serves a new session (logged out and back in).
                sqlx::query_scalar(
                    "SELECT s.phone_dial_string FROM agent_sessions s WHERE s.id = $1
                       AND NOT EXISTS (SELECT 1 FROM agent_sessions o WHERE o.phone_dial_string = s.phone_dial_string AND o.logged_out_at IS NULL)",
                )
                .bind(session_id)
                .fetch_optional(&control.pool)
                .await;
            let hung_up = match phone {
                Ok(Some(phone)) => match control::hang_up_agent_phone(&phone) {
                    Ok(action) => match control.ami.send(action).await {
                        Ok(_) | Err(AmiError::Refused { .. }) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    },
                    Err(refused) => Err(refused.to_string()),
                },
                Ok(None) => Ok(()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = hung_up {
                tracing::warn!(agent_session = session_id, error = %e, "the phone of a session that ended was not hung up");
            }
        }
    }
}

async fn carry_out(
    control: &Control,
    node: &str,
    command: Command,
) -> Result<Option<uuid::Uuid>, ControlError> {
    let ami = &control.ami;
    match command {
        Command::RingPhone {
            session_id,
            dial_string,
        } => {
            ami.send(control::ring_agent_phone(session_id, &dial_string)?)
                .await?;
        }
        Command::HangUpPhone { dial_string } => {
            match ami.send(control::hang_up_agent_phone(&dial_string)?).await {
                // No channel to hang up: the phone was not connected. That is what was wanted.
                Ok(_) | Err(AmiError::Refused { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Command::HangUp { call_id } => control.hang_up(call_id).await?,
        Command::TransferToNumber { call_id, e164 } => {
            control
                .blind_transfer_to_number(call_id, &e164, "dialtone-transfer")
                .await?
        }
        Command::TransferToGroup { call_id, did } => {
            control.transfer_to_group(call_id, &did).await?
        }
        Command::Consult {
            call_id,
            e164,
            hold_customer,
        } => return Ok(Some(control.consult(call_id, &e164, hold_customer).await?)),
        Command::CompleteTransfer { call_id } => control.complete_transfer(call_id).await?,
        Command::CancelConsult { call_id } => control.cancel_consult(call_id).await?,
        Command::Hold { call_id } => control.hold(call_id).await?,
        Command::Park { call_id } => {
            control.park(call_id).await?;
        }
        Command::Resume { call_id } => control.resume(call_id).await?,
        Command::Dtmf { call_id, digits } => control.dtmf(call_id, &digits).await?,
        Command::Record { call_id, file } => control.record(call_id, file.as_deref()).await?,
        Command::ManualDial { session_id, target } => {
            return Ok(Some(control.manual_dial(session_id, node, &target).await?))
        }
        Command::Monitor {
            supervisor_dial_string,
            agent_dial_string,
            how,
        } => {
            ami.send(control::monitor(
                &supervisor_dial_string,
                &agent_dial_string,
                how,
            )?)
            .await?;
        }
    }
    Ok(None)
}
