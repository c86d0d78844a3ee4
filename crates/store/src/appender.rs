//! The single writer: buffers records columnar in memory, and at each
//! checkpoint sorts, deduplicates, writes new immutable files, merges small
//! segments and publishes a new manifest.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use tripoint_chain::{
    AddrId, Address, Asset, AssetId, Chain, Position, SourceCursor, TokenInfo, TransferGraph,
    TransferRecord, TransferSink,
};

use crate::dict::{DictFile, DictKeys};
use crate::manifest::{DictMeta, Manifest, SegmentMeta, TokenEntry};
use crate::segment::{encode_amount, Row, SegData, TxEntry, NO_SPEND};
use crate::{lock_dir, remove_orphans, Store, StoreError};

/// Segments are merged with their predecessor while the predecessor is at most
/// this many times larger (size tiers: O(log n) segments, each row rewritten
/// O(log n) times).
const TIER_RATIO: u64 = 1;
/// Beyond this many segments (dictionary chunks) the cheapest adjacent pair is
/// merged too, so checkpoints of shrinking size cannot pile up files.
const MAX_SEGMENTS: usize = 12;
const MAX_DICT_CHUNKS: usize = 8;
/// Merges never make a segment above this many rows: a merge decodes its
/// segments into memory (~150 bytes a row at the peak, building the new
/// file included), so this bounds a checkpoint's memory (~2.4 GB).
const MAX_MERGED_ROWS: u64 = 1 << 24;
/// Dictionary chunks are never merged beyond this many keys (a merge holds
/// their keys and the new hash table in memory: ~0.6 GB at the bound).
const MAX_MERGED_DICT_KEYS: u64 = 1 << 24;
/// The general (non-Ethereum) address cache is dropped after a checkpoint
/// beyond this size; lookups then go to the mapped dictionary.
const MAX_CACHED_ADDRESSES: usize = 1 << 25;
/// The full-key Ethereum table stops growing at 2^26 slots (1.5 GiB, up to
/// 47 M addresses, ~1.25·10^8 generated transfers); later addresses go to
/// the compact table (8 bytes a slot), whose hits are confirmed against the
/// dictionary.
const FULL_TABLE_MAX_BITS: u32 = 26;
/// Slots rehashed between releases of the old table's pages when a table
/// grows (so the old and the new one are never both resident).
const REHASH_BLOCK: usize = 1 << 16;

/// What an appender did over its lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AppendSummary {
    pub appended: u64,
    pub duplicates_skipped: u64,
    pub segments_written: u64,
}

/// FxHash: the appender hashes two addresses per record, so a cheap hasher matters.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Ethereum address -> id cache: open addressing with the key stored inline,
/// so a lookup costs one cache miss (a general hash map costs two: control
/// bytes, then the bucket). Ingest does two lookups per record. The slots live
/// in an anonymous map: zero pages need no initialisation (0 = empty), and the
/// kernel is asked for huge pages, which spares a TLB miss per random probe.
struct EthTable {
    map: memmap2::MmapMut,
    cap: usize,
    len: usize,
    shift: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct EthSlot {
    a: u64,
    b: u64,
    c: u32,
    /// Id + 1; 0 for a free slot (ids never reach u32::MAX: see `TooManyAddresses`).
    id1: u32,
}

impl EthTable {
    fn new() -> EthTable {
        EthTable::with_bits(16)
    }

    fn with_bits(bits: u32) -> EthTable {
        let cap = 1usize << bits;
        let map = memmap2::MmapMut::map_anon(cap * std::mem::size_of::<EthSlot>())
            .expect("anonymous memory for the address cache");
        // Advice only: without huge pages the table still works.
        let _ = map.advise(memmap2::Advice::HugePage);
        EthTable {
            map,
            cap,
            len: 0,
            shift: 64 - bits,
        }
    }

    fn slots(&self) -> &[EthSlot] {
        // SAFETY: the map is page aligned, `cap` slots long, and every bit
        // pattern is a valid EthSlot (plain integers, repr(C), no padding).
        unsafe { std::slice::from_raw_parts(self.map.as_ptr() as *const EthSlot, self.cap) }
    }

    fn slots_mut(&mut self) -> &mut [EthSlot] {
        // SAFETY: as in `slots`, and the map is exclusively borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr() as *mut EthSlot, self.cap) }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn split(k: &[u8; 20]) -> (u64, u64, u32) {
        (
            u64::from_le_bytes(k[0..8].try_into().expect("a slice of the array's length")),
            u64::from_le_bytes(k[8..16].try_into().expect("a slice of the array's length")),
            u32::from_le_bytes(k[16..20].try_into().expect("a slice of the array's length")),
        )
    }

    #[inline]
    fn slot_of(&self, (a, b, c): (u64, u64, u32)) -> usize {
        let h = (a ^ b.rotate_left(23) ^ (c as u64).rotate_left(47))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> self.shift) as usize
    }

