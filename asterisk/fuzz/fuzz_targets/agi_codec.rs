//! Arbitrary bytes from "Asterisk", split at arbitrary points: the codec must return frames or
//! errors, never panic, and never hold more than its bounds allow.
#![no_main]

use bytes::BytesMut;
use dialtone_asterisk::agi::codec::{AgiCodec, MAX_LINE_BYTES};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let cut = (split as usize).min(rest.len());
    let mut codec = AgiCodec::new();
    let mut buf = BytesMut::new();
    for chunk in [&rest[..cut], &rest[cut..]] {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(buf.len() <= MAX_LINE_BYTES + chunk.len());
    }
    let _ = codec.decode_eof(&mut buf);
});
