//! Binary container shared by every data file of the store: a fixed header
//! (magic, file kind, format version), a section table, and 8-byte aligned
//! sections that are read in place from a memory map.
//!
//! Layout (all integers little-endian):
//! ```text
//! 0   magic      8 bytes  "TPSTORE\0"
//! 8   kind       4 bytes  b"SEG\0" | b"DICT"
//! 12  version    u32      FORMAT_VERSION
//! 16  sections   u32      number of entries in the table
//! 20  reserved   u32      0
//! 24  table      sections x { id u32, width u32, offset u64, len u64 }
//! ..  data       each section starts at a multiple of 8
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::StoreError;

#[cfg(not(target_endian = "little"))]
compile_error!("tripoint-store maps columns in place and supports little-endian targets only");

pub const MAGIC: &[u8; 8] = b"TPSTORE\0";
/// Version of every binary file and of the manifest. Bump on any layout change.
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 24;
const ENTRY: usize = 24;

pub type Kind = [u8; 4];
pub const KIND_SEGMENT: Kind = *b"SEG\0";
pub const KIND_DICT: Kind = *b"DICT";

/// Plain-old-data element types a section may hold.
///
/// # Safety
/// Implementors must have no padding and accept every bit pattern.
pub unsafe trait Pod: Copy + Send + Sync + 'static {}
// SAFETY: u8 has no padding and every bit pattern is a valid value.
unsafe impl Pod for u8 {}
// SAFETY: u16 has no padding and every bit pattern is a valid value.
unsafe impl Pod for u16 {}
// SAFETY: u32 has no padding and every bit pattern is a valid value.
unsafe impl Pod for u32 {}
// SAFETY: u64 has no padding and every bit pattern is a valid value.
unsafe impl Pod for u64 {}
// SAFETY: i64 has no padding and every bit pattern is a valid value.
unsafe impl Pod for i64 {}
// SAFETY: [u8; 16] has no padding and every bit pattern is a valid value.
unsafe impl Pod for [u8; 16] {}
// SAFETY: [u8; 32] has no padding and every bit pattern is a valid value.
unsafe impl Pod for [u8; 32] {}

pub fn as_bytes<T: Pod>(v: &[T]) -> &[u8] {
    // SAFETY: T is Pod (no padding), so its memory is a valid byte slice.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// A section's bytes: borrowed, owned (typed, so no copy is needed), or
/// generated while writing (columns derived from rows are never materialised).
enum SectionData<'a> {
    Borrowed(&'a [u8]),
    Owned(Box<dyn OwnedBytes>),
    Streamed(Box<dyn Streamed + 'a>),
}

trait Streamed {
    fn len_bytes(&self) -> usize;
    fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()>;
}

struct IterSection<T, I> {
    iter: I,
    n: usize,
    _t: std::marker::PhantomData<T>,
}

impl<T: Pod, I: Iterator<Item = T> + Clone> Streamed for IterSection<T, I> {
    fn len_bytes(&self) -> usize {
        self.n * std::mem::size_of::<T>()
    }
    fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut buf: Vec<T> = Vec::with_capacity(16 * 1024);
        for v in self.iter.clone() {
            buf.push(v);
            if buf.len() == buf.capacity() {
                w.write_all(as_bytes(&buf))?;
                buf.clear();
            }
        }
        w.write_all(as_bytes(&buf))
    }
}

trait OwnedBytes {
    fn bytes(&self) -> &[u8];
}

impl<T: Pod> OwnedBytes for Vec<T> {
    fn bytes(&self) -> &[u8] {
        as_bytes(self)
    }
}

impl SectionData<'_> {
    fn len(&self) -> usize {
        match self {
            SectionData::Borrowed(b) => b.len(),
            SectionData::Owned(v) => v.bytes().len(),
            SectionData::Streamed(s) => s.len_bytes(),
        }
    }

    fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        match self {
            SectionData::Borrowed(b) => w.write_all(b),
            SectionData::Owned(v) => w.write_all(v.bytes()),
            SectionData::Streamed(s) => s.write_to(w),
        }
    }
}

/// Collects sections and writes the file in one pass, then fsyncs it.
#[derive(Default)]
pub struct FileWriter<'a> {
    sections: Vec<(u32, u32, SectionData<'a>)>,
}