    /// Start loading the slot of `k` into the cache (ingest looks up
    /// addresses a few records ahead of using them).
    #[inline]
    fn prefetch(&self, k: &[u8; 20]) {
        #[cfg(target_arch = "x86_64")]
        {
            let i = self.slot_of(Self::split(k));
            // SAFETY: a prefetch of an in-bounds address; it never faults.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch(self.slots().as_ptr().add(i) as *const i8, _MM_HINT_T0);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = k;
    }

    #[inline]
    fn get(&self, k: &[u8; 20]) -> Option<AddrId> {
        let key = Self::split(k);
        let slots = self.slots();
        let mask = self.cap - 1;
        let mut i = self.slot_of(key);
        loop {
            let s = &slots[i];
            if s.id1 == 0 {
                return None;
            }
            if (s.a, s.b, s.c) == key {
                return Some(s.id1 - 1);
            }
            i = (i + 1) & mask;
        }
    }

    fn bits(&self) -> u32 {
        64 - self.shift
    }

    /// Would one more insert grow the table?
    fn is_full(&self) -> bool {
        (self.len + 1) * 10 > self.cap * 7
    }

    /// Insert a key known to be absent.
    fn insert(&mut self, k: &[u8; 20], id: AddrId) {
        if self.is_full() {
            let mut bigger = EthTable::with_bits(self.bits() + 1);
            for start in (0..self.cap).step_by(REHASH_BLOCK) {
                let end = (start + REHASH_BLOCK).min(self.cap);
                for s in self.slots()[start..end].iter().filter(|s| s.id1 != 0) {
                    bigger.put((s.a, s.b, s.c), s.id1);
                }
                release(
                    &self.map,
                    start * size_of::<EthSlot>(),
                    end * size_of::<EthSlot>(),
                );
            }
            bigger.len = self.len;
            *self = bigger;
        }
        self.put(Self::split(k), id + 1);
        self.len += 1;
    }

    fn put(&mut self, key: (u64, u64, u32), id1: u32) {
        let mask = self.cap - 1;
        let mut i = self.slot_of(key);
        let slots = self.slots_mut();
        while slots[i].id1 != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = EthSlot {
            a: key.0,
            b: key.1,
            c: key.2,
            id1,
        };
    }
}

/// Give the pages of `map[start..end]` back to the kernel (a table being
/// rehashed into a bigger one: its drained part is never read again).
fn release(map: &memmap2::MmapMut, start: usize, end: usize) {
    // SAFETY: the caller never reads this range again before dropping the map
    // (and an anonymous private map reads back zeros after DONTNEED anyway).
    // Advice only: failing to release costs memory, not correctness.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
    };
}

