//! Append-only logs that a trace writes in order during its pass and reads
//! back once, in order, at its end (the sweep kernel's flows and their
//! payees): past a size they go to an unnamed temporary file instead of
//! growing in memory, because at 5×10^8 transfers a full-graph trace's
//! flows (~2 GiB) would sit in memory beside the per-address state that
//! the pass needs, while at the end that state is freed and the flows fit.
//!
//! The one place the engine does I/O (issue 15: "flows … spill to disk").
//! Spilling is never needed for correctness: a log that cannot be written
//! (no temporary directory, disk full) stops spilling and the caller keeps
//! its bytes in memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// In-memory bytes of the kernel's flow logs past which they are spilled
/// (so a trace of up to a few million flows never touches the disk).
pub(crate) const SPILL_ABOVE: usize = 256 << 20;

/// Bytes appended in order to an unnamed temporary file (made at the first
/// append, removed when dropped), read back once.
#[derive(Default)]
pub(crate) struct SpillFile {
    file: Option<File>,
    len: u64,
    failed: bool,
}

impl SpillFile {
    /// Append `bytes`; `false` when they were not written (then nothing of
    /// them is in the file, and no later append is tried).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> bool {
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
        let file = self.file.as_mut().expect("made above");
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
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Everything appended, in order, handed to `f` in pieces of `piece`
    /// bytes (the last one shorter), so records of a size that divides
    /// `piece` never straddle two pieces; the file is gone afterwards.
    pub(crate) fn read_pieces(
        mut self,
        piece: usize,
        mut f: impl FnMut(&[u8]),
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
        let mut s = SpillFile::default();
        let mut want = Vec::new();
        for k in 0..1000u32 {
            let chunk: Vec<u8> = (0..k % 97).map(|i| (i * 31 + k) as u8).collect();
            assert!(s.append(&chunk));
            want.extend_from_slice(&chunk);
        }
        assert_eq!(s.len(), want.len() as u64);
        let mut got = Vec::new();
        s.read_pieces(1000, |p| {
            assert!(p.len() <= 1000);
            got.extend_from_slice(p)
        })
        .unwrap();
        assert_eq!(got, want);
        let mut empty = Vec::new();
        SpillFile::default()
            .read_pieces(8, |p| empty.extend_from_slice(p))
            .unwrap();
        assert!(empty.is_empty());
    }
}