impl<'a> FileWriter<'a> {
    pub fn add<T: Pod>(&mut self, id: u32, data: &'a [T]) {
        self.sections.push((
            id,
            std::mem::size_of::<T>() as u32,
            SectionData::Borrowed(as_bytes(data)),
        ));
    }

    pub fn add_owned<T: Pod>(&mut self, id: u32, data: Vec<T>) {
        self.sections.push((
            id,
            std::mem::size_of::<T>() as u32,
            SectionData::Owned(Box::new(data)),
        ));
    }

    /// A section generated from an iterator of exactly `n` items while writing.
    pub fn add_iter<T: Pod, I: Iterator<Item = T> + Clone + 'a>(
        &mut self,
        id: u32,
        n: usize,
        iter: I,
    ) {
        self.sections.push((
            id,
            std::mem::size_of::<T>() as u32,
            SectionData::Streamed(Box::new(IterSection {
                iter,
                n,
                _t: std::marker::PhantomData,
            })),
        ));
    }

    /// Write to `path` (which must not be visible to readers yet) and fsync.
    /// Returns the file size.
    pub fn write(&self, path: &Path, kind: Kind) -> Result<u64, StoreError> {
        let io = |e| StoreError::io(path, e);
        let file = File::create(path).map_err(io)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let n = self.sections.len();
        let mut head = Vec::with_capacity(HEADER + ENTRY * n);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&kind);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&(n as u32).to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        let mut offset = align8((HEADER + ENTRY * n) as u64);
        for (id, width, data) in &self.sections {
            head.extend_from_slice(&id.to_le_bytes());
            head.extend_from_slice(&width.to_le_bytes());
            head.extend_from_slice(&offset.to_le_bytes());
            head.extend_from_slice(&(data.len() as u64).to_le_bytes());
            offset = align8(offset + data.len() as u64);
        }
        let pad = |w: &mut BufWriter<File>, len: u64| -> std::io::Result<()> {
            let p = (align8(len) - len) as usize;
            w.write_all(&[0u8; 8][..p])
        };
        w.write_all(&head).map_err(io)?;
        pad(&mut w, head.len() as u64).map_err(io)?;
        for (_, _, data) in &self.sections {
            data.write_to(&mut w).map_err(io)?;
            pad(&mut w, data.len() as u64).map_err(io)?;
        }
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(offset)
    }
}

fn align8(x: u64) -> u64 {
    (x + 7) & !7
}

#[derive(Clone, Copy)]
struct Entry {
    id: u32,
    width: u32,
    offset: usize,
    len: usize,
}

/// A mapped file whose header and section table were validated.
pub struct FileView {
    path: PathBuf,
    map: Mmap,
    entries: Vec<Entry>,
}