/// The 64-bit hash of an Ethereum address both tables index by.
#[inline]
fn eth_hash(k: &[u8; 20]) -> u64 {
    let (a, b, c) = EthTable::split(k);
    (a ^ b.rotate_left(23) ^ (c as u64).rotate_left(47)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Ethereum address -> id for the addresses beyond the full-key table:
/// 8-byte slots holding the top 32 bits of the address's hash (the slot
/// index is the top `bits` of them, so growing needs no keys) and the id + 1.
/// A slot whose hash bits match is confirmed by comparing the key stored
/// for its id (pending keys in memory, published ones in the dictionary
/// files), so lookups stay exact. Grows at 80 % load.
struct CompactTable {
    map: memmap2::MmapMut,
    cap: usize,
    len: usize,
    bits: u32,
}

impl CompactTable {
    fn with_bits(bits: u32) -> CompactTable {
        assert!(bits <= 32, "slot index bits come from 32 stored hash bits");
        let cap = 1usize << bits;
        let map =
            memmap2::MmapMut::map_anon(cap * 8).expect("anonymous memory for the address cache");
        let _ = map.advise(memmap2::Advice::HugePage);
        CompactTable {
            map,
            cap,
            len: 0,
            bits,
        }
    }

    fn slots(&self) -> &[u64] {
        // SAFETY: the map is page aligned and `cap` u64s long.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr() as *const u64, self.cap) }
    }

    fn slots_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `slots`, and the map is exclusively borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr() as *mut u64, self.cap) }
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        (h >> (64 - self.bits)) as usize
    }

    #[inline]
    fn prefetch(&self, h: u64) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch of an in-bounds address; it never faults.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch(
                self.slots().as_ptr().add(self.home(h)) as *const i8,
                _MM_HINT_T0,
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }

    /// The id of the address hashing to `h` for which `is_key(id)` holds.
    fn find(
        &self,
        h: u64,
        mut is_key: impl FnMut(AddrId) -> Result<bool, StoreError>,
    ) -> Result<Option<AddrId>, StoreError> {
        let slots = self.slots();
        let mask = self.cap - 1;
        let tag = h >> 32;
        let mut i = self.home(h);
        loop {
            let s = slots[i];
            if s == 0 {
                return Ok(None);
            }
            if s >> 32 == tag && is_key(s as u32 - 1)? {
                return Ok(Some(s as u32 - 1));
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert the id of an address known to be absent.
    fn insert(&mut self, h: u64, id: AddrId) {
        if (self.len + 1) * 5 > self.cap * 4 {
            let mut bigger = CompactTable::with_bits(self.bits + 1);
            for start in (0..self.cap).step_by(REHASH_BLOCK) {
                let end = (start + REHASH_BLOCK).min(self.cap);
                for &s in self.slots()[start..end].iter().filter(|&&s| s != 0) {
                    bigger.put(s);
                }
                release(&self.map, start * 8, end * 8);
            }
            bigger.len = self.len;
            *self = bigger;
        }
        self.put((h >> 32) << 32 | (id as u64 + 1));
        self.len += 1;
    }

    fn put(&mut self, slot: u64) {
        let mask = self.cap - 1;
        let mut i = self.home(slot);
        let slots = self.slots_mut();
        while slots[i] != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = slot;
    }
}

/// Is `key` the Ethereum address of `id`? Ids from `stored` on are this
/// appender's pending keys; earlier ones are in the published chunks `files`.
fn eth_key_is(
    stored: u64,
    pending: &DictKeys,
    files: &[DictFile],
    id: AddrId,
    key: &[u8; 20],
) -> Result<bool, StoreError> {
    if id as u64 >= stored {
        let k = pending.get((id as u64 - stored) as usize);
        return Ok(k.len() == 21 && k[0] == 0 && k[1..] == key[..]);
    }
    let i = files.partition_point(|f| f.base <= id);
    let Some(f) = i.checked_sub(1).map(|i| &files[i]) else {
        return Ok(false);
    };
    if id - f.base >= f.count {
        return Ok(false);
    }
    let mut tagged = [0u8; 21];
    tagged[1..].copy_from_slice(key);
    f.key_is(id - f.base, &tagged)
}

/// The published dictionary chunks, for positioned reads.
fn dict_files(dir: &Path, m: &Manifest) -> Result<Vec<DictFile>, StoreError> {
    m.dicts
        .iter()
        .map(|d| DictFile::open(&dir.join(&d.file), d.base, d.count))
        .collect()
}

/// Appends transfers to a store. Holds the writer lock until dropped.
/// Nothing is visible to readers (or durable) before [`TransferSink::checkpoint`]
/// or [`Appender::finish`].
pub struct Appender {
    dir: PathBuf,
    _lock: File,
    /// Snapshot of the last published state.
    store: Store,
    manifest: Manifest,
    eth_cache: EthTable,
    /// Ethereum addresses that came after `eth_cache` reached its size cap.
    eth_overflow: Option<CompactTable>,
    /// The published dictionary chunks, where `eth_overflow`'s hits are confirmed.
    dict_files: Vec<DictFile>,
    /// `FULL_TABLE_MAX_BITS` (tests lower it to reach the compact table).
    full_table_max_bits: u32,
    /// True while the caches hold every stored address (the appender started
    /// on an empty store and never dropped them): a miss is then a new address
    /// without probing the dictionary.
    cache_complete: bool,
    addr_cache: FxMap<Address, AddrId>,
    new_keys: DictKeys,
    next_addr: u64,
    token_ids: FxMap<Address, AssetId>,
    tokens_dirty: bool,
    pending: SegData,
    summary: AppendSummary,
    poisoned: bool,
}

enum SegPart {
    Existing(usize),
    Fresh(SegData),
}

enum DictPart {
    Existing(usize),
    Fresh(u32, DictKeys),
}

impl Appender {
    pub(crate) fn new(dir: &Path) -> Result<Appender, StoreError> {
        let lock = lock_dir(dir)?;
        let store = Store::open(dir)?;
        remove_orphans(dir, &store.manifest)?;
        let manifest = store.manifest.clone();
        let token_ids = manifest
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.address.clone(), i as AssetId + 1))
            .collect();
        let next_addr = store.address_count;
        let dict_files = dict_files(dir, &manifest)?;
        Ok(Appender {
            dir: dir.to_path_buf(),
            _lock: lock,
            next_addr,
            store,
            manifest,
            eth_cache: EthTable::new(),
            eth_overflow: None,
            dict_files,
            full_table_max_bits: FULL_TABLE_MAX_BITS,
            cache_complete: next_addr == 0,
            addr_cache: FxMap::default(),
            new_keys: DictKeys::new(),
            token_ids,
            tokens_dirty: false,
            pending: SegData::default(),
            summary: AppendSummary::default(),
            poisoned: false,
        })
    }

    /// The id of a cached Ethereum address.
    fn cached_eth(&self, k: &[u8; 20]) -> Result<Option<AddrId>, StoreError> {
        if let Some(id) = self.eth_cache.get(k) {
            return Ok(Some(id));
        }
        let Some(overflow) = &self.eth_overflow else {
            return Ok(None);
        };
        let (stored, pending, files) = (self.store.address_count, &self.new_keys, &self.dict_files);
        overflow.find(eth_hash(k), |id| eth_key_is(stored, pending, files, id, k))
    }

    fn cache_eth(&mut self, k: &[u8; 20], id: AddrId) {
        if let Some(overflow) = &mut self.eth_overflow {
            overflow.insert(eth_hash(k), id);
        } else if self.eth_cache.is_full() && self.eth_cache.bits() >= self.full_table_max_bits {
            let mut overflow = CompactTable::with_bits(self.full_table_max_bits - 2);
            overflow.insert(eth_hash(k), id);
            self.eth_overflow = Some(overflow);
        } else {
            self.eth_cache.insert(k, id);
        }
    }

    fn addr_id(&mut self, addr: &Address) -> Result<AddrId, StoreError> {
        let cached = match addr {
            Address::Eth(b) => self.cached_eth(b)?,
            other => self.addr_cache.get(other).copied(),
        };
        if let Some(id) = cached {
            return Ok(id);
        }
        let stored = if self.cache_complete {
            None
        } else {
            self.store.lookup(addr)
        };
        let id = match stored {
            Some(id) => id,
            None => {
                if self.next_addr >= u32::MAX as u64 {
                    return Err(StoreError::TooManyAddresses(self.next_addr));
                }
                match addr {
                    // The common case without a temporary key vector.
                    Address::Eth(b) => self.new_keys.push_tagged(0, b),
                    other => self.new_keys.push(&other.as_key_bytes()),
                }
                self.next_addr += 1;
                (self.next_addr - 1) as AddrId
            }
        };
        match addr {
            Address::Eth(b) => self.cache_eth(b, id),
            other => {
                self.addr_cache.insert(other.clone(), id);
            }
        }
        Ok(id)
    }

    fn token_id(&mut self, addr: &Address) -> AssetId {
        if let Some(&id) = self.token_ids.get(addr) {
            return id;
        }
        self.manifest.tokens.push(TokenEntry {
            address: addr.clone(),
            info: None,
        });
        self.tokens_dirty = true;
        let id = self.manifest.tokens.len() as AssetId;
        self.token_ids.insert(addr.clone(), id);
        id
    }

    fn check_chain(&mut self, chain: Chain) -> Result<(), StoreError> {
        match self.manifest.chain {
            None => {
                self.manifest.chain = Some(chain);
                Ok(())
            }
            Some(c) if c == chain => Ok(()),
            Some(c) => Err(StoreError::MixedChains {
                store: c,
                record: chain,
            }),
        }
    }

    /// As [`TransferSink::transfer`] for a batch, in order. Looks the
    /// addresses of records a few places ahead up in the address cache's
    /// memory first, so the cache misses of consecutive records overlap.
    pub fn transfer_batch(&mut self, records: &[TransferRecord]) -> Result<(), StoreError> {
        const AHEAD: usize = 8;
        for (i, r) in records.iter().enumerate() {
            if let Some(next) = records.get(i + AHEAD) {
                for a in [&next.from, &next.to] {
                    if let Address::Eth(k) = a {
                        self.eth_cache.prefetch(k);
                        if let Some(overflow) = &self.eth_overflow {
                            overflow.prefetch(eth_hash(k));
                        }
                    }
                }
            }
            self.push(r)?;
        }
        Ok(())
    }

    fn push(&mut self, r: &TransferRecord) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        self.check_chain(r.chain)?;
        let src = self.addr_id(&r.from)?;
        let dst = self.addr_id(&r.to)?;
        let asset = match &r.asset {
            Asset::Native(c) => {
                self.check_chain(*c)?;
                0
            }
            Asset::Token(a) => self.token_id(a),
        };
        let p = &mut self.pending;
        let same_tx = p.txs.last().is_some_and(|t| {
            t.hash == r.tx_hash.0 && t.block == r.block && t.tx_index == r.tx_index
        });
        if !same_tx {
            p.txs.push(TxEntry {
                hash: r.tx_hash.0,
                block: r.block,
                timestamp: r.timestamp,
                tx_index: r.tx_index,
            });
        }
        let spend = match r.position {
            Position::Input { spends, .. } => {
                p.spends.push(spends);
                p.spends.len() as u32 - 1
            }
            _ => NO_SPEND,
        };
        let (amount, amount_hi) = encode_amount(r.amount, &mut p.big);
        p.rows.push(Row {
            tx: p.txs.len() as u32 - 1,
            sub: r.position.sub_index(),
            src,
            dst,
            asset,
            amount,
            amount_hi,
            spend,
        });
        Ok(())
    }

    /// Records buffered since the last checkpoint.
    pub fn pending(&self) -> usize {
        self.pending.rows.len()
    }

    /// Publish whatever is pending (without moving any cursor) and release the lock.
    pub fn finish(mut self) -> Result<AppendSummary, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if !self.pending.rows.is_empty() || self.new_keys.len() > 0 || self.tokens_dirty {
            self.seal(None)?;
        }
        Ok(self.summary)
    }

    fn seal(&mut self, cursor: Option<&SourceCursor>) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        // Any failure below leaves this appender's memory out of step with the
        // disk; the published state is untouched, but refuse further use.
        self.poisoned = true;
        let pending = std::mem::take(&mut self.pending);
        let (mut fresh, mut dups) = pending.normalize();
        let stored_dups = self.drop_stored(&mut fresh);
        if stored_dups > 0 {
            dups += stored_dups;
            fresh = fresh.normalize().0;
        }
        let appended = fresh.rows.len() as u64;
        let fresh_txs = fresh.txs.len();

        let mut m = self.manifest.clone();
        m.generation += 1;
        let gen = m.generation;

        // The dictionary is written on a second thread while the segments are
        // written here (the parser is mostly blocked during a checkpoint).
        let new_keys = std::mem::replace(&mut self.new_keys, DictKeys::new());
        let (store, dir) = (&self.store, &self.dir);
        // The biggest written buffers become the next checkpoint's pending
        // buffers: refilling them costs no page faults, zeroing or regrowth.
        let mut recycled: Option<SegData> = None;
        let written = std::thread::scope(|scope| -> Result<u64, StoreError> {
            let dicts_written = scope.spawn(move || write_dicts(store, dir, gen, new_keys));
            // Segments: place the new rows, keeping key ranges disjoint and ascending.
            let old = &self.store.manifest.segments;
            let mut parts: Vec<SegPart> = (0..old.len()).map(SegPart::Existing).collect();
            if let Some((min, _)) = fresh.min_max_key() {
                let first = old.partition_point(|s| s.max_key < min);
                if first == old.len() {
                    parts.push(SegPart::Fresh(fresh));
                } else {
                    // Late records: merge them with every segment from the first
                    // one they overlap, so ids stay dense and in chain order.
                    let mut merged = SegData::default();
                    for i in first..old.len() {
                        merged = merged.concat(self.store.segments[i].load());
                    }
                    parts.truncate(first);
                    let (merged, d) = merged.concat(fresh).normalize();
                    dups += d;
                    parts.push(SegPart::Fresh(merged));
                }
            }
            let sizes: Vec<u64> = parts
                .iter()
                .map(|p| match p {
                    SegPart::Existing(i) => self.store.segments[*i].rows as u64,
                    SegPart::Fresh(d) => d.rows.len() as u64,
                })
                .collect();
            let has_fresh = matches!(parts.last(), Some(SegPart::Fresh(_)));
            let groups = plan_merges(&sizes, has_fresh, true, MAX_SEGMENTS, MAX_MERGED_ROWS);
            let mut slots: Vec<Option<SegPart>> = parts.into_iter().map(Some).collect();
            let mut parts = Vec::with_capacity(groups.len());
            for (a, b) in groups {
                if b - a == 1 {
                    parts.push(slots[a].take().expect("each part used once"));
                    continue;
                }
                // Adjacent disjoint ranges: concatenation is already in order.
                let mut merged = SegData::default();
                for slot in &mut slots[a..b] {
                    merged = merged.concat(match slot.take().expect("each part used once") {
                        SegPart::Existing(i) => self.store.segments[i].load(),
                        SegPart::Fresh(d) => d,
                    });
                }
                let (merged, d) = merged.normalize();
                dups += d;
                parts.push(SegPart::Fresh(merged));
            }
            m.segments.clear();
            let mut written = 0u64;
            for (k, part) in parts.into_iter().enumerate() {
                match part {
                    SegPart::Existing(i) => m.segments.push(old[i].clone()),
                    SegPart::Fresh(d) => {
                        let (min_key, max_key) = d.min_max_key().expect("no empty segments");
                        let file = format!("seg-{gen:08}-{k:04}.tps");
                        let bytes = d.write(&self.dir.join(&file))?;
                        written += 1;
                        m.segments.push(SegmentMeta {
                            file,
                            rows: d.rows.len() as u64,
                            min_key,
                            max_key,
                            bytes,
                        });
                        if recycled
                            .as_ref()
                            .is_none_or(|r: &SegData| r.rows.capacity() < d.rows.capacity())
                        {
                            recycled = Some(d);
                        }
                    }
                }
            }

            m.dicts = dicts_written
                .join()
                .map_err(|_| StoreError::WriterPanicked("dictionary"))??;
            Ok(written)
        })?;

        if let Some(c) = cursor {
            m.cursors.insert(c.source.clone(), c.position);
        }
        m.duplicates_skipped += dups;
        self.publish(m)?;
        self.tokens_dirty = false;
        // Ethereum addresses stay cached (compactly beyond the full table's
        // cap, so the cache never needs the dictionary's hash tables); the
        // general map of other addresses is dropped beyond its cap.
        if self.addr_cache.len() > MAX_CACHED_ADDRESSES {
            self.addr_cache = FxMap::default();
            self.cache_complete = false;
        }
        self.summary.appended += appended;
        self.summary.duplicates_skipped += dups;
        self.summary.segments_written += written;
        if let Some(mut buffers) = recycled {
            buffers.clear();
            // A merged segment's buffers are several checkpoints big: keep
            // room for one checkpoint (and a quarter), not the merge's pages.
            let rows = appended as usize;
            if buffers.rows.capacity() > 2 * rows {
                buffers.rows.shrink_to(rows + rows / 4);
                buffers.txs.shrink_to(fresh_txs + fresh_txs / 4);
                buffers.big.shrink_to(rows / 64);
                buffers.spends.shrink_to(rows / 64);
            }
            self.pending = buffers;
        }
        self.poisoned = false;
        Ok(())
    }

    /// Remove every stored transfer of a block after `block` (blocks a chain
    /// reorganisation replaced) and set `cursor`, in one published change:
    /// readers and a crash see the store before or after, never between.
    /// Segments wholly after `block` are dropped, the one holding it is
    /// rewritten without its later rows; addresses and tokens that only the
    /// removed transfers used stay in the dictionary (ids are never reused).
    /// Records still pending are published first. Returns how many
    /// transfers were removed.
    pub fn roll_back_after(
        &mut self,
        block: u64,
        cursor: &SourceCursor,
    ) -> Result<u64, StoreError> {
        if !self.pending.rows.is_empty() || self.new_keys.len() > 0 || self.tokens_dirty {
            self.seal(None)?;
        }
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        self.poisoned = true;
        let old = &self.store.manifest.segments;
        let keep = old.partition_point(|s| s.max_key.0 <= block);
        let mut m = self.manifest.clone();
        m.generation += 1;
        let gen = m.generation;
        m.segments.truncate(keep);
        let mut removed: u64 = old[keep..].iter().map(|s| s.rows).sum();
        if old.get(keep).is_some_and(|s| s.min_key.0 <= block) {
            let mut d = self.store.segments[keep].load();
            let n = d
                .rows
                .partition_point(|r| d.txs[r.tx as usize].block <= block);
            d.truncate_rows(n);
            removed -= n as u64;
            let (min_key, max_key) = d.min_max_key().expect("a row at or before the block");
            let file = format!("seg-{gen:08}-{keep:04}.tps");
            let bytes = d.write(&self.dir.join(&file))?;
            m.segments.push(SegmentMeta {
                file,
                rows: n as u64,
                min_key,
                max_key,
                bytes,
            });
        }
        m.cursors.insert(cursor.source.clone(), cursor.position);
        self.publish(m)?;
        self.poisoned = false;
        Ok(removed)
    }

    /// Publish `m`, delete the files it no longer names (open readers keep
    /// their maps: unlinked files stay readable on Unix) and reopen.
    fn publish(&mut self, m: Manifest) -> Result<(), StoreError> {
        m.publish(&self.dir)?;
        let live: std::collections::HashSet<&str> = m.live_files().into_iter().collect();
        for f in self.store.manifest.live_files() {
            if !live.contains(f) {
                let _ = std::fs::remove_file(self.dir.join(f));
            }
        }
        self.store = Store::open(&self.dir)?;
        self.dict_files = dict_files(&self.dir, &m)?;
        self.manifest = m;
        Ok(())
    }

    /// Remove rows whose dedup key is already stored; returns how many.
    fn drop_stored(&self, fresh: &mut SegData) -> u64 {
        let metas = &self.store.manifest.segments;
        let Some(last) = metas.last() else { return 0 };
        let before = fresh.rows.len();
        let txs = &fresh.txs;
        fresh.rows.retain(|r| {
            let t = &txs[r.tx as usize];
            let key = (t.block, t.tx_index, r.sub);
            if key > last.max_key {
                return true;
            }
            let s = metas.partition_point(|m| m.max_key < key);
            // The key is the record's chain position; a stored record with the
            // same (tx hash, sub index) sits at that position in that segment.
            !(s < metas.len()
                && metas[s].min_key <= key
                && self.store.segments[s].find(&t.hash, r.sub).is_some())
        });
        (before - fresh.rows.len()) as u64
    }
}

