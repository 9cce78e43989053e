//! The line splitting AGI and AMI share: `\n`-terminated lines (a `\r` before it dropped),
//! read from a growing buffer without rescanning what was already searched, and bounded.

use bytes::BytesMut;

/// Splits lines off a buffer, remembering how far it has looked.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    scanned: usize,
}

/// A line longer than the bound.
#[derive(Debug)]
pub(crate) struct TooLong;

impl LineSplitter {
    /// The next whole line, or None until one has arrived. Bytes that are not UTF-8 (caller
    /// names, variables) become U+FFFD rather than ending the connection.
    pub(crate) fn next_line(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
    ) -> Result<Option<String>, TooLong> {
        match buf[self.scanned..].iter().position(|b| *b == b'\n') {
            Some(offset) => {
                let end = self.scanned + offset;
                self.scanned = 0;
                if end > max {
                    return Err(TooLong);
                }
                let line = buf.split_to(end + 1);
                let text = &line[..end];
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                Ok(Some(String::from_utf8_lossy(text).into_owned()))
            }
            None if buf.len() > max => Err(TooLong),
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }
}