impl FileView {
    pub fn open(path: &Path, kind: Kind) -> Result<FileView, StoreError> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        // SAFETY: store files are immutable once published (written to a fresh
        // name, fsynced, then referenced by the manifest); nobody writes them again.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| StoreError::io(path, e))?;
        let corrupt = |msg: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            msg,
        };
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err(corrupt("not a tripoint store file (bad magic)".into()));
        }
        if map[8..12] != kind {
            return Err(corrupt(format!(
                "wrong file kind {:?}, expected {:?}",
                String::from_utf8_lossy(&map[8..12]),
                String::from_utf8_lossy(&kind)
            )));
        }
        let version = u32::from_le_bytes(
            map[12..16]
                .try_into()
                .expect("a slice of the array's length"),
        );
        if version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let n = u32::from_le_bytes(
            map[16..20]
                .try_into()
                .expect("a slice of the array's length"),
        ) as usize;
        if map.len() < HEADER + n * ENTRY {
            return Err(corrupt("truncated section table".into()));
        }
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let e = &map[HEADER + i * ENTRY..HEADER + (i + 1) * ENTRY];
            let entry = Entry {
                id: u32::from_le_bytes(e[0..4].try_into().expect("a slice of the array's length")),
                width: u32::from_le_bytes(
                    e[4..8].try_into().expect("a slice of the array's length"),
                ),
                offset: u64::from_le_bytes(
                    e[8..16].try_into().expect("a slice of the array's length"),
                ) as usize,
                len: u64::from_le_bytes(
                    e[16..24].try_into().expect("a slice of the array's length"),
                ) as usize,
            };
            if !entry.offset.is_multiple_of(8)
                || entry.width == 0
                || !entry.len.is_multiple_of(entry.width as usize)
                || entry
                    .offset
                    .checked_add(entry.len)
                    .is_none_or(|end| end > map.len())
            {
                return Err(corrupt(format!("section {} out of bounds", entry.id)));
            }
            entries.push(entry);
        }
        Ok(FileView {
            path: path.to_path_buf(),
            map,
            entries,
        })
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Unmap the pages under `part` (a slice of this map, rounded out to
    /// whole pages) from the process (`MADV_DONTNEED`), so a sequential
    /// reader does not keep a whole store file resident; the page cache
    /// keeps them. A slice outside the map is ignored. Linux only (a no-op
    /// elsewhere).
    pub fn release<T: Pod>(&self, part: &[T]) {
        #[cfg(target_os = "linux")]
        {
            let base = self.map.as_ptr() as usize;
            let start = part.as_ptr() as usize;
            let len = std::mem::size_of_val(part);
            if len == 0 || start < base || start + len > base + self.map.len() {
                return;
            }
            // SAFETY: the map is a shared, read-only mapping of a file that
            // is never written again once published (see `open`), so a
            // dropped page reads back with the same bytes on the next
            // access: every reference into the map stays valid and
            // unchanged. memmap2 checks the range and aligns its start.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start - base,
                    len,
                )
            };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = part;
    }

    fn entry(&self, id: u32) -> Result<Entry, StoreError> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .copied()
            .ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                msg: format!("missing section {id}"),
            })
    }

    /// Width in bytes of the elements of section `id`.
    pub fn width(&self, id: u32) -> Result<u32, StoreError> {
        Ok(self.entry(id)?.width)
    }

    /// Typed view of a section; its declared width must match `T`.
    pub fn slice<T: Pod>(&self, id: u32) -> Result<&[T], StoreError> {
        let e = self.entry(id)?;
        if e.width as usize != std::mem::size_of::<T>() {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                msg: format!(
                    "section {id} has width {}, expected {}",
                    e.width,
                    std::mem::size_of::<T>()
                ),
            });
        }
        let bytes = &self.map[e.offset..e.offset + e.len];
        // SAFETY: the map is page aligned and sections start at multiples of 8,
        // so the pointer is aligned for any Pod type up to 8 bytes; T accepts
        // every bit pattern; the length was checked against the map.
        Ok(unsafe {
            std::slice::from_raw_parts(bytes.as_ptr() as *const T, e.len / std::mem::size_of::<T>())
        })
    }
}

/// An unsigned column stored at the narrowest width that holds its values.
#[derive(Clone, Copy)]
pub enum UintCol<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
}

impl UintCol<'_> {
    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        match self {
            UintCol::U8(v) => v[i] as u32,
            UintCol::U16(v) => v[i] as u32,
            UintCol::U32(v) => v[i],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            UintCol::U8(v) => v.len(),
            UintCol::U16(v) => v.len(),
            UintCol::U32(v) => v.len(),
        }
    }
}

/// Add `values` as the narrowest of u8/u16/u32 that holds the maximum.
pub fn add_narrow<'a>(
    w: &mut FileWriter<'a>,
    id: u32,
    values: impl Iterator<Item = u32> + Clone + 'a,
) {
    let (n, max) = values
        .clone()
        .fold((0usize, 0u32), |(n, m), v| (n + 1, m.max(v)));
    if max <= u8::MAX as u32 {
        w.add_iter(id, n, values.map(|v| v as u8));
    } else if max <= u16::MAX as u32 {
        w.add_iter(id, n, values.map(|v| v as u16));
    } else {
        w.add_iter(id, n, values);
    }
}

/// Stable 64-bit hash for persisted hash tables (std's hasher is not stable
/// across Rust releases, so it must not decide where keys sit in a file).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("a slice of the array's length"));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    // Final avalanche (from splitmix64).
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}
