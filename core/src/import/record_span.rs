//! The file as the CSV parser reads it, cut off once one record has run on too far.
//!
//! The parser holds a record whole until it ends, and a quote left open makes everything up to
//! the next quote one record: in a file of millions of lines, that could be the rest of the
//! file. Records up to [`MAX_RECORD_SPAN`] are read and then rejected as rows (the report names
//! their line); past it the import stops, naming the line the record began on. So an import
//! holds at most about that much of the file at once, whatever the file.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// How far one record may run, in bytes of the file, before the import stops. Far above any
/// real row (those over [`super::MAX_RECORD_BYTES`] are rejected anyway), and a few times below
/// the importer's memory budget.
pub const MAX_RECORD_SPAN: u64 = 32 * 1024 * 1024;

/// Where the record being read began, as the reading loop learns it after each record.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordStart {
    /// Byte offset in the file.
    pub byte: u64,
    /// Line number (1 = the header).
    pub line: u64,
}

/// A reader that fails once it has handed out more than [`MAX_RECORD_SPAN`] bytes past the
/// start of the current record.
pub struct RecordSpan<R> {
    inner: R,
    handed_out: u64,
    start: Rc<Cell<RecordStart>>,
    /// Set when the bound cut the file off, so the caller can tell that from a read error.
    tripped: Rc<Cell<Option<RecordStart>>>,
}

/// The reading loop's side: tells the bound where each record begins and asks whether it tripped.
#[derive(Clone)]
pub struct SpanHandle {
    start: Rc<Cell<RecordStart>>,
    tripped: Rc<Cell<Option<RecordStart>>>,
}

impl SpanHandle {
    /// The next record begins here.
    pub fn record_starts(&self, at: RecordStart) {
        self.start.set(at);
    }

    /// Where the record began that ran past the bound, if one did.
    pub fn tripped(&self) -> Option<RecordStart> {
        self.tripped.get()
    }
}

impl<R: Read> RecordSpan<R> {
    pub fn new(inner: R) -> (Self, SpanHandle) {
        let handle = SpanHandle {
            start: Rc::new(Cell::new(RecordStart { byte: 0, line: 1 })),
            tripped: Rc::new(Cell::new(None)),
        };
        (
            Self {
                inner,
                handed_out: 0,
                start: handle.start.clone(),
                tripped: handle.tripped.clone(),
            },
            handle,
        )
    }
}

impl<R: Read> Read for RecordSpan<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let start = self.start.get();
        if self.handed_out.saturating_sub(start.byte) > MAX_RECORD_SPAN {
            self.tripped.set(Some(start));
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record runs on past {} MiB", MAX_RECORD_SPAN >> 20),
            ));
        }
        let n = self.inner.read(buf)?;
        self.handed_out += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_off_one_record_not_the_file() {
        let file = vec![b'x'; (MAX_RECORD_SPAN as usize) * 3];
        let (mut span, handle) = RecordSpan::new(&file[..]);
        let mut buf = vec![0u8; 1 << 20];
        let mut read = 0u64;
        // Records that keep ending: the whole file goes through.
        while read < file.len() as u64 {
            read += span.read(&mut buf).expect("within the bound") as u64;
            handle.record_starts(RecordStart {
                byte: read,
                line: 2,
            });
        }
        assert_eq!(span.read(&mut buf).expect("end"), 0);
        assert!(handle.tripped().is_none());

        // One record that never ends: cut off a little past the bound.
        let (mut span, handle) = RecordSpan::new(&file[..]);
        let mut read = 0u64;
        let err = loop {
            match span.read(&mut buf) {
                Ok(n) => read += n as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            read > MAX_RECORD_SPAN && read <= MAX_RECORD_SPAN + (1 << 20),
            "{read}"
        );
        assert_eq!(handle.tripped().map(|s| s.line), Some(1));
    }
}
