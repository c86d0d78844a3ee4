//! Opening input files: transparent gzip, and a byte counter for progress bars.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

/// Where the newlines are in the two latest chunks read through it, so that a
/// CSV record's physical line can be told (see [`CsvFile::next`]).
///
/// The csv crate's own `Position::line` of a record is the line where the
/// previous record ended: it names the blank line before a row, and after a
/// CRLF it is one short (the `\n` of `\r\n` is only read with the next
/// record). The parser refills its buffer only once it has consumed all of it,
/// so the end of the record just read always lies in the latest chunk, and the
/// byte before it in that chunk or the one before.
pub(crate) struct LineIndex<R> {
    inner: R,
    /// Offset of the next byte to be read.
    end: u64,
    /// Where the previous chunk starts (the window's start).
    window_start: u64,
    /// Newlines before `window_start`.
    newlines_before_window: u64,
    /// Offsets of the newlines in the window (previous + latest chunk), ascending.
    newlines: Vec<u64>,
    /// How many of `newlines` belong to the previous chunk.
    in_previous: usize,
    /// Where the latest chunk starts.
    latest_start: u64,
}

impl<R> LineIndex<R> {
    fn new(inner: R) -> Self {
        LineIndex {
            inner,
            end: 0,
            window_start: 0,
            newlines_before_window: 0,
            newlines: Vec::new(),
            in_previous: 0,
            latest_start: 0,
        }
    }

    /// Newlines before byte `offset`; `None` if it lies before the window.
    fn newlines_before(&self, offset: u64) -> Option<u64> {
        (offset >= self.window_start).then(|| {
            self.newlines_before_window + self.newlines.partition_point(|&n| n < offset) as u64
        })
    }

    /// Whether byte `offset` is a `\n`; `None` if it lies outside the window.
    fn is_newline(&self, offset: u64) -> Option<bool> {
        (self.window_start..self.end)
            .contains(&offset)
            .then(|| self.newlines.binary_search(&offset).is_ok())
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            // The latest chunk becomes the previous one; the one before leaves the window.
            self.newlines_before_window += self.in_previous as u64;
            self.newlines.drain(..self.in_previous);
            self.in_previous = self.newlines.len();
            self.window_start = self.latest_start;
            self.latest_start = self.end;
            let base = self.end;
            self.newlines
                .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
            self.end += n as u64;
        }
        Ok(n)
    }
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

    /// The physical line the record just read into `rec` starts on: the line
    /// of its last byte, less the newlines inside its quoted fields.
    fn start_line(&self, rec: &csv::ByteRecord) -> u64 {
        let end = self.rdr.position().byte();
        let index = self.rdr.get_ref();
        let (Some(before_end), Some(ends_with_newline)) = (
            index.newlines_before(end),
            end.checked_sub(1).and_then(|last| index.is_newline(last)),
        ) else {
            // Unreachable while the parser refills only an empty buffer; the
            // csv crate's own count is the best remaining guess.
            return rec.position().map_or(0, |p| p.line());
        };
        let inside = memchr::memchr_iter(b'\n', rec.as_slice()).count() as u64;
        1 + before_end - u64::from(ends_with_newline) - inside
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
