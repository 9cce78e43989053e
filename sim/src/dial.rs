//! An Originate played out: the dial's events in the order Asterisk 22 reports them, then the
//! answered channel's life in the dialplan — its AGI scripts, conferences, hold, parking,
//! bridges and transfers as the manager moves it — until it hangs up and its hangup handler
//! (`call-end`) runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::agi_leg::{self, Ended, Leg};
use crate::ami_server::Shared;
use crate::channels::{channel_lines, Goto, Handle, Place, Registry, Why};
use crate::model::{Callee, Verdict};

/// A long time: agents' phones, third parties and supervisors stay until hung up.
const FOREVER: Duration = Duration::from_secs(24 * 3600);
/// Asterisk's default lot's `parkingtime`.
const PARKINGTIME: Duration = Duration::from_secs(45);

/// What the Originate dials into, from its Context or Application.
enum Kind {
    /// `dialtone-agent`: an agent's phone, nailed into their conference by `agent-login`.
    AgentPhone,
    /// `dialtone-manual`: a callee straight into the conference `DIALTONE_CONFERENCE`.
    Manual,
    /// `dialtone-conference`: a third party (consultation, three-way) into the conference.
    ThirdParty(String),
    /// Application ChanSpy: a supervisor's phone listening to an agent.
    Spy(String),
    /// Anything else (`dialtone-outbound`): a callee whose answer runs `outbound` with AMD.
    Callee,
}

/// Where a channel goes next.
enum Step {
    Agi {
        script: String,
        args: Vec<String>,
    },
    At(Place),
    /// The parking lot, until the timeout brings the call back: to `back_to` (Park()'s `c`
    /// option) or where it was parked from.
    Park {
        timeout: Duration,
        back_to: Option<Place>,
    },
    End,
}

type Fields = Vec<(String, String)>;

fn get<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

