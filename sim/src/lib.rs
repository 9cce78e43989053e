//! A PBX that behaves, on the wire, like the Asterisk 22 of `asterisk/tests/fixtures/asterisk-22`: an
//! AMI server that takes Originates and reports their fate, and, for answered calls, a FastAGI
//! client that runs the dialplan's AGI steps against Dialtone (the outbound leg with its AMD
//! verdict, the agent's phone, the `call-end` hangup handler). Callees are drawn from a seeded model, so a
//! run can be repeated exactly.

mod agi_leg;
mod ami_server;
mod channels;
mod dial;
mod model;
pub mod shift;

pub use ami_server::{Pbx, PbxConfig};
pub use model::{Callee, CalleeModel, Verdict};

/// A time zone where it is now between 10:00 and 19:00, for runs that must find callees inside
/// calling hours whatever the hour (tests, the demo's checks).
pub fn daytime_zone() -> Option<&'static str> {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    [
        "Pacific/Kiritimati",
        "Pacific/Auckland",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "Pacific/Honolulu",
        "Pacific/Pago_Pago",
    ]
    .into_iter()
    .find(|z| {
        z.parse::<chrono_tz::Tz>()
            .is_ok_and(|tz| (10..19).contains(&now.with_timezone(&tz).hour()))
    })
}
