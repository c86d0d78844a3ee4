//! Physical line numbers of CSV records, so that a bad row is reported on the
//! line an editor shows (header = 1).
//!
//! The csv crate's own `Position::line` of a record is the line where the
//! previous record ended: it names the blank line before a row, and after a
//! CRLF it is one short (the `\n` of `\r\n` is only read with the next
//! record). Wrapping the input in a [`LineIndex`] and asking
//! [`record_start_line`] after each read gives the line the record starts on,
//! while the file is streamed (nothing is read whole).

use std::io::{self, Read};

/// Where the newlines are in the two latest chunks read through it.
///
/// The csv parser refills its buffer only once it has consumed all of it, so
/// the end of the record just read always lies in the latest chunk, and the
/// byte before it in that chunk or the one before: two chunks are enough.
pub struct LineIndex<R> {
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
    pub fn new(inner: R) -> Self {
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

/// The physical line (1-based, header = 1) the record just read by `reader`
/// starts on: the line of its last byte, less the newlines inside its quoted
/// fields. `fields` is the record's `as_slice()` (a `ByteRecord`'s or a
/// `StringRecord`'s), `fallback` the csv crate's own line for the record.
pub fn record_start_line<R: Read>(
    reader: &csv::Reader<LineIndex<R>>,
    fields: &[u8],
    fallback: u64,
) -> u64 {
    let end = reader.position().byte();
    let index = reader.get_ref();
    let (Some(before_end), Some(ends_with_newline)) = (
        index.newlines_before(end),
        end.checked_sub(1).and_then(|last| index.is_newline(last)),
    ) else {
        // Unreachable while the parser refills only an empty buffer; the csv
        // crate's own count is the best remaining guess.
        return fallback;
    };
    let inside = memchr::memchr_iter(b'\n', fields).count() as u64;
    1 + before_end - u64::from(ends_with_newline) - inside
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start line of every record of `text`, read through chunks of `chunk` bytes.
    fn lines(text: &str, chunk: usize) -> Vec<u64> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(chunk)
            .from_reader(LineIndex::new(Chunked(text.as_bytes(), chunk)));
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut rec).expect("valid CSV") {
            let fallback = rec.position().map_or(0, |p| p.line());
            out.push(record_start_line(&reader, rec.as_slice(), fallback));
        }
        out
    }

    #[test]
    fn blank_lines_crlf_and_quoted_newlines_keep_physical_lines() {
        let text = "a,b\n1,2\n\n3,4\r\n\"x\ny\",5\n6,7";
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(lines(text, chunk), vec![2, 4, 5, 7], "chunk {chunk}");
        }
    }
}
