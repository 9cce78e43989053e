//! A real Asterisk for the end-to-end tests: the one `scripts/lib/asterisk.sh` found or built
//! (`DIALTONE_ASTERISK`, `DIALTONE_ASTERISK_MODULES`), started in a folder of its own with the
//! project's `dialplan/` and `asterisk-conf/` installed as `docs/asterisk.md` tells an
//! operator, unchanged. The harness adds only what an operator's own configuration would: the
//! AMI port, where Dialtone listens for FastAGI, Debian's sounds, Dialtone's default prompts
//! and the callees (`[test-callees]`, `[test-phones]`).
//!
//! Without an Asterisk a test skips: it says so, and appends its name to `DIALTONE_SKIP_LOG`
//! for `scripts/test`'s total. `DIALTONE_REQUIRE_ASTERISK=1` (CI) makes a missing one a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{free_port, Process};

/// The AMI secret `asterisk-conf/manager_dialtone.conf` ships with.
/// How long a parked caller waits in the harness's parking lot before coming back.
pub const PARKING_SECS: u64 = 8;

/// The harness's voicemail box.
pub const MAILBOX: &str = "1000";

pub const AMI_SECRET: &str = "change-me-to-a-long-random-secret";

/// The callees the harness's dialplan answers as, chosen by the last four digits of the number
/// dialed: `+1 201 555 01xx` is a person, `02xx` an answering machine, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// Says "Hello?" and waits, then listens for as long as the call lasts.
    Person,
    /// A long greeting, a beep, and then silence while the message is left.
    Machine,
    /// Answers and says nothing.
    Silence,
    Busy,
    Congestion,
    /// Rings until the caller gives up.
    NoAnswer,
    /// Says "Hello?" and hangs up 3 seconds later, while hearing the safe-harbor message of a
    /// short drop timeout.
    HangsUpEarly,
    /// Rings for 4 seconds, then answers as a person.
    RingsThenAnswers,
}

impl Callee {
    /// The E.164 number that reaches this callee; `n` (0–99) tells numbers of one kind apart.
    pub fn number(self, n: u32) -> String {
        let kind = match self {
            Callee::Person => 1,
            Callee::Machine => 2,
            Callee::Silence => 3,
            Callee::Busy => 4,
            Callee::Congestion => 5,
            Callee::NoAnswer => 6,
            Callee::HangsUpEarly => 7,
            Callee::RingsThenAnswers => 8,
        };
        format!("+1201555{kind:02}{n:02}")
    }
}

/// The campaign dial template that reaches the harness's callees.
pub const CALLEES: &str = "Local/{number}@test-callees";

/// An agent's phone: a Local channel the harness answers and keeps up.
pub fn phone(n: u32) -> String {
    format!("Local/{}@test-phones", 1000 + n)
}

/// The Asterisk to run, if the environment names one.
#[derive(Debug, Clone)]
pub struct Install {
    pub binary: PathBuf,
    pub modules: PathBuf,
}

impl Install {
    /// The Asterisk `scripts/test` found, or `None` after recording that `test` skipped.
    pub fn find(test: &str) -> Option<Install> {
        let binary = std::env::var_os("DIALTONE_ASTERISK").map(PathBuf::from);
        let modules = std::env::var_os("DIALTONE_ASTERISK_MODULES").map(PathBuf::from);
        match (binary, modules) {
            (Some(binary), Some(modules)) if binary.exists() && modules.is_dir() => {
                Some(Install { binary, modules })
            }
            _ => {
                let required = std::env::var("DIALTONE_REQUIRE_ASTERISK").is_ok_and(|v| v == "1");
                assert!(!required, "{test}: DIALTONE_REQUIRE_ASTERISK=1 but no Asterisk is named (DIALTONE_ASTERISK, DIALTONE_ASTERISK_MODULES)");
                eprintln!("skipped {test}: no real Asterisk (scripts/test finds or builds one: ASTERISK_PREFIX, PATH, ASTERISK_SOURCE)");
                if let Some(log) = std::env::var_os("DIALTONE_SKIP_LOG") {
                    use std::io::Write;
                    if let Ok(mut f) = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(log)
                    {
                        let _ = writeln!(f, "{test}");
                    }
                }
                None
            }
        }
    }
}

