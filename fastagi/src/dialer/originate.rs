//! The Originate action for one attempt.

use dialtone_asterisk::ami::Action;
use dialtone_core::asterisk_values::{check, Kind, Refused};
use dialtone_core::campaigns::DialSettings;
use uuid::Uuid;

/// The channel to dial: the campaign's template with `{number}` (dial prefix and the E.164
/// digits without `+`), `{e164}` (with `+`) and `{trunk}` filled in; refused unless it is one
/// dial string and the number is a number.
pub fn dial_string(settings: &DialSettings, e164: &str) -> Result<String, Refused> {
    let digits = dialtone_core::asterisk_values::dialed_digits(e164)?;
    let dial = settings
        .dial_template
        .replace(
            "{number}",
            &format!(
                "{}{digits}",
                check(Kind::DialPrefix, &settings.dial_prefix)?
            ),
        )
        .replace("{e164}", e164)
        .replace("{trunk}", check(Kind::Trunk, &settings.trunk)?);
    check(Kind::DialString, &dial)?;
    Ok(dial)
}

/// The caller ID a campaign's calls present, `"name" <number>`, if it sets a number.
pub fn caller_id(settings: &DialSettings) -> Result<Option<String>, Refused> {
    let Some(number) = &settings.caller_id_number else {
        return Ok(None);
    };
    let name = check(Kind::CallerIdName, &settings.caller_id_name)?;
    Ok(Some(format!(
        "\"{name}\" <{}>",
        check(Kind::CallerIdNumber, number)?
    )))
}

/// An asynchronous Originate into `dialtone-outbound`, identified by the attempt's call id
/// (Asterisk's ChannelId, so the channel's Uniqueid is the call id), carrying what the call
/// flow needs as channel variables.
pub fn originate(
    settings: &DialSettings,
    call_id: Uuid,
    campaign_id: i64,
    lead_id: i64,
    e164: &str,
) -> Result<Action, Refused> {
    let call = call_id.to_string();
    let mut action = Action::new("Originate")
        .field("Channel", dial_string(settings, e164)?)
        .field("Context", "dialtone-outbound")
        .field("Exten", "s")
        .field("Priority", "1")
        // The FTC asks for at least 15 seconds of ringing; the schema holds ring_timeout_secs to that.
        .field(
            "Timeout",
            (i64::from(settings.ring_timeout_secs) * 1000).to_string(),
        )
        .field("Async", "true")
        .field("ChannelId", &call);
    if let Some(caller_id) = caller_id(settings)? {
        action = action.field("CallerID", caller_id);
    }
    Ok(action
        .variable("DIALTONE_CALL_ID", &call)
        .variable("DIALTONE_LEAD_ID", &lead_id.to_string())
        .variable("DIALTONE_CAMPAIGN_ID", &campaign_id.to_string())
        .variable(
            "DIALTONE_AMD",
            if settings.amd_enabled { "yes" } else { "no" },
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(template: &str, name: &str) -> DialSettings {
        DialSettings {
            active: true,
            dial_method: dialtone_core::vocabulary::DialMethod::Predictive,
            dial_ratio: 1.0,
            max_lines: None,
            max_calls_per_second: 10.0,
            trunk_channels: None,
            ring_timeout_secs: 20,
            dial_template: template.into(),
            trunk: "carrier".into(),
            dial_prefix: "9".into(),
            caller_id_number: Some("+12125550100".into()),
            caller_id_name: name.into(),
            abandon_cap_pct: 3.0,
            amd_enabled: true,
            drop_timeout_secs: 2.0,
            amd_false_positive_pct: 0.0,
            hourly_abandon_cap_pct: None,
            hopper_size: 0,
        }
    }

    #[test]
    fn a_dial_is_built_from_safe_values_only() {
        let good = originate(
            &settings("PJSIP/{number}@{trunk}", "Acme"),
            Uuid::nil(),
            1,
            2,
            "+12125550123",
        )
        .expect("safe");
        let text = good.encode("a").expect("encodes");
        assert!(
            text.contains("Channel: PJSIP/912125550123@carrier\r\n")
                && text.contains("CallerID: \"Acme\" <+12125550100>\r\n"),
            "{text}"
        );
        for (template, name, number) in [
            (
                "PJSIP/{number}@{trunk}&Local/1@evil",
                "Acme",
                "+12125550123",
            ),
            ("PJSIP/{number}@{trunk}", "Acme\" <1>", "+12125550123"),
            ("PJSIP/{number}@{trunk}", "Acme", "+1212555,0123"),
        ] {
            assert!(
                originate(&settings(template, name), Uuid::nil(), 1, 2, number).is_err(),
                "{template} {name} {number}"
            );
        }
    }
}
