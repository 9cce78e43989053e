//! The Originate action for one attempt.

use dialtone_asterisk::ami::Action;
use dialtone_core::campaigns::DialSettings;
use uuid::Uuid;

/// The channel to dial: the campaign's template with `{number}` (dial prefix and the E.164
/// digits without `+`), `{e164}` (with `+`) and `{trunk}` filled in.
pub fn dial_string(settings: &DialSettings, e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    settings
        .dial_template
        .replace("{number}", &format!("{}{digits}", settings.dial_prefix))
        .replace("{e164}", e164)
        .replace("{trunk}", &settings.trunk)
}

/// An asynchronous Originate into `dialtone-outbound`, identified by the attempt's call id
/// (Asterisk's ChannelId, so the channel's Uniqueid is the call id), carrying what the call
/// flow needs as channel variables.
pub fn originate(settings: &DialSettings, call_id: Uuid, campaign_id: i64, lead_id: i64, e164: &str) -> Action {
    let call = call_id.to_string();
    let mut action = Action::new("Originate")
        .field("Channel", dial_string(settings, e164))
        .field("Context", "dialtone-outbound")
        .field("Exten", "s")
        .field("Priority", "1")
        // The FTC asks for at least 15 seconds of ringing; the schema holds ring_timeout_secs to that.
        .field("Timeout", (i64::from(settings.ring_timeout_secs) * 1000).to_string())
        .field("Async", "true")
        .field("ChannelId", &call);
    if let Some(number) = &settings.caller_id_number {
        action = action.field("CallerID", format!("\"{}\" <{number}>", settings.caller_id_name.replace('"', "")));
    }
    action
        .variable("DIALTONE_CALL_ID", &call)
        .variable("DIALTONE_LEAD_ID", &lead_id.to_string())
        .variable("DIALTONE_CAMPAIGN_ID", &campaign_id.to_string())
        .variable("DIALTONE_AMD", if settings.amd_enabled { "yes" } else { "no" })
}
