//! Opening input files: transparent gzip, and a byte counter for progress bars.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tripoint_csv_lines::{record_start_line, LineIndex};

use crate::IngestError;

/// Counts bytes read from the underlying file (compressed bytes for `.gz`),
/// publishing them in batches to keep the hot loop free of atomics.
struct CountingReader<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// The stable name a file's cursor is stored under: `file:` + its canonical path.
pub fn canonical_source(path: &Path) -> Result<String, IngestError> {
    let p = path.canonicalize().map_err(|e| IngestError::Io {
        file: path.display().to_string(),
        source: e,
    })?;
    Ok(format!("file:{}", p.display()))
}

/// Open `path` for reading, gunzipping when it starts with the gzip magic
/// (whatever its name), counting raw bytes into `counter`.
pub(crate) fn open(
    path: &Path,
    counter: Option<Arc<AtomicU64>>,
) -> Result<Box<dyn Read + Send>, IngestError> {
    let io_err = |e| IngestError::Io {
        file: path.display().to_string(),
        source: e,
    };
    let mut f = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut f, &mut magic).map_err(io_err)?;
    let head = io::Cursor::new(magic[..n].to_vec());
    let raw = CountingReader {
        inner: head.chain(f),
        counter,
    };
    let raw = BufReader::with_capacity(1 << 20, raw);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(raw),
        )))
    } else {
        Ok(Box::new(raw))
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A short name for error messages: the path as the user gave it.
pub(crate) fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// A CSV file with its header resolved by name (trimmed, case-insensitive).
pub(crate) struct CsvFile {
    rdr: csv::Reader<LineIndex<Box<dyn Read + Send>>>,
    header: Vec<String>,
    pub name: String,
}

/// One step of reading a CSV file.
pub(crate) enum CsvRow {
    /// A record was read into the buffer; the physical line it starts on
    /// (1-based, the header is line 1).
    Row(u64),
    /// The record is not valid CSV for this header (e.g. wrong field count);
    /// the physical line it starts on.
    Malformed(u64, String),
    End,
}

impl CsvFile {
    pub fn open(path: &Path, counter: Option<Arc<AtomicU64>>) -> Result<Self, IngestError> {
        let name = display_name(path);
        let reader = LineIndex::new(open(path, counter)?);
        let mut rdr = csv::ReaderBuilder::new()
            .buffer_capacity(1 << 20)
            .from_reader(reader);
        let header = rdr
            .byte_headers()
            .map_err(|e| csv_fatal(&name, e))?
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        Ok(CsvFile { rdr, header, name })
    }

    pub fn col(&self, name: &str) -> Result<usize, IngestError> {
        self.opt_col(name)
            .ok_or_else(|| IngestError::MissingColumn {
                file: self.name.clone(),
                column: name.to_string(),
            })
    }

    pub fn opt_col(&self, name: &str) -> Option<usize> {
        let name = name.trim().to_ascii_lowercase();
        self.header.iter().position(|h| *h == name)
    }

    pub fn column_name(&self, i: usize) -> &str {
        &self.header[i]
    }

    pub fn next(&mut self, rec: &mut csv::ByteRecord) -> Result<CsvRow, IngestError> {
        match self.rdr.read_byte_record(rec) {
            Ok(true) => Ok(CsvRow::Row(self.start_line(rec))),
            Ok(false) => Ok(CsvRow::End),
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => Err(csv_fatal(&self.name, e)),
                // A record with the wrong number of fields is still read in
                // full into `rec`, and the reader stands at its end.
                csv::ErrorKind::UnequalLengths { .. } => {
                    let line = self.start_line(rec);
                    let message = match e.into_kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => format!("{len} fields where the header has {expected_len}"),
                        other => format!("{other:?}"),
                    };
                    Ok(CsvRow::Malformed(line, message))
                }
                _ => {
                    let line = e.position().map_or(0, |p| p.line());
                    Ok(CsvRow::Malformed(line, e.to_string()))
                }
            },
        }
    }

    /// The physical line the record just read into `rec` starts on.
    fn start_line(&self, rec: &csv::ByteRecord) -> u64 {
        let fallback = rec.position().map_or(0, |p| p.line());
        record_start_line(&self.rdr, rec.as_slice(), fallback)
    }
}

fn csv_fatal(name: &str, e: csv::Error) -> IngestError {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => IngestError::Io {
            file: name.to_string(),
            source,
        },
        other => IngestError::BadLine {
            file: name.to_string(),
            line: 1,
            message: format!("{other:?}"),
        },
    }
}

/// A struct of a CSV file's column indices, found by header name (required
/// columns: `usize`, or an error naming the missing column; optional ones:
/// `Option<usize>`), and its `find(&CsvFile)`. The importers' column sets
/// are declared with it instead of each spelling out the same lookups.
macro_rules! csv_columns {
    ($(#[$m:meta])* $name:ident {
        $($req:ident = $rname:literal,)*
        $(? $opt:ident = $oname:literal,)*
    }) => {
        $(#[$m])*
        struct $name {
            $($req: usize,)*
            $($opt: Option<usize>,)*
        }

        impl $name {
            fn find(csv: &$crate::source::CsvFile) -> Result<$name, $crate::IngestError> {
                Ok($name {
                    $($req: csv.col($rname)?,)*
                    $($opt: csv.opt_col($oname),)*
                })
            }
        }
    };
}
pub(crate) use csv_columns;
