//! Plays the Asterisk side of a recorded AGI transcript (`asterisk/tests/fixtures/asterisk-22/agi`)
//! against a server under test, byte for byte: Asterisk's lines are sent as recorded, and every
//! line the server sends must equal the recorded server line at that point.

#![allow(dead_code)]

use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Step {
    pub from: String,
    pub line: String,
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("DIALTONE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/asterisk-22")
        })
}

pub fn transcript(name: &str) -> Vec<Step> {
    let path = fixtures_dir().join("agi").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

/// Every AGI transcript's file name.
pub fn all_transcripts() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("agi"))
        .expect("fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    names.sort();
    names
}

/// Plays Asterisk: writes its lines, and checks each server line as it arrives. Returns the
/// first difference, if any. Closes the connection at the end, as Asterisk does.
pub async fn play_asterisk<S>(stream: S, steps: &[Step]) -> Result<(), String>
where
    S: tokio::io::AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    for (i, step) in steps.iter().enumerate() {
        if step.from == "asterisk" {
            writer
                .write_all(step.line.as_bytes())
                .await
                .map_err(|e| format!("step {i}: write: {e}"))?;
        } else {
            writer.flush().await.map_err(|e| e.to_string())?;
            let mut line = String::new();
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                reader.read_line(&mut line),
            )
            .await
            .map_err(|_| {
                format!(
                    "step {i}: the server sent nothing; expected {:?}",
                    step.line
                )
            })?
            .map_err(|e| format!("step {i}: read: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "step {i}: the server closed; expected {:?}",
                    step.line
                ));
            }
            if line != step.line {
                return Err(format!(
                    "step {i}: the server sent {line:?}; Asterisk recorded {:?}",
                    step.line
                ));
            }
        }
    }
    writer.shutdown().await.map_err(|e| e.to_string())?;
    Ok(())
}