pub async fn originate(action: Fields, shared: Arc<Shared>) {
    let registry = &shared.registry;
    let id = get(&action, "ActionID").unwrap_or_default().to_string();
    let dial = get(&action, "Channel").unwrap_or_default().to_string();
    let n = shared.next_channel();
    let uniqueid = get(&action, "ChannelId")
        .map(str::to_string)
        .unwrap_or_else(|| format!("sim-{n}"));
    let name = format!("{dial}-{n:08x}");
    let mut variables: HashMap<String, String> = action
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Variable"))
        .filter_map(|(_, v)| {
            v.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let kind = match (get(&action, "Context"), get(&action, "Application")) {
        (_, Some(app)) if app.eq_ignore_ascii_case("ChanSpy") => Kind::Spy(
            get(&action, "Data")
                .unwrap_or_default()
                .split(',')
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        (Some("dialtone-agent"), _) => Kind::AgentPhone,
        (Some("dialtone-manual"), _) => Kind::Manual,
        (Some("dialtone-conference"), _) => {
            Kind::ThirdParty(get(&action, "Exten").unwrap_or_default().to_string())
        }
        _ => Kind::Callee,
    };
    let (callee, timeout) = {
        let mut model = shared.model();
        // A day at most: a larger Timeout means "as long as it takes" and must not overflow.
        let timeout = model.scaled(
            Duration::from_millis(
                get(&action, "Timeout")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(30_000),
            )
            .min(FOREVER),
        );
        let callee = match kind {
            Kind::AgentPhone | Kind::Spy(_) => Callee::Human {
                ring: Duration::from_millis(100),
                talk: FOREVER,
                patience: None,
                amd: Verdict::Human,
            },
            Kind::ThirdParty(_) => Callee::Human {
                ring: model.scaled(Duration::from_secs(2)),
                talk: FOREVER,
                patience: None,
                amd: Verdict::Human,
            },
            Kind::Manual | Kind::Callee => model.callee_for(&dial),
        };
        (callee, timeout)
    };
    // As Asterisk 22 words it: a failed dial names the dial string, an answered one its
    // channel; the dialplan target and caller id follow.
    let (context, exten) = (
        get(&action, "Context").unwrap_or_default().to_string(),
        get(&action, "Exten").unwrap_or_default().to_string(),
    );
    let response = |ok: bool, reason: u8| {
        format!(
            "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: {}\r\nChannel: {}\r\nContext: {context}\r\nExten: {exten}\r\nReason: {reason}\r\nUniqueid: {uniqueid}\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n",
            if ok { "Success" } else { "Failure" },
            if ok { &name } else { &dial }
        )
    };
    // The dial's lifecycle in the order Asterisk 22 reports it
    // (`ami/originate-failures-and-errors.jsonl`): the channel and its dial begin at once; a
    // busy or congested far end ends the dial before the OriginateResponse; an unanswered one
    // hangs up (cause 19) before it; an answer is reported, then the dial's end.
    let state = |event: &str, extra: &str| {
        format!("Event: {event}\r\nPrivilege: call,all\r\nChannel: {name}\r\nUniqueid: {uniqueid}\r\nLinkedid: {uniqueid}\r\n{extra}\r\n")
    };
    let dial_end = |status: &str| {
        format!(
            "Event: DialEnd\r\nPrivilege: call,all\r\nDestChannel: {name}\r\nDestUniqueid: {uniqueid}\r\nDestLinkedid: {uniqueid}\r\nDialStatus: {status}\r\n\r\n"
        )
    };
    let hangup_event = |cause: u8, text: &str| {
        state(
            "Hangup",
            &format!("Cause: {cause}\r\nCause-txt: {text}\r\n"),
        )
    };
    if let Some(number) = get(&action, "CallerID") {
        variables.insert("CALLERID(all)".into(), number.to_string());
    }
    // The channel exists from the dial's start: CoreShowChannels lists it ringing, and a Hangup
    // reaches it.
    let mut handle = registry.add(&name, &uniqueid, variables);
    registry.emit(state(
        "Newchannel",
        "ChannelState: 0\r\nChannelStateDesc: Down\r\n",
    ));
    registry.emit(format!(
        "Event: DialBegin\r\nPrivilege: call,all\r\nDestChannel: {name}\r\nDestUniqueid: {uniqueid}\r\nDestLinkedid: {uniqueid}\r\nDialString: {dial}\r\n\r\n"
    ));
    let ringing = state(
        "Newstate",
        "ChannelState: 5\r\nChannelStateDesc: Ringing\r\n",
    );
    let end_dial = |events: &[String]| {
        registry.remove(&name);
        for e in events {
            registry.emit(e.clone());
        }
    };
    // A hangup while it rings ends the dial as Asterisk reports it: cause 16, then the
    // OriginateResponse's "hung up" reason 1.
    let cancelled = [hangup_event(16, "Normal Clearing"), response(false, 1)];
    let (ring, talk, patience, amd) = match callee {
        Callee::Busy { ring } => {
            return if rings(&mut handle, ring).await {
                end_dial(&[
                    dial_end("BUSY"),
                    response(false, 5),
                    hangup_event(0, "Unknown"),
                ])
            } else {
                end_dial(&cancelled)
            };
        }
        Callee::Congestion { ring } => {
            return if rings(&mut handle, ring).await {
                end_dial(&[
                    dial_end("CONGESTION"),
                    hangup_event(0, "Unknown"),
                    response(false, 8),
                ])
            } else {
                end_dial(&cancelled)
            };
        }
        Callee::NoAnswer => {
            registry.emit(ringing);
            return if rings(&mut handle, timeout).await {
                end_dial(&[
                    hangup_event(19, "User alerting, no answer"),
                    response(false, 3),
                ])
            } else {
                end_dial(&cancelled)
            };
        }
        Callee::Human {
            ring,
            talk,
            patience,
            amd,
        } => (ring, talk, patience, amd),
        // A machine's greeting and beep take a while; a message left after it ends the call.
        Callee::Machine { ring, amd } => (
            ring,
            shared.model().scaled(Duration::from_secs(20)),
            None,
            amd,
        ),
    };
    if ring >= timeout {
        registry.emit(ringing);
        return if rings(&mut handle, timeout).await {
            end_dial(&[
                hangup_event(19, "User alerting, no answer"),
                response(false, 3),
            ])
        } else {
            end_dial(&cancelled)
        };
    }
    if !rings(&mut handle, ring).await {
        return end_dial(&cancelled);
    }
    registry.emit(state(
        "Newstate",
        "ChannelState: 6\r\nChannelStateDesc: Up\r\n",
    ));
    registry.emit(response(true, 4));
    registry.emit(dial_end("ANSWER"));

    let talk_until = Instant::now() + talk.min(FOREVER);
    if let Some(patience) = patience {
        // A caller nobody speaks to hangs up (the silence an abandon is).
        let (shared, name) = (shared.clone(), name.clone());
        tokio::spawn(async move {
            tokio::time::sleep(patience).await;
            if !shared.registry.ever_joined(&name) {
                shared.registry.hang_up(&name);
            }
        });
    }
    let (first, call_end) = match kind {
        Kind::AgentPhone => {
            let session = registry
                .getvar(&name, "DIALTONE_AGENT_SESSION")
                .unwrap_or_default();
            (
                Step::Agi {
                    script: format!("agent-login?session={session}"),
                    args: Vec::new(),
                },
                false,
            )
        }
        Kind::Callee => {
            let campaign = registry
                .getvar(&name, "DIALTONE_CAMPAIGN_ID")
                .unwrap_or_default();
            (
                Step::Agi {
                    script: format!("outbound?campaign={campaign}"),
                    args: amd.agi_args().iter().map(|s| s.to_string()).collect(),
                },
                true,
            )
        }
        Kind::Manual => {
            // `dialtone-manual` records into DIALTONE_RECORDING when it is set.
            if let Some(file) = registry
                .getvar(&name, "DIALTONE_RECORDING")
                .filter(|f| !f.is_empty())
            {
                registry.monitor(&name, Some(&file));
            }
            (
                Step::At(Place::Conference(
                    registry
                        .getvar(&name, "DIALTONE_CONFERENCE")
                        .unwrap_or_default(),
                )),
                true,
            )
        }
        Kind::ThirdParty(conference) => (Step::At(Place::Conference(conference)), false),
        Kind::Spy(target) => (Step::At(Place::Spying(target)), false),
    };
    live(&shared, &mut handle, first, talk_until).await;

    // The hangup handler the dialplan pushed on calls (`dialtone-call-end`).
    registry.enter(&name, Place::Dialplan);
    if call_end {
        // DIALSTATUS stays unset unless a Dial() ran on the channel (a blind transfer's): an
        // originated channel has none in Asterisk, and `call-end` must do without it.
        registry.setvar(&name, "HANGUPCAUSE", "16");
        let h = Leg {
            script: "call-end".into(),
            args: Vec::new(),
            talk_until: Instant::now(),
            dead: true,
        };
        if let Err(e) = agi_leg::run(shared.agi, registry, &mut handle, h).await {
            tracing::warn!(channel = %name, error = %e, "hangup handler AGI failed");
        }
    }
    registry.remove(&name);
    registry.emit(format!(
        "Event: Hangup\r\nPrivilege: call,all\r\n{}Cause: 16\r\nCause-txt: Normal Clearing\r\n\r\n",
        channel_lines(&name, &uniqueid)
    ));
}

/// Rings for `d`; false when the channel was hung up meanwhile.
async fn rings(handle: &mut Handle, d: Duration) -> bool {
    !handle.until_hung_up(Instant::now() + d).await
}

/// The channel's life from its answer to its hangup.
async fn live(shared: &Shared, handle: &mut Handle, mut step: Step, talk_until: Instant) {
    let registry = &shared.registry;
    // Where a parked call comes back to.
    let mut came_from = Place::Hold;
    loop {
        step = match step {
            Step::End => return,
            Step::Agi { script, args } => {
                let inbound = script.starts_with("inbound");
                let outbound = script.starts_with("outbound");
                registry.enter(&handle.name, Place::Dialplan);
                let leg = Leg {
                    script,
                    args,
                    talk_until,
                    dead: false,
                };
                match agi_leg::run(shared.agi, registry, handle, leg).await {
                    Ok(Ended::Moved(goto)) => next(registry, &handle.name, goto),
                    Ok(Ended::HungUp) => Step::End,
                    Err(e) => {
                        tracing::warn!(channel = %handle.name, error = %e, "AGI leg failed");
                        Step::End
                    }
                    Ok(Ended::Finished) => {
                        let result = registry
                            .getvar(&handle.name, "DIALTONE_RESULT")
                            .unwrap_or_default();
                        let transfer = registry
                            .getvar(&handle.name, "DIALTONE_TRANSFER")
                            .unwrap_or_default();
                        if inbound && result == "transfer" && !transfer.is_empty() {
                            Step::At(Place::Away(transfer))
                        } else {
                            if outbound && (result.is_empty() || result == "error") {
                                // The dialplan's fallback: the safe-harbor message, then Hangup().
                                tracing::warn!(channel = %handle.name, "outbound AGI left no result: the dialplan plays the safe-harbor message");
                            }
                            Step::End
                        }
                    }
                }
            }
            Step::Park { timeout, back_to } => {
                let timeout = timeout.min(FOREVER);
                let back_to = back_to.unwrap_or_else(|| came_from.clone());
                let space = registry.park_space();
                registry.enter(&handle.name, Place::Parked(space));
                let back = Instant::now() + shared.model().scaled(timeout);
                match handle.stay(registry, back.min(talk_until)).await {
                    Why::Moved(goto) => next(registry, &handle.name, goto),
                    Why::Talked if back < talk_until => {
                        // Unanswered, the call comes back: where Park() said, or where it was
                        // parked from.
                        registry.park_timed_out(&handle.name);
                        Step::At(back_to)
                    }
                    Why::Talked | Why::HungUp => Step::End,
                }
            }
            Step::At(place) => {
                match &place {
                    Place::Conference(_) | Place::Hold => came_from = place.clone(),
                    Place::Away(number) => transfer_out(registry, handle, number),
                    _ => {}
                }
                registry.enter(&handle.name, place.clone());
                match handle.stay(registry, talk_until).await {
                    Why::Moved(goto) => next(registry, &handle.name, goto),
                    Why::Talked | Why::HungUp => {
                        // A two-party bridge ends with either party.
                        if let Place::Bridged(other) = &place {
                            registry.hang_up(other);
                        }
                        Step::End
                    }
                }
            }
        };
    }
}

/// Where a manager's move sends the channel, by the dialplan's contexts.
fn next(registry: &Registry, name: &str, goto: Goto) -> Step {
    match goto {
        Goto::Dialplan { context, exten } => match context.as_str() {
            "dialtone-hold" => Step::At(Place::Hold),
            "dialtone-conference" => Step::At(Place::Conference(exten)),
            // Park(,sc(dialtone-conference,${EXTEN},1)) in the lot's time (45 s by default).
            "dialtone-park" => Step::Park {
                timeout: PARKINGTIME,
                back_to: Some(Place::Conference(exten)),
            },
            "dialtone-inbound" => Step::Agi {
                script: format!("inbound?did={exten}"),
                args: Vec::new(),
            },
            // A completed transfer: Bridge() with the channel DIALTONE_BRIDGE_TO names (by its
            // Uniqueid), who leaves for the two-party bridge too.
            "dialtone-transferred" => {
                let target = registry
                    .getvar(name, "DIALTONE_BRIDGE_TO")
                    .unwrap_or_default();
                match registry
                    .list()
                    .into_iter()
                    .find(|(_, uniqueid)| *uniqueid == target)
                {
                    Some((other, _)) => {
                        registry.send_to(&other, Goto::Bridge(name.to_string()));
                        Step::At(Place::Bridged(other))
                    }
                    None => Step::End,
                }
            }
            _ => Step::At(Place::Away(exten)),
        },
        Goto::Bridge(other) => Step::At(Place::Bridged(other)),
        Goto::Park { timeout } => Step::Park {
            timeout,
            back_to: None,
        },
    }
}

/// A blind transfer dials the number from the channel (`dialtone-transfer`'s Dial), which
/// answers.
fn transfer_out(registry: &Registry, handle: &Handle, number: &str) {
    let lines = channel_lines(&handle.name, &handle.uniqueid);
    let dest = format!("PJSIP/{number}@carrier");
    registry.emit(format!("Event: DialBegin\r\nPrivilege: call,all\r\n{lines}DestChannel: {dest}\r\nDialString: {number}@carrier\r\n\r\n"));
    registry.emit(format!("Event: DialEnd\r\nPrivilege: call,all\r\n{lines}DestChannel: {dest}\r\nDialStatus: ANSWER\r\n\r\n"));
    registry.setvar(&handle.name, "DIALSTATUS", "ANSWER");
}