impl TransferSink for Appender {
    type Error = StoreError;

    fn token(&mut self, token: TokenInfo) -> Result<(), StoreError> {
        let id = self.token_id(&token.address);
        let entry = &mut self.manifest.tokens[id as usize - 1];
        if entry.info.as_ref() != Some(&token) {
            entry.info = Some(token);
            self.tokens_dirty = true;
        }
        Ok(())
    }

    fn transfer(&mut self, r: TransferRecord) -> Result<(), StoreError> {
        self.push(&r)
    }

    fn transfer_batch(&mut self, records: &[TransferRecord]) -> Result<(), StoreError> {
        Appender::transfer_batch(self, records)
    }

    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), StoreError> {
        self.seal(Some(cursor))
    }

    fn resume_position(&self, source: &str) -> Option<u64> {
        self.manifest.cursors.get(source).copied()
    }
}

/// Dictionary chunks after a checkpoint: new ids continue the range in a new
/// chunk; chunks are merged only to respect the cap. Writes the new files and
/// returns the chunk list of the next manifest.
fn write_dicts(
    store: &Store,
    dir: &Path,
    gen: u64,
    new_keys: DictKeys,
) -> Result<Vec<DictMeta>, StoreError> {
    let old_d = &store.manifest.dicts;
    let mut dparts: Vec<DictPart> = (0..old_d.len()).map(DictPart::Existing).collect();
    if new_keys.len() > 0 {
        let base = store.address_count as u32;
        dparts.push(DictPart::Fresh(base, new_keys));
    }
    let sizes: Vec<u64> = dparts
        .iter()
        .map(|p| match p {
            DictPart::Existing(i) => old_d[*i].count as u64,
            DictPart::Fresh(_, k) => k.len() as u64,
        })
        .collect();
    let has_fresh = matches!(dparts.last(), Some(DictPart::Fresh(..)));
    // Dictionary chunks are merged only to respect the cap, not by size
    // tiers: the appender's cache answers ingest lookups, and readers'
    // lookups probe at most MAX_DICT_CHUNKS tables, so tier merges would
    // only rewrite the dictionary again and again during a bulk load.
    let groups = plan_merges(
        &sizes,
        has_fresh,
        false,
        MAX_DICT_CHUNKS,
        MAX_MERGED_DICT_KEYS,
    );
    let mut slots: Vec<Option<DictPart>> = dparts.into_iter().map(Some).collect();
    let mut dparts = Vec::with_capacity(groups.len());
    for (a, b) in groups {
        if b - a == 1 {
            dparts.push(slots[a].take().expect("each part used once"));
            continue;
        }
        let mut keys = DictKeys::new();
        let mut base = None;
        for slot in &mut slots[a..b] {
            match slot.take().expect("each part used once") {
                DictPart::Existing(i) => {
                    base.get_or_insert(store.dicts[i].base);
                    store.dicts[i].read_keys(&mut keys);
                }
                DictPart::Fresh(b0, k) => {
                    base.get_or_insert(b0);
                    for j in 0..k.len() {
                        keys.push(k.get(j));
                    }
                }
            }
        }
        dparts.push(DictPart::Fresh(base.expect("non-empty group"), keys));
    }
    let mut metas = Vec::new();
    for (k, part) in dparts.into_iter().enumerate() {
        match part {
            DictPart::Existing(i) => metas.push(old_d[i].clone()),
            DictPart::Fresh(base, keys) => {
                let file = format!("dict-{gen:08}-{k:04}.tpd");
                let bytes = keys.write(base, &dir.join(&file))?;
                metas.push(DictMeta {
                    file,
                    base,
                    count: keys.len() as u32,
                    bytes,
                });
            }
        }
    }
    Ok(metas)
}