/// The prompts every instance plays, made once per test binary by `scripts/make-sounds`:
/// Dialtone's defaults and the callees' greetings.
fn prompts() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a folder for the prompts");
        let status = std::process::Command::new(root().join("scripts/make-sounds"))
            .arg(dir.path())
            .args(["dialtone-test/hello", "Hello?"])
            .args([
                "dialtone-test/machine",
                "Hi, you have reached the Smith family. We cannot come to the phone right now. Please leave your name and number after the tone.",
            ])
            .status()
            .expect("runs scripts/make-sounds");
        assert!(status.success(), "scripts/make-sounds failed (it needs espeak-ng and sox; scripts/test installs them)");
        dir
    })
    .path()
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One running Asterisk, stopped when dropped.
pub struct Asterisk {
    install: Install,
    pub dir: tempfile::TempDir,
    pub ami_port: u16,
    process: Option<Process>,
}

impl Asterisk {
    /// Starts an Asterisk whose dialplan hands calls to Dialtone's FastAGI on `agi_port`, and
    /// waits until it is fully booted.
    pub async fn start(install: &Install, agi_port: u16) -> Asterisk {
        // Short: the control socket's path must fit a sockaddr_un.
        let dir = tempfile::Builder::new()
            .prefix("ast")
            .tempdir_in("/tmp")
            .expect("a folder for Asterisk");
        let ami_port = free_port();
        lay_out(dir.path(), install, ami_port, agi_port);
        let mut asterisk = Asterisk {
            install: install.clone(),
            dir,
            ami_port,
            process: None,
        };
        asterisk.run().await;
        asterisk
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("etc/asterisk.conf")
    }

