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

    pub fn address(&self, local: u32) -> Address {
        Address::from_key_bytes(self.key(local)).unwrap_or_else(|| {
            // A key that does not decode means a corrupted file; surfacing it as
            // a visibly odd address keeps the read path infallible.
            Address::Btc("corrupt-dictionary-key".into())
        })
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