/// Which adjacent parts to merge after a checkpoint, as half-open ranges that
/// partition `0..sizes.len()`. With `tiers`, binary-counter size tiers at the
/// tail (merge while the predecessor is not larger than `TIER_RATIO` x the
/// newest); then, while there are more than `cap` parts, merge the adjacent
/// pair with the smallest combined size. Nothing is merged unless the tail
/// part is fresh.
fn plan_merges(
    sizes: &[u64],
    tail_fresh: bool,
    tiers: bool,
    cap: usize,
    max: u64,
) -> Vec<(usize, usize)> {
    let mut g: Vec<(usize, usize, u64)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| (i, i + 1, s))
        .collect();
    if !tail_fresh {
        return g.into_iter().map(|(a, b, _)| (a, b)).collect();
    }
    while tiers && g.len() >= 2 {
        let (p, l) = (g[g.len() - 2], g[g.len() - 1]);
        if p.2 > TIER_RATIO * l.2 || p.2 + l.2 > max {
            break;
        }
        g.truncate(g.len() - 2);
        g.push((p.0, l.1, p.2 + l.2));
    }
    while g.len() > cap {
        let best = (0..g.len() - 1)
            .filter(|&i| g[i].2 + g[i + 1].2 <= max)
            .min_by_key(|&i| g[i].2 + g[i + 1].2);
        let Some(i) = best else { break };
        g[i] = (g[i].0, g[i + 1].1, g[i].2 + g[i + 1].2);
        g.remove(i + 1);
    }
    g.into_iter().map(|(a, b, _)| (a, b)).collect()
}

