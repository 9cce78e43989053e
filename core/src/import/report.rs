//! The rejected-rows file: each refused line with its number, the reason, and the row as it was,
//! so the operator can fix the rows and import that file again.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::csv_safety::neutralize;

/// The report holds people's names and numbers: readable by this service's user only.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

pub struct RejectReport {
    path: PathBuf,
    headers: Vec<String>,
    /// Opened at the first rejection: a clean import leaves no file.
    writer: Option<csv::Writer<BufWriter<File>>>,
    pub count: u64,
}

impl RejectReport {
    pub fn new(path: &Path, headers: &[String]) -> Self {
        // A report left by an earlier run of this import is rewritten from its first line.
        let _ = std::fs::remove_file(path);
        Self {
            path: path.to_path_buf(),
            headers: headers.to_vec(),
            writer: None,
            count: 0,
        }
    }

    pub fn reject(
        &mut self,
        line: u64,
        reason: &str,
        record: &csv::ByteRecord,
    ) -> std::io::Result<()> {
        if self.writer.is_none() {
            let mut writer = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(BufWriter::new(private_file(&self.path)?));
            // The header is the uploaded file's too: a column named `=HYPERLINK(…)` is as
            // live in a spreadsheet as a cell.
            let mut header = vec!["line".to_string(), "error".to_string()];
            header.extend(self.headers.iter().map(|h| neutralize(h).into_owned()));
            writer.write_record(&header)?;
            self.writer = Some(writer);
        }
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut row = vec![line.to_string(), neutralize(reason).into_owned()];
        row.extend(
            record
                .iter()
                .map(|cell| neutralize(&String::from_utf8_lossy(cell)).into_owned()),
        );
        writer.write_record(&row)?;
        self.count += 1;
        Ok(())
    }

    /// The file's path when anything was rejected.
    pub fn finish(self) -> std::io::Result<Option<PathBuf>> {
        match self.writer {
            Some(mut writer) => {
                writer.flush()?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}