    async fn run(&mut self) {
        let console =
            std::fs::File::create(self.dir.path().join("log/console")).expect("a console log");
        let child = std::process::Command::new(&self.install.binary)
            .args(["-f", "-n", "-C"])
            .arg(self.conf())
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("a console log"))
            .stderr(console)
            .spawn()
            .expect("starts asterisk");
        self.process = Some(Process(child));
        let started = Instant::now();
        loop {
            if self
                .try_cli("core waitfullybooted")
                .await
                .is_some_and(|out| out.contains("fully booted"))
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Asterisk did not boot; its console:\n{}\nits log:\n{}",
                self.console(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        super::wait_listening(self.ami_port, "Asterisk's AMI").await;
    }

    /// Kills Asterisk (a crash: calls and all) and starts it again on the same ports and files.
    pub async fn restart(&mut self) {
        // Process's drop kills and reaps it.
        self.process = None;
        self.run().await;
    }

    /// Restarts Asterisk as an operator does (`core restart now`): every channel is hung up,
    /// then the process starts itself again on the same ports and files.
    pub async fn restart_gracefully(&mut self) {
        // The CLI connection may close before it answers.
        let _ = self.try_cli("core restart now").await;
        let started = Instant::now();
        while self.try_cli("core show uptime").await.is_some() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "Asterisk did not stop for its restart; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        loop {
            if self
                .try_cli("core waitfullybooted")
                .await
                .is_some_and(|out| out.contains("fully booted"))
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "Asterisk did not come back; its console:\n{}\nits log:\n{}",
                self.console(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// From the end of the greeting of the callee dialed at `number` to their joining an
    /// agent's conference, by Asterisk's log (milliseconds): AMD's wait for silence included.
    pub fn greeting_to_agent(&self, number: &str) -> Option<Duration> {
        let digits = number.trim_start_matches('+');
        let log = self.log();
        let time = |line: &str| {
            chrono::NaiveDateTime::parse_from_str(line.get(1..24)?, "%Y-%m-%d %H:%M:%S%.3f").ok()
        };
        // The callee's side says "Hello?", then waits: the greeting has ended.
        let ended = log
            .lines()
            .find(|l| l.contains(&format!("[{digits}@test-callees:4] Wait(")))?;
        // Dialtone's side (the ;1 half in dialtone-outbound) is logged under its call's tag.
        let outbound = log.lines().find(|l| {
            l.contains(&format!("Local/{digits}@test-callees-"))
                && l.contains("@dialtone-outbound:")
        })?;
        let tag = &outbound[outbound.find("[C-")?..][..12];
        let joined = log
            .lines()
            .find(|l| l.contains(tag) && l.contains("Executing Application: (ConfBridge)"))?;
        (time(joined)? - time(ended)?).to_std().ok()
    }

    async fn try_cli(&self, command: &str) -> Option<String> {
        let out = tokio::process::Command::new(&self.install.binary)
            .arg("-C")
            .arg(self.conf())
            .args(["-rx", command])
            .output()
            .await
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// What the CLI prints for `command`.
    pub async fn cli(&self, command: &str) -> String {
        self.try_cli(command)
            .await
            .unwrap_or_else(|| panic!("the Asterisk CLI refused {command:?}"))
    }

    /// Runs `command` until what it prints satisfies `until`, for at most `limit`; returns the
    /// last output either way.
    pub async fn cli_until(
        &self,
        command: &str,
        limit: Duration,
        until: impl Fn(&str) -> bool,
    ) -> String {
        let started = Instant::now();
        loop {
            let out = self.cli(command).await;
            if until(&out) || started.elapsed() > limit {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The channels up now, as `core show channels concise` lists them.
    pub async fn channels(&self) -> Vec<String> {
        self.cli("core show channels concise")
            .await
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The members of a conference, one line each, as `confbridge list` shows them.
    pub async fn conference_members(&self, conference: &str) -> Vec<String> {
        let out = self.cli(&format!("confbridge list {conference}")).await;
        out.lines()
            .filter(|l| l.starts_with("Local/") || l.starts_with("PJSIP/"))
            .map(str::to_string)
            .collect()
    }

    /// Asterisk's own log (`messages`), for assertions on what it said and for failures.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/messages")).unwrap_or_default()
    }

    /// What Asterisk printed on its console (start-up failures land here).
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/console")).unwrap_or_default()
    }
}

/// Writes an operator's installation into `dir`: Asterisk's main files, the project's files
/// copied into `etc/dialtone/` and included from them, and the harness's callees.
fn lay_out(dir: &Path, install: &Install, ami_port: u16, agi_port: u16) {
    let etc = dir.join("etc");
    let project = etc.join("dialtone");
    for sub in [
        "etc/dialtone",
        "lib/sounds",
        "run",
        "log",
        "spool",
        "db",
        "keys",
    ] {
        std::fs::create_dir_all(dir.join(sub)).expect("creates Asterisk's folders");
    }
    let root = root();
    for file in [
        "dialplan/extensions_dialtone.conf",
        "asterisk-conf/confbridge_dialtone.conf",
        "asterisk-conf/manager_dialtone.conf",
    ] {
        let from = root.join(file);
        std::fs::copy(&from, project.join(from.file_name().expect("a file name")))
            .expect("copies the project's Asterisk files");
    }
    // amd.conf has a single section: the project's file replaces Asterisk's.
    std::fs::copy(root.join("asterisk-conf/amd.conf"), etc.join("amd.conf"))
        .expect("copies amd.conf");

    let d = dir.display();
    let write = |name: &str, text: String| {
        std::fs::write(etc.join(name), text).expect("writes an Asterisk file")
    };
    write(
        "asterisk.conf",
        format!(
            "[directories]\nastetcdir => {d}/etc\nastmoddir => {modules}\nastvarlibdir => {d}/lib\nastdbdir => {d}/db\nastkeydir => {d}/keys\n\
             astdatadir => {d}/lib\nastagidir => {d}/lib/agi-bin\nastspooldir => {d}/spool\nastrundir => {d}/run\nastlogdir => {d}/log\n\
             astsbindir => {sbin}\n\n[options]\nentityid = 02:00:00:00:00:01\ntransmit_silence = yes\nhideconnect = yes\n",
            modules = install.modules.display(),
            sbin = install.binary.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        ),
    );
    write("modules.conf", "[modules]\nautoload = yes\n".into());
    // Milliseconds in the log: the tests time the greeting's end to the agent from it.
    write("logger.conf", "[general]\ndateformat = %F %T.%3q\n[logfiles]\nmessages => notice,warning,error,verbose(3)\n".into());
    write("manager.conf", format!("[general]\nenabled = yes\nport = {ami_port}\nbindaddr = 127.0.0.1\n\n#include \"dialtone/manager_dialtone.conf\"\n"));
    write(
        "confbridge.conf",
        "#include \"dialtone/confbridge_dialtone.conf\"\n".into(),
    );
    write(
        "musiconhold.conf",
        "[default]\nmode = files\ndirectory = moh\n".into(),
    );
    // The carrier `dialtone-transfer` dials out on (DIALTONE_TRUNK=carrier): a PJSIP trunk
    // back to this Asterisk, whose calls from it land in the callees.
    let sip = free_port();
    write(
        "pjsip.conf",
        format!(
            "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:{sip}\n\n\
             [carrier]\ntype = endpoint\ntransport = transport-udp\ncontext = test-callees\ndisallow = all\nallow = ulaw\naors = carrier\n\n\
             [carrier]\ntype = aor\ncontact = sip:127.0.0.1:{sip}\n\n\
             [carrier-identify]\ntype = identify\nendpoint = carrier\nmatch = 127.0.0.1\n"
        ),
    );
    for empty in [
        "queues.conf",
        "cdr.conf",
        "features.conf",
        "http.conf",
        "rtp.conf",
        "indications.conf",
    ] {
        write(empty, String::new());
    }
    // A mailbox for inbound groups whose callers leave a message.
    write(
        "voicemail.conf",
        format!("[general]\nformat = wav\n\n[default]\n{MAILBOX} => 4242,Sales queue\n"),
    );
    // The stock lot, with a short parkingtime so a test sees a parked caller come back.
    write("res_parking.conf", format!("[general]\n\n[default]\nparkext => 700\nparkpos => 701-720\ncontext => parkedcalls\nparkingtime => {PARKING_SECS}\n"));
    write("indications.conf", "[general]\ncountry = us\n\n[us]\ndescription = United States\nringcadence = 2000,4000\ndial = 350+440\nbusy = 480+620/500,0/500\nring = 440+480/2000,0/4000\ncongestion = 480+620/250,0/250\n".into());
    write("extensions.conf", extensions(agi_port));

    // Asterisk reads its XML documentation at start (Stasis will not start without it).
    let documentation = [
        "../var/lib/asterisk/documentation",
        "../share/asterisk/documentation",
    ]
    .iter()
    .filter_map(|rel| {
        install
            .binary
            .parent()
            .and_then(|sbin| sbin.parent())
            .map(|root| root.join(rel.trim_start_matches("../")))
    })
    .chain([
        PathBuf::from("/usr/share/asterisk/documentation"),
        PathBuf::from("/var/lib/asterisk/documentation"),
    ])
    .find(|p| p.is_dir())
    .expect("Asterisk's XML documentation (var/lib/asterisk/documentation of its install)");
    std::os::unix::fs::symlink(documentation, dir.join("lib/documentation"))
        .expect("links the documentation");

    // Sounds: Debian's core prompts and music, Dialtone's defaults and the callees' greetings.
    let en = dir.join("lib/sounds/en");
    std::fs::create_dir_all(&en).expect("a sounds folder");
    // `en` is an alternative only the metapackage sets up; the gsm package alone has the folder
    // by its voice's name.
    let debian = [
        "/usr/share/asterisk/sounds/en",
        "/usr/share/asterisk/sounds/en_US_f_Allison",
    ]
    .into_iter()
    .find(|d| Path::new(d).is_dir());
    if let Some(Ok(entries)) = debian.map(std::fs::read_dir) {
        for entry in entries.flatten() {
            let _ = std::os::unix::fs::symlink(entry.path(), en.join(entry.file_name()));
        }
    }
    for sub in ["dialtone", "dialtone-test"] {
        let _ = std::os::unix::fs::symlink(prompts().join(sub), en.join(sub));
    }
    let _ = std::os::unix::fs::symlink("/usr/share/asterisk/moh", dir.join("lib/moh"));
}

/// The operator's `extensions.conf`: the project's dialplan included unchanged, Dialtone's
/// FastAGI address for this test, and the callees a carrier would reach.
fn extensions(agi_port: u16) -> String {
    format!(
        r#"[general]
static = yes
writeprotect = yes

#include "dialtone/extensions_dialtone.conf"

; This test's Dialtone listens on a port of its own.
[globals]
DIALTONE_AGI = agi://127.0.0.1:{agi_port}

; The far end of a campaign's calls, by the number's last four digits.
[test-callees]
; A person: "Hello?", then the silence of someone listening.
exten => _1NXXNXX01XX,1,Answer()
 same => n,Wait(0.4)
 same => n,Playback(dialtone-test/hello)
 same => n,Wait(3600)
; An answering machine: a long greeting and a beep, then silence while a message is left.
exten => _1NXXNXX02XX,1,Answer()
 same => n,Wait(0.4)
 same => n,Playback(dialtone-test/machine)
 same => n,Playback(beep)
 same => n,Wait(60)
exten => _1NXXNXX03XX,1,Answer()
 same => n,Wait(3600)
exten => _1NXXNXX04XX,1,Busy(10)
exten => _1NXXNXX05XX,1,Congestion(10)
exten => _1NXXNXX06XX,1,Ringing()
 same => n,Wait(3600)
exten => _1NXXNXX07XX,1,Answer()
 same => n,Wait(0.4)
 same => n,Playback(dialtone-test/hello)
 same => n,Wait(3)
 same => n,Hangup()
exten => _1NXXNXX08XX,1,Ringing()
 same => n,Wait(4)
 same => n,Answer()
 same => n,Wait(0.4)
 same => n,Playback(dialtone-test/hello)
 same => n,Wait(3600)

; An agent's phone: answers and stays up until Dialtone hangs it up.
[test-phones]
exten => _1XXX,1,Answer()
 same => n,Wait(36000)
"#
    )
}