#[cfg(test)]
mod tests {
    use super::{eth_hash, plan_merges, EthTable};
    use crate::Store;
    use tripoint_chain::{
        Address, Amount, Asset, Chain, Position, SourceCursor, TransferRecord, TransferSink, TxHash,
    };

    /// Records over `n` Ethereum addresses, old ones picked far more often
    /// (as the generator does), with pairs of different addresses whose
    /// 64-bit hashes are equal, so the compact table must tell them apart
    /// by their keys.
    fn skewed_records(n: u32) -> Vec<TransferRecord> {
        let addr = |i: u32| {
            let mut k = [0u8; 20];
            k[..4].copy_from_slice(&i.wrapping_mul(0x9E37_79B1).to_le_bytes());
            k[4..8].copy_from_slice(&i.to_le_bytes());
            if i % 2 == 1 {
                // The twin of address i - 1: xor d into bytes 8..16 and its
                // rotation into bytes 0..8, which leaves the hash unchanged.
                let mut twin = {
                    let mut k = [0u8; 20];
                    let j = i - 1;
                    k[..4].copy_from_slice(&j.wrapping_mul(0x9E37_79B1).to_le_bytes());
                    k[4..8].copy_from_slice(&j.to_le_bytes());
                    k
                };
                let d = 0x0123_4567_89ab_cdefu64 ^ i as u64;
                let a = u64::from_le_bytes(twin[..8].try_into().expect("8")) ^ d.rotate_left(23);
                let b = u64::from_le_bytes(twin[8..16].try_into().expect("8")) ^ d;
                twin[..8].copy_from_slice(&a.to_le_bytes());
                twin[8..16].copy_from_slice(&b.to_le_bytes());
                return twin;
            }
            k
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut seen = 0u32;
        let mut pick = |r: u64| {
            if seen < 2 || r.is_multiple_of(4) {
                seen = (seen + 1).min(n);
                seen - 1
            } else {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                (seen as f64 * u * u * u) as u32
            }
        };
        (0..4 * n as u64)
            .map(|i| {
                let (f, t) = (pick(next()), pick(next()));
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&i.to_be_bytes());
                TransferRecord {
                    chain: Chain::Ethereum,
                    block: 100 + i / 50,
                    timestamp: 1_600_000_000 + i as i64,
                    tx_hash: TxHash(h),
                    tx_index: (i % 50) as u32,
                    position: Position::NativeValue,
                    from: Address::Eth(addr(f)),
                    to: Address::Eth(addr(t)),
                    asset: Asset::Native(Chain::Ethereum),
                    amount: Amount::from(i),
                }
            })
            .collect()
    }

