//! Address dictionary chunks: a contiguous range of dense address ids, their
//! key bytes ([`Address::as_key_bytes`]) and a persisted open-addressing hash
//! table, so both directions are answered from the map without loading anything.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use tripoint_chain::{AddrId, Address};

use crate::format::{stable_hash, FileView, FileWriter, KIND_DICT, MAGIC};
use crate::owned::OwnedSlice;
use crate::segment::InOrderReader;
use crate::StoreError;

const S_META: u32 = 1; // u64: [base, count]
const S_OFFSETS: u32 = 2; // u64: count + 1 offsets into S_KEYS
const S_KEYS: u32 = 3; // u8: concatenated key bytes
const S_TABLE: u32 = 4; // u32: hash table of local id + 1 (0 = empty), power-of-two size

/// Keys in id order, as built in memory before being written.
#[derive(Default, Clone)]
pub struct DictKeys {
    pub offsets: Vec<u64>,
    pub keys: Vec<u8>,
}

impl DictKeys {
    pub fn new() -> Self {
        DictKeys {
            offsets: vec![0],
            keys: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn push(&mut self, key: &[u8]) {
        self.keys.extend_from_slice(key);
        self.offsets.push(self.keys.len() as u64);
    }

    /// Push the key `tag` + `bytes` (an [`Address::as_key_bytes`] layout).
    pub fn push_tagged(&mut self, tag: u8, bytes: &[u8]) {
        self.keys.push(tag);
        self.keys.extend_from_slice(bytes);
        self.offsets.push(self.keys.len() as u64);
    }

    pub fn get(&self, i: usize) -> &[u8] {
        &self.keys[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    pub fn write(&self, base: AddrId, path: &Path) -> Result<u64, StoreError> {
        let n = self.len();
        let cap = (n * 2).next_power_of_two().max(2);
        let mask = cap - 1;
        let mut table = vec![0u32; cap];
        for i in 0..n {
            let mut slot = stable_hash(self.get(i)) as usize & mask;
            while table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = i as u32 + 1;
        }
        let meta = [base as u64, n as u64];
        let mut w = FileWriter::default();
        w.add(S_META, &meta[..]);
        w.add(S_OFFSETS, &self.offsets[..]);
        w.add(S_KEYS, &self.keys[..]);
        w.add(S_TABLE, &table[..]);
        w.write(path, KIND_DICT)
    }
}

/// Ids per stretch of a chunk whose pages a reader in id order unmaps
/// behind itself ([`DictChunk::address`]).
/// Small, so that what an in-order reader leaves mapped in each chunk it
/// passed (the export's row groups read every chunk) stays small.
const RELEASE_IDS: u32 = if cfg!(test) { 1 << 14 } else { 1 << 16 };

thread_local! {
    /// This thread's address reads of dictionary chunks.
    static ADDRESS_READER: std::cell::Cell<InOrderReader> =
        std::cell::Cell::new(InOrderReader::default());
}

/// A mapped dictionary chunk covering ids `base..base + count`. The section
/// slices are resolved once at open (a lookup probes several keys).
pub struct DictChunk {
    offsets: OwnedSlice<u64>,
    keys: OwnedSlice<u8>,
    table: OwnedSlice<u32>,
    view: Arc<FileView>,
    pub base: AddrId,
    pub count: u32,
}

impl DictChunk {
    pub fn open(path: &Path) -> Result<DictChunk, StoreError> {
        let view = Arc::new(FileView::open(path, KIND_DICT)?);
        let meta: &[u64] = view.slice(S_META)?;
        let offsets = OwnedSlice::<u64>::section(&view, S_OFFSETS)?;
        let keys = OwnedSlice::<u8>::section(&view, S_KEYS)?;
        let table = OwnedSlice::<u32>::section(&view, S_TABLE)?;
        let corrupt = |msg: &str| StoreError::Corrupt {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        };
        if meta.len() != 2 || offsets.len() as u64 != meta[1] + 1 {
            return Err(corrupt("dictionary header does not match its offsets"));
        }
        // O(1) checks only: opening must not scan the dictionary.
        if offsets.last().copied() != Some(keys.len() as u64) || !table.len().is_power_of_two() {
            return Err(corrupt("dictionary keys or table malformed"));
        }
        let (base, count) = (meta[0] as AddrId, meta[1] as u32);
        Ok(DictChunk {
            offsets,
            keys,
            table,
            view,
            base,
            count,
        })
    }

    pub fn bytes(&self) -> u64 {
        self.view.len()
    }

    pub fn key(&self, local: u32) -> &[u8] {
        let l = local as usize;
        &self.keys[self.offsets[l] as usize..self.offsets[l + 1] as usize]
    }

    /// The address of local id `local`. A thread that reads the chunk in
    /// id order (every id, or a subset sorted by id: the sweep's look-alike
    /// keys, a trace's or an export's addresses) unmaps the pages behind it
    /// every [`RELEASE_IDS`] ids ([`InOrderReader`]): at 5×10^8 transfers
    /// the dictionary is 5.4 GB, and every page read would otherwise stay
    /// in the process's resident memory (the page cache keeps them; a later
    /// read maps them again). Random reads leave the map alone.
    pub fn address(&self, local: u32) -> Address {
        let a = Address::from_key_bytes(self.key(local)).unwrap_or_else(|| {
            // A key that does not decode means a corrupted file; surfacing it as
            // a visibly odd address keeps the read path infallible.
            Address::Btc("corrupt-dictionary-key".into())
        });
        self.note_read(local);
        a
    }

    /// Count a read of `local` towards this thread's [`InOrderReader`] and
    /// unmap the ids behind it once it is in order.
    #[inline]
    fn note_read(&self, local: u32) {
        if let Some(end) = InOrderReader::note(&ADDRESS_READER, &self.view, local, RELEASE_IDS) {
            self.release_before(end);
        }
    }

    /// Unmap the offsets and keys of local ids `0..end` (`end <= count`).
    #[cold]
    fn release_before(&self, end: u32) {
        let end = end as usize;
        self.view.release(&self.offsets[..end]);
        self.view.release(&self.keys[..self.offsets[end] as usize]);
    }

    pub fn lookup(&self, key: &[u8]) -> Option<AddrId> {
        let table = &self.table;
        let mask = table.len() - 1;
        let mut slot = stable_hash(key) as usize & mask;
        loop {
            let v = table[slot];
            if v == 0 {
                return None;
            }
            if v <= self.count && self.key(v - 1) == key {
                return Some(self.base + v - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    pub fn read_keys(&self, into: &mut DictKeys) {
        for i in 0..self.count {
            into.push(self.key(i));
        }
    }
}

/// A published dictionary chunk read with positioned reads instead of its
/// map: the appender confirms its compact address table's hits here. Reads
/// through the map would leave every touched page mapped, and at 10^8
/// addresses the chunks' pages alone would pass the memory goal in resident
/// (file-backed) memory; `pread` leaves them in the page cache only.
pub struct DictFile {
    file: File,
    path: std::path::PathBuf,
    offsets_at: u64,
    keys_at: u64,
    pub base: AddrId,
    pub count: u32,
}

impl DictFile {
    /// Open a chunk already validated by [`DictChunk::open`] (the store has it mapped).
    pub fn open(path: &Path, base: AddrId, count: u32) -> Result<DictFile, StoreError> {
        let io = |e| StoreError::io(path, e);
        let file = File::open(path).map_err(io)?;
        let mut head = [0u8; 24];
        file.read_exact_at(&mut head, 0).map_err(io)?;
        let corrupt = |msg: &str| StoreError::Corrupt {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        };
        if &head[..8] != MAGIC || head[8..12] != KIND_DICT {
            return Err(corrupt("not a dictionary chunk"));
        }
        let n = u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
        let mut table = vec![0u8; 24 * n];
        file.read_exact_at(&mut table, 24).map_err(io)?;
        let at = |id: u32| {
            table.chunks_exact(24).find_map(|e| {
                (u32::from_le_bytes(e[0..4].try_into().expect("4 bytes")) == id)
                    .then(|| u64::from_le_bytes(e[8..16].try_into().expect("8 bytes")))
            })
        };
        let (Some(offsets_at), Some(keys_at)) = (at(S_OFFSETS), at(S_KEYS)) else {
            return Err(corrupt("dictionary chunk without offsets or keys"));
        };
        Ok(DictFile {
            file,
            path: path.to_path_buf(),
            offsets_at,
            keys_at,
            base,
            count,
        })
    }

    /// Whether the key of local id `local` is `key` (two small reads).
    pub fn key_is(&self, local: u32, key: &[u8]) -> Result<bool, StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        let mut ends = [0u8; 16];
        self.file
            .read_exact_at(&mut ends, self.offsets_at + 8 * local as u64)
            .map_err(io)?;
        let start = u64::from_le_bytes(ends[..8].try_into().expect("8 bytes"));
        let end = u64::from_le_bytes(ends[8..].try_into().expect("8 bytes"));
        let mut stored = [0u8; 64];
        if end.checked_sub(start) != Some(key.len() as u64) || key.len() > stored.len() {
            return Ok(false);
        }
        let stored = &mut stored[..key.len()];
        self.file
            .read_exact_at(stored, self.keys_at + start)
            .map_err(io)?;
        Ok(stored == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tests::mapped_kib;

    fn address(i: u32) -> Address {
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&i.to_le_bytes());
        b[16..].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_le_bytes());
        Address::Eth(b)
    }

    /// Reading a chunk in id order (all ids, or a subset sorted by id)
    /// leaves about one stretch of it mapped, and every address right,
    /// also when read again; random reads leave their pages mapped.
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_in_id_order_unmap_the_keys_behind_them() {
        let n = 100 * RELEASE_IDS;
        let mut keys = DictKeys::new();
        for i in 0..n {
            keys.push(&address(i).as_key_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dict.tpd");
        keys.write(7, &path).unwrap();
        drop(keys);
        let chunk = DictChunk::open(&path).unwrap();
        // Offsets and keys of one stretch: 8 + 21 bytes an id.
        let stretch_kib = u64::from(RELEASE_IDS) * 29 / 1024;
        for step in [1, 1, 3] {
            let mut peak = 0;
            for i in (0..n).step_by(step) {
                assert_eq!(chunk.address(i), address(i), "id {i}, every {step}");
                if i % 1024 == 0 {
                    peak = peak.max(mapped_kib(&path));
                }
            }
            // A fault maps a whole folio of the page cache (up to 2 MiB
            // here), a few of each section, so a few MiB more than a
            // stretch stay mapped, out of the whole chunk's ~46 MiB.
            let total_kib = 100 * stretch_kib;
            assert!(
                peak < 3 * stretch_kib + 8192 && peak < total_kib / 4,
                "every {step}: {peak} KiB mapped at most, a stretch is {stretch_kib} KiB"
            );
        }
        // Reads at pseudo-random ids keep what they map.
        let mut x = 0u32;
        for _ in 0..n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345) % n;
            assert_eq!(chunk.address(x), address(x));
        }
        let kept = mapped_kib(&path);
        assert!(
            kept > 50 * stretch_kib,
            "random reads keep their pages: {kept} KiB, a stretch is {stretch_kib} KiB"
        );
        assert_eq!(chunk.lookup(&address(5).as_key_bytes()), Some(12));
    }
}
