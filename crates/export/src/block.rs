//! The transfers files' writer: whole aligned blocks, written past the page
//! cache (`O_DIRECT`) where the filesystem takes it.
//!
//! Copying the export's bytes into fresh page-cache pages was 17–33 % of
//! its CPU in `perf` profiles at 10^7 transfers (`copy_folio_from_iter_atomic`;
//! system time 0.5–1.2 s against 0.4–0.6 s direct), and the last file's
//! fsync then waited for all of its bytes. Written direct, the device
//! reads the blocks from this process's memory as they are made.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

#[cfg(unix)]
use std::os::unix::fs::FileExt;

/// Size of the writes of a [`BlockWriter`] (a multiple of [`ALIGN`]).
const BLOCK: usize = 1 << 20;

/// Alignment of the blocks in memory and in the file: a page, which every
/// device's logical block size divides.
const ALIGN: usize = 4096;

/// A file written in whole blocks of [`BLOCK`] bytes at offsets that are
/// multiples of it, and the rest when it is finished, by a thread of its
/// own: a direct write waits for the device (about 1.4 ms a block here),
/// and the caller, the export's main thread, goes on appending row groups
/// meanwhile. The `parquet` crate hands its writer 8 KiB at a time;
/// page-cache writes of 8 KiB cost the kernel almost three times what
/// aligned writes of 256 KiB do, and direct writes need whole aligned
/// blocks.
pub(crate) struct BlockWriter {
    file: Arc<File>,
    #[cfg(test)]
    direct: bool,
    /// The block being filled.
    block: Block,
    /// Bytes handed to the thread (whole blocks).
    handed: u64,
    /// Whether everything written so far is in the file (a flush since
    /// the last write): the `parquet` crate flushes when it finishes a
    /// file and [`Self::into_file`] flushes again, which then writes nothing.
    flushed: bool,
    /// Blocks to write, to the thread; `None` once finished.
    jobs: Option<SyncSender<Job>>,
    /// Written blocks' buffers, back from the thread for reuse.
    spare: Receiver<Block>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// A buffer of `BLOCK + ALIGN` bytes whose block, `buf[at..at + BLOCK]`,
/// is [`ALIGN`]-aligned in memory; `len` bytes of it filled.
struct Block {
    buf: Vec<u8>,
    at: usize,
    len: usize,
}

impl Block {
    fn new() -> Self {
        let buf = vec![0u8; BLOCK + ALIGN];
        let at = buf.as_ptr().align_offset(ALIGN);
        Block { buf, at, len: 0 }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.at..self.at + self.len]
    }
}

enum Job {
    /// A whole block, at this offset.
    Block(Block, u64),
    /// The unaligned rest, at this offset, through the page cache; the
    /// thread answers when it is written.
    Tail(Vec<u8>, u64, Sender<()>),
}

impl BlockWriter {
    /// Create (or truncate) `path`, direct when the filesystem allows it.
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        Self::create_as(path, true)
    }

    /// [`Self::create`], buffered unless `try_direct`.
    fn create_as(path: &Path, try_direct: bool) -> std::io::Result<Self> {
        let (file, direct) = match open_direct(path).filter(|_| try_direct) {
            Some(f) => (f, true),
            None => (File::create(path)?, false),
        };
        let file = Arc::new(file);
        // One block queued while one is written and one filled.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(1);
        let (give_back, spare) = std::sync::mpsc::channel();
        let thread = {
            let (file, path) = (file.clone(), path.to_path_buf());
            std::thread::Builder::new()
                .name("export-writer".into())
                .spawn(move || write_jobs(&file, &path, direct, queue, give_back))?
        };
        Ok(BlockWriter {
            file,
            #[cfg(test)]
            direct,
            block: Block::new(),
            handed: 0,
            flushed: false,
            jobs: Some(jobs),
            spare,
            thread: Some(thread),
        })
    }

    /// Whether the blocks bypass the page cache.
    #[cfg(test)]
    pub(crate) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Write what is buffered, wait for the thread, and hand the file back.
    pub(crate) fn into_file(mut self) -> std::io::Result<File> {
        self.flush()?;
        self.jobs = None;
        self.join()?;
        Arc::try_unwrap(self.file)
            .map_err(|_| std::io::Error::other("the export's file writer holds the file"))
    }

    /// The thread's error, once it has stopped (it stops at its first).
    fn join(&mut self) -> std::io::Result<()> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Ok(()),
        }
    }

    fn send(&mut self, job: Job) -> std::io::Result<()> {
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped: at an error, which is this write's.
        self.jobs = None;
        self.join()?;
        Err(std::io::Error::other("the export's file writer stopped"))
    }

    /// Hand the full block to the thread and take a spare one.
    fn hand_block(&mut self) -> std::io::Result<()> {
        let mut fresh = self.spare.try_recv().unwrap_or_else(|_| Block::new());
        fresh.len = 0;
        let full = std::mem::replace(&mut self.block, fresh);
        let at = self.handed;
        self.handed += full.len as u64;
        self.send(Job::Block(full, at))
    }
}

