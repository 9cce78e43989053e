//! Any text as an environment line or a reply line: parsed or refused, never a panic; and a
//! 200 reply that parses keeps its result text exactly.
#![no_main]

use dialtone_asterisk::agi::reply::{parse_status_line, Reply, StatusLine};
use dialtone_asterisk::agi::AgiEnv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let mut env = AgiEnv::default();
    let _ = env.push_line(&line);
    let _ = env.script_params();
    if let Ok(StatusLine::Reply(Reply::Success(success))) = parse_status_line(&line) {
        assert!(line.starts_with(&format!("200 result={}", success.result)));
        let _ = (success.code(), success.endpos());
    }
});
