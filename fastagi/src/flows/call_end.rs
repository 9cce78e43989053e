//! `call-end`: from the hangup handler the dialplan pushes on every call (`dialtone-call-end`),
//! wherever the channel ends. Closes the call record exactly once with the hang-up
//! cause and dial status.
//!
//! Reads `DIALTONE_CALL_ID`, `HANGUPCAUSE` (the Q.850 cause) and `DIALSTATUS`. Sets nothing:
//! the channel is gone. Outcome: the call row is `ended`; an agent still on it goes to wrap-up
//! (or past it, having dispositioned the call during it), one only reserved for it (the caller
//! left on the way) back to ready.

use std::sync::Arc;

use dialtone_asterisk::agi::{AgiError, TcpSession};
use dialtone_core::calls::{self, Ended};

use super::FlowError;
use crate::context::FlowContext;

pub async fn run(ctx: Arc<FlowContext>, mut session: TcpSession) -> Result<(), AgiError> {
    match close(&ctx, &mut session).await {
        Ok(_) => Ok(()),
        Err(FlowError::Agi(e)) => Err(e),
        Err(e) => {
            tracing::error!(error = %e, "could not close the call record");
            Ok(())
        }
    }
}

async fn close(ctx: &FlowContext, session: &mut TcpSession) -> Result<bool, FlowError> {
    let Some(call_id) = session.get_variable("DIALTONE_CALL_ID").await? else {
        tracing::warn!("call-end without DIALTONE_CALL_ID: nothing to close");
        return Ok(false);
    };
    let call_id = call_id.parse().map_err(|_| {
        FlowError::BadRequest(format!("DIALTONE_CALL_ID {call_id:?} is not a call id"))
    })?;
    let cause = session
        .get_variable("HANGUPCAUSE")
        .await?
        .and_then(|c| c.parse().ok());
    let dial_status = session
        .get_variable("DIALSTATUS")
        .await?
        .filter(|s| !s.is_empty());
    let cause_text = cause.and_then(q850_text);
    let closed = calls::end(
        &ctx.pool,
        call_id,
        &Ended {
            hangup_cause: cause,
            hangup_cause_text: cause_text,
            dial_status: dial_status.as_deref(),
        },
    )
    .await?;
    tracing::info!(%call_id, closed, "call ended");
    // Also when the call was closed before (a transfer): its files are finished only now.
    crate::recordings::measure_later(ctx.pool.clone(), ctx.recordings_dir.clone(), call_id);
    Ok(closed)
}

/// The name of the Q.850 causes a dialer meets (Asterisk's `causes.h`).
fn q850_text(cause: i32) -> Option<&'static str> {
    Some(match cause {
        1 => "UNALLOCATED",
        3 => "NO_ROUTE_DESTINATION",
        16 => "NORMAL_CLEARING",
        17 => "USER_BUSY",
        18 => "NO_USER_RESPONSE",
        19 => "NO_ANSWER",
        21 => "CALL_REJECTED",
        22 => "NUMBER_CHANGED",
        27 => "DESTINATION_OUT_OF_ORDER",
        28 => "INVALID_NUMBER_FORMAT",
        31 => "NORMAL_UNSPECIFIED",
        34 => "NORMAL_CIRCUIT_CONGESTION",
        38 => "NETWORK_OUT_OF_ORDER",
        41 => "NORMAL_TEMPORARY_FAILURE",
        42 => "SWITCH_CONGESTION",
        58 => "BEARERCAPABILITY_NOTAVAIL",
        102 => "RECOVERY_ON_TIMER_EXPIRE",
        127 => "INTERWORKING",
        _ => return None,
    })
}