impl Write for BlockWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let b = &mut self.block;
        let n = data.len().min(BLOCK - b.len);
        self.flushed &= n == 0;
        let start = b.at + b.len;
        b.buf[start..start + n].copy_from_slice(&data[..n]);
        b.len += n;
        if b.len == BLOCK {
            self.hand_block()?;
        }
        Ok(n)
    }

    /// Write the partial block (kept: it is written again, whole and
    /// aligned, when it fills) and wait until everything handed is written.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.flushed {
            return Ok(());
        }
        let (done, written) = std::sync::mpsc::channel();
        let tail = self.block.bytes().to_vec();
        self.send(Job::Tail(tail, self.handed, done))?;
        match written.recv() {
            Ok(()) => {
                self.flushed = true;
                Ok(())
            }
            Err(_) => {
                self.jobs = None;
                self.join()?;
                Err(std::io::Error::other("the export's file writer stopped"))
            }
        }
    }
}

/// The writer thread: each job in order, stopping at the first error.
fn write_jobs(
    file: &File,
    path: &Path,
    mut direct: bool,
    jobs: Receiver<Job>,
    give_back: Sender<Block>,
) -> std::io::Result<()> {
    // A buffered handle, for the unaligned rest of a direct file, and
    // for everything once the filesystem refuses a direct write.
    let mut buffered: Option<File> = None;
    for job in jobs {
        match job {
            Job::Block(block, at) => {
                let done = if direct {
                    match write_at(file, block.bytes(), at) {
                        // The filesystem took the open but refuses direct
                        // writes: buffered from here on.
                        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                            direct = false;
                            Err(e)
                        }
                        r => r.map(|_| true),
                    }
                } else {
                    Ok(false)
                };
                if !matches!(done, Ok(true)) {
                    write_buffered(&mut buffered, path, block.bytes(), at)?;
                }
                let _ = give_back.send(block);
            }
            Job::Tail(bytes, at, done) => {
                write_buffered(&mut buffered, path, &bytes, at)?;
                let _ = done.send(());
            }
        }
    }
    Ok(())
}

/// The file through the page cache, in writes of 256 KiB (cheaper for the
/// kernel than bigger ones here): a second handle, opened at first use
/// (`file` may be direct, where unaligned writes fail).
fn write_buffered(
    buffered: &mut Option<File>,
    path: &Path,
    bytes: &[u8],
    at: u64,
) -> std::io::Result<()> {
    let file = match buffered {
        Some(f) => f,
        None => buffered.insert(OpenOptions::new().write(true).open(path)?),
    };
    let mut at = at;
    for piece in bytes.chunks(256 << 10) {
        write_at(file, piece, at)?;
        at += piece.len() as u64;
    }
    Ok(())
}

/// `path` created (or truncated) for direct writes, or `None` where that is
/// not possible (another OS, a filesystem that refuses `O_DIRECT`).
fn open_direct(path: &Path) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

#[cfg(unix)]
fn write_at(file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    file.write_all_at(data, offset)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(data)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{BlockWriter, BLOCK};

    /// The file holds exactly the bytes written, in writes of every size
    /// (within a block, across blocks, several blocks at once), with a
    /// flush in the middle of a block, and whether or not it is direct.
    #[test]
    fn the_file_holds_the_bytes_written() {
        for try_direct in [true, false] {
            holds_the_bytes_written(try_direct);
        }
    }

    fn holds_the_bytes_written(try_direct: bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut w = BlockWriter::create_as(&path, try_direct).expect("create");
        assert!(try_direct || !w.is_direct());
        let mut want = Vec::new();
        let mut x = 7u32;
        for (k, size) in [1usize, 8 << 10, BLOCK - 3, 5, 3 * BLOCK + 11, 0, 4096, 77]
            .into_iter()
            .enumerate()
        {
            let data: Vec<u8> = (0..size)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (x >> 16) as u8
                })
                .collect();
            w.write_all(&data).expect("write");
            want.extend_from_slice(&data);
            if k == 3 {
                w.flush().expect("flush");
                assert_eq!(std::fs::read(&path).expect("read"), want, "after a flush");
            }
        }
        let direct = w.is_direct();
        let file = w.into_file().expect("finish");
        file.sync_all().expect("sync");
        let got = std::fs::read(&path).expect("read");
        assert!(
            got == want,
            "{} bytes, want {} (direct {direct})",
            got.len(),
            want.len()
        );
    }
}
