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

use crate::dict::DictKeys;
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
/// Segments beyond this size are never merged by tiering (bounds merge memory).
const MAX_MERGED_ROWS: u64 = 1 << 26;
/// The appender's address cache is dropped after a checkpoint beyond this size;
/// lookups then go to the mapped dictionary. 2^25 addresses (a ~1.6 GB table)
/// cover ingests up to ~7·10^7 generated transfers.
const MAX_CACHED_ADDRESSES: usize = 1 << 25;

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

    /// Insert a key known to be absent.
    fn insert(&mut self, k: &[u8; 20], id: AddrId) {
        if (self.len + 1) * 10 > self.cap * 7 {
            let mut bigger = EthTable::with_bits(64 - self.shift + 1);
            for s in self.slots().iter().filter(|s| s.id1 != 0) {
                bigger.put((s.a, s.b, s.c), s.id1);
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
        Ok(Appender {
            dir: dir.to_path_buf(),
            _lock: lock,
            next_addr,
            store,
            manifest,
            eth_cache: EthTable::new(),
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

    fn addr_id(&mut self, addr: &Address) -> Result<AddrId, StoreError> {
        let cached = match addr {
            Address::Eth(b) => self.eth_cache.get(b),
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
            Address::Eth(b) => self.eth_cache.insert(b, id),
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
        if self.addr_cache.len() + self.eth_cache.len() > MAX_CACHED_ADDRESSES {
            self.addr_cache = FxMap::default();
            self.eth_cache = EthTable::new();
            self.cache_complete = false;
        }
        self.summary.appended += appended;
        self.summary.duplicates_skipped += dups;
        self.summary.segments_written += written;
        if let Some(mut buffers) = recycled {
            buffers.clear();
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
    let groups = plan_merges(&sizes, has_fresh, false, MAX_DICT_CHUNKS, u32::MAX as u64);
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
    use super::{plan_merges, EthTable};

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
