//! Unnamed temporary files for a trace's append-only logs (the sweep
//! kernel's flows and their payees), written in order during its pass and
//! read back once, in order, at its end: past a size the kernel moves them
//! to its [`tripoint_chain::SpillSink`]s instead of growing them in memory,
//! because at 5×10^8 transfers a full-graph trace's flows (~2 GiB) would sit
//! in memory beside the per-address state that the pass needs, while at the
//! end that state is freed and the flows fit.
//!
//! The trace engine does no I/O (issue 15: "flows … spill to disk"), so the
//! files are made here, and the caller hands [`TempFileSpills`] to the trace
//! in `TraceConfig::spill`. Spilling is never needed for correctness: a file
//! that cannot be written (no temporary directory, disk full) refuses the
//! append, and the kernel stops spilling and keeps its bytes in memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use tripoint_chain::{SpillSink, SpillSinks};

/// Makes a [`SpillFile`] for each sink a trace asks for (in `$TMPDIR`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TempFileSpills;

impl SpillSinks for TempFileSpills {
    fn sink(&self) -> Box<dyn SpillSink> {
        Box::new(SpillFile::default())
    }
}

/// Bytes appended in order to an unnamed temporary file (made at the first
/// append, removed when dropped), read back once.
#[derive(Debug, Default)]
pub struct SpillFile {
    file: Option<File>,
    len: u64,
    failed: bool,
}

impl SpillSink for SpillFile {
    /// Append `bytes`; `false` when they were not written (then nothing of
    /// them is in the file, and no later append is tried).
    fn append(&mut self, bytes: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        if self.file.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(f),
                Err(_) => {
                    self.failed = true;
                    return false;
                }
            }
        }
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                true
            }
            Err(_) => {
                // Cut off what was half written, so the file holds whole
                // appends only.
                let _ = file.set_len(self.len);
                let _ = file.seek(SeekFrom::Start(self.len));
                self.failed = true;
                false
            }
        }
    }

    /// Bytes in the file.
    fn len(&self) -> u64 {
        self.len
    }

    /// Everything appended, in order, handed to `f` in pieces of `piece`
    /// bytes (the last one shorter), so records of a size that divides
    /// `piece` never straddle two pieces; the file is gone afterwards.
    fn read_pieces(
        mut self: Box<Self>,
        piece: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(0))?;
        let mut buf = vec![0u8; piece.max(1)];
        let mut left = self.len;
        while left > 0 {
            let n = (left as usize).min(buf.len());
            file.read_exact(&mut buf[..n])?;
            f(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_bytes_come_back_in_order() {
        let mut s = TempFileSpills.sink();
        let mut want = Vec::new();
        for k in 0..1000u32 {
            let chunk: Vec<u8> = (0..k % 97).map(|i| (i * 31 + k) as u8).collect();
            assert!(s.append(&chunk));
            want.extend_from_slice(&chunk);
        }
        assert_eq!(s.len(), want.len() as u64);
        let mut got = Vec::new();
        s.read_pieces(1000, &mut |p| {
            assert!(p.len() <= 1000);
            got.extend_from_slice(p)
        })
        .unwrap();
        assert_eq!(got, want);
        let mut empty = Vec::new();
        TempFileSpills
            .sink()
            .read_pieces(8, &mut |p| empty.extend_from_slice(p))
            .unwrap();
        assert!(empty.is_empty());
    }
}