    #[test]
    fn twins_hash_alike() {
        let recs = skewed_records(64);
        let twins: Vec<_> = recs
            .iter()
            .flat_map(|r| [&r.from, &r.to])
            .filter_map(|a| match a {
                Address::Eth(k) => Some(*k),
                _ => None,
            })
            .collect();
        let mut by_hash =
            std::collections::HashMap::<u64, std::collections::HashSet<[u8; 20]>>::new();
        for k in twins {
            by_hash.entry(eth_hash(&k)).or_default().insert(k);
        }
        assert!(
            by_hash.values().any(|keys| keys.len() == 2),
            "the test data has equal-hash pairs"
        );
    }

    /// Write `records` with a checkpoint every `every`, the full-key table
    /// capped at `max_bits`; returns every file of the store by name.
    fn store_files(
        records: &[TransferRecord],
        every: usize,
        max_bits: u32,
    ) -> Vec<(String, Vec<u8>)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_or_create(dir.path()).expect("store");
        let mut app = store.appender().expect("appender");
        app.full_table_max_bits = max_bits;
        for (i, chunk) in records.chunks(every).enumerate() {
            app.transfer_batch(chunk).expect("append");
            app.checkpoint(&SourceCursor {
                source: "test".into(),
                position: i as u64,
            })
            .expect("checkpoint");
        }
        assert_eq!(app.eth_overflow.is_some(), max_bits < 26);
        app.finish().expect("finish");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("read"),
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_compact_table_gives_the_ids_the_full_table_gives() {
        // 120,000 addresses: the full-key table capped at its first size,
        // 2^16 slots (45,875 addresses), puts the rest in the compact table,
        // whose hits are confirmed against pending keys and published
        // dictionary chunks.
        let recs = skewed_records(120_000);
        let full = store_files(&recs, 100_000, 26);
        let compact = store_files(&recs, 100_000, 16);
        assert!(full.len() > 4);
        assert_eq!(
            full.iter().map(|f| &f.0).collect::<Vec<_>>(),
            compact.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for (a, b) in full.iter().zip(&compact) {
            assert!(a.1 == b.1, "{} differs", a.0);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_or_create(dir.path()).expect("store");
        let mut app = store.appender().expect("appender");
        app.full_table_max_bits = 16;
        app.transfer_batch(&recs).expect("append");
        app.finish().expect("finish");
        let s = Store::open(dir.path()).expect("open");
        let distinct: std::collections::HashSet<_> = recs
            .iter()
            .flat_map(|r| [r.from.clone(), r.to.clone()])
            .collect();
        assert_eq!(s.stats().addresses as usize, distinct.len());
    }

    #[test]
    fn eth_table_finds_every_key_across_growth() {
        let mut t = EthTable::new();
        let key = |i: u32| {
            let mut k = [0u8; 20];
            // Keys differing only in their last bytes and only in their first.
            k[16..20].copy_from_slice(&i.to_le_bytes());
            k[0] = (i % 7) as u8;
            k
        };
        for i in 0..200_000u32 {
            assert_eq!(t.get(&key(i)), None);
            t.insert(&key(i), i);
        }
        assert_eq!(t.len(), 200_000);
        for i in (0..200_000u32).step_by(7) {
            assert_eq!(t.get(&key(i)), Some(i));
        }
        assert_eq!(t.get(&key(200_001)), None);
    }

    #[test]
    fn merge_plan_is_logarithmic_and_capped() {
        // Equal checkpoints: binary counter.
        assert_eq!(
            plan_merges(&[4, 2, 1, 1], true, true, 12, 100),
            vec![(0, 4)]
        );
        assert_eq!(
            plan_merges(&[4, 2, 1], true, true, 12, 100),
            vec![(0, 1), (1, 2), (2, 3)]
        );
        // Shrinking checkpoints never trigger the tiers; the cap merges the cheapest pair.
        assert_eq!(
            plan_merges(&[50, 40, 30, 3, 2], true, true, 4, 1000),
            vec![(0, 1), (1, 2), (2, 3), (3, 5)]
        );
        // Nothing fresh: nothing rewritten; too big: not merged.
        assert_eq!(
            plan_merges(&[1, 1, 1], false, true, 1, 100),
            vec![(0, 1), (1, 2), (2, 3)]
        );
        assert_eq!(
            plan_merges(&[60, 60], true, true, 1, 100),
            vec![(0, 1), (1, 2)]
        );
        // Without tiers only the cap merges.
        assert_eq!(
            plan_merges(&[4, 2, 1, 1], true, false, 12, 100),
            vec![(0, 1), (1, 2), (2, 3), (3, 4)]
        );
        assert_eq!(
            plan_merges(&[4, 2, 1, 1], true, false, 3, 100),
            vec![(0, 1), (1, 2), (2, 4)]
        );
    }
}
