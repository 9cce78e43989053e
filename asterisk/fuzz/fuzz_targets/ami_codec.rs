//! Arbitrary bytes from "Asterisk's manager", split at an arbitrary point, through `AmiCodec`:
//! frames or errors, never a panic, and the buffer within its bound.
#![no_main]

use bytes::BytesMut;
use dialtone_asterisk::ami::codec::{AmiCodec, MAX_LINE_BYTES};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let cut = (split as usize).min(rest.len());
    let mut codec = AmiCodec::new();
    let mut buf = BytesMut::from(&b"Asterisk Call Manager/11.0.0\r\n"[..]);
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
