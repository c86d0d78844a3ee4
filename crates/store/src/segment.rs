//! Immutable transfer segments: columns in chain order, a transaction table,
//! per-block timestamps, exact amounts and forward/reverse CSR adjacency.
//!
//! [`SegData`] is the in-memory form (pending appends, merges); [`Segment`] the
//! mapped, read-only form.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tripoint_chain::{AddrId, Amount, OutPoint, TransferBatch, TransferRow, TxHash};

use crate::format::{add_narrow, FileView, FileWriter, UintCol, KIND_SEGMENT};
use crate::owned::{OwnedSlice, OwnedUintCol};
use crate::StoreError;

const S_META: u32 = 1; // u64: [rows, txs, blocks, addr_lo, addr_hi]
const S_BLOCK: u32 = 2; // u64 per distinct block
const S_BLOCK_TS: u32 = 3; // i64 per distinct block
const S_TX_HASH: u32 = 4; // [u8; 32] per tx, chain order
const S_TX_START: u32 = 5; // u64 words: bit r set when row r starts a new tx
const S_TX_INDEX: u32 = 6; // narrow per tx: index of the tx in its block
const S_TX_RANK: u32 = 7; // u32 per S_TX_START word: set bits before it
const S_TX_BY_HASH: u32 = 8; // u32 per tx: tx numbers sorted by hash
const S_BLOCK_START: u32 = 24; // u64 words: bit r set when row r starts a new block
const S_BLOCK_RANK: u32 = 25; // u32 per S_BLOCK_START word
const S_SRC: u32 = 10; // u32 per row
const S_DST: u32 = 11; // u32 per row
const S_ASSET: u32 = 13; // narrow per row
const S_SUB: u32 = 14; // narrow per row: sub_index rotated left by 1 (Bitcoin output flag to bit 0)
const S_AMOUNT_LO: u32 = 15; // u64 per row: low 64 bits of the amount, or an index into S_BIG
const S_BIG: u32 = 16; // [u8; 32] (or [u8; 16]) little-endian per overflowed amount
const S_AMOUNT_HI: u32 = 17; // narrow per row: bits 64.. of the amount; all ones = overflowed; empty = all 0
const S_SPEND_ROW: u32 = 20; // u32 per Bitcoin input row, ascending
const S_SPEND_TX: u32 = 21; // [u8; 32]
const S_SPEND_OUT: u32 = 22; // u32
const S_OUT_OFF: u32 = 30; // dense: u32 first row per group of 32 ids; sparse: u32 per S_OUT_KEYS entry + 1
const S_OUT_IDS: u32 = 31; // u32 per row: rows grouped by src, ascending
const S_IN_OFF: u32 = 32;
const S_IN_IDS: u32 = 33;
const S_OUT_KEYS: u32 = 34; // u32: sorted distinct src ids when sparse; empty when dense
const S_IN_KEYS: u32 = 35;
const S_OUT_DEG: u32 = 36; // dense: u8 degree per id in addr_lo..=addr_hi, 255 = see S_OUT_ESC_*
const S_IN_DEG: u32 = 37;
const S_OUT_ESC_ID: u32 = 38; // dense: u32 local ids of degree >= 255, ascending
const S_OUT_ESC_DEG: u32 = 39; // u32 their degrees
const S_IN_ESC_ID: u32 = 40;
const S_IN_ESC_DEG: u32 = 41;
/// The sections of one adjacency direction, in `Adjacency` order.
const OUT_SECTIONS: [u32; 6] = [
    S_OUT_KEYS,
    S_OUT_OFF,
    S_OUT_IDS,
    S_OUT_DEG,
    S_OUT_ESC_ID,
    S_OUT_ESC_DEG,
];
const IN_SECTIONS: [u32; 6] = [
    S_IN_KEYS,
    S_IN_OFF,
    S_IN_IDS,
    S_IN_DEG,
    S_IN_ESC_ID,
    S_IN_ESC_DEG,
];

/// Ids per stored offset in dense adjacency; degrees in between are summed.
const GROUP: usize = 32;

/// What one thread read last from a mapped store file: the row reads of a
/// segment ([`Segment::row`], [`Segment::tx_hash`]) and the address reads
/// of a dictionary chunk count as a reader "in order" once they have come
/// in ascending id order [`IN_ORDER_RUN`] times in a row (every row, or a
/// sorted subset: a trace's flows, an export's row groups, a sparse
/// walk's heap), and such a reader unmaps the pages behind it, as a
/// sequential scan does ([`Segment::release_behind`]): otherwise every
/// page it maps stays in the process's resident memory, at 5×10^8
/// transfers most of the store. Per thread, because the export's workers
/// each read their own row groups at once; random reads are never
/// ascending that many times in a row, so they leave the map alone.
#[derive(Clone, Copy, Default)]
pub(crate) struct InOrderReader {
    /// Address of the file's map (which file the reads were in).
    file: usize,
    last: u32,
    run: u32,
}

/// Ascending reads in a row that make an [`InOrderReader`] "in order".
const IN_ORDER_RUN: u32 = 1024;
/// How far behind its last read an in-order reader may look without
/// breaking its run (a sweep reads the other rows of a row's transaction).
const IN_ORDER_BACK: u32 = 256;
/// Rows per stretch behind which an in-order row reader unmaps (small, so
/// that what it leaves mapped in each segment it passed stays small).
const IN_ORDER_ROWS: u32 = 1 << 16;

impl InOrderReader {
    /// Count a read of id `at` of `view` towards the thread's reader in
    /// `reader` ([`InOrderReader::read`]).
    #[inline]
    pub(crate) fn note(
        reader: &'static std::thread::LocalKey<std::cell::Cell<InOrderReader>>,
        view: &FileView,
        at: u32,
        stretch: u32,
    ) -> Option<u32> {
        let file = view as *const FileView as usize;
        reader.with(|r| {
            let mut state = r.get();
            let end = state.read(file, at, stretch);
            r.set(state);
            end
        })
    }

    /// Count a read of id `at` of the file mapped at `file`: `Some(end)`
    /// when an in-order reader has just passed into a new stretch of
    /// `stretch` ids starting at `end`, so ids `0..end` may be unmapped.
    #[inline]
    pub(crate) fn read(&mut self, file: usize, at: u32, stretch: u32) -> Option<u32> {
        if self.file == file && at < self.last && self.last - at <= IN_ORDER_BACK {
            // A look just behind (a transaction's other rows, read around
            // a row) neither counts nor breaks the run.
            return None;
        }
        if self.file != file || at < self.last {
            *self = InOrderReader {
                file,
                last: at,
                run: 0,
            };
            return None;
        }
        let crossed = at / stretch != self.last / stretch;
        self.last = at;
        self.run = self.run.saturating_add(1);
        (crossed && self.run >= IN_ORDER_RUN).then_some(at / stretch * stretch)
    }
}

/// Every open segment's map, for [`release_indexes`].
static SEGMENT_MAPS: Mutex<Vec<Weak<FileView>>> = Mutex::new(Vec::new());
/// Set by a per-address index read ([`Segment::outgoing`],
/// [`Segment::incoming`]) since the last [`release_indexes`].
static INDEX_MAPPED: AtomicBool = AtomicBool::new(false);

/// Unmap the per-address index (adjacency) pages of every open segment,
/// if an index read happened since the last call. A sequential scan's
/// read does this ([`Segment::read_rows`]): a sweep reads no index, and
/// the sparse walk that a trace starts with before it turns to a sweep
/// (`Traversal::Auto`) maps pages of every segment's index as it goes, 5.9
/// GiB of them at 5×10^8 transfers, which would otherwise stay in the
/// process's resident memory beside the sweep's state. The page cache
/// keeps them; a later index read maps them again.
fn release_indexes() {
    if !INDEX_MAPPED.swap(false, Ordering::Relaxed) {
        return;
    }
    let mut maps = SEGMENT_MAPS.lock().unwrap_or_else(|e| e.into_inner());
    maps.retain(|w| w.strong_count() > 0);
    for view in maps.iter().filter_map(Weak::upgrade) {
        for id in OUT_SECTIONS.iter().chain(&IN_SECTIONS) {
            match view.width(*id) {
                Ok(1) => view.slice::<u8>(*id).map(|s| view.release(s)),
                Ok(4) => view.slice::<u32>(*id).map(|s| view.release(s)),
                _ => Ok(()),
            }
            .ok();
        }
    }
}

thread_local! {
    /// This thread's row reads of segments ([`Segment::row`]).
    static ROW_READER: std::cell::Cell<InOrderReader> = const {
        std::cell::Cell::new(InOrderReader { file: 0, last: 0, run: 0 })
    };
}

/// Rows per chunk whose column pages a sequential scan unmaps behind
/// itself ([`Segment::release_behind`]): about 20–30 MB of mapped columns
/// stay resident at most, and a 10^7 sweep makes ~60 `madvise` calls.
const RELEASE_ROWS: usize = 1 << 20;
const DEG_ESCAPE: u8 = u8::MAX;

// Amounts: an amount below 2^96 (whose bits 64.. are not all ones) is stored
// as its low 64 bits plus its high bits in the narrowest column that holds the
// segment's largest (often none: the column is then empty). Anything larger
// goes to the exact overflow table; its row's low word is the table index and
// its high column holds all ones. Random access stays O(1) and typical wei
// amounts (< 2^80) cost 8 + 2 bytes.

/// In-memory `Row::amount_hi` of an overflowed amount.
pub const BIG_HI: u32 = u32::MAX;

pub fn encode_amount(v: Amount, big: &mut Vec<[u8; 32]>) -> (u64, u32) {
    let low = *v.low();
    if *v.high() == 0 && ((low >> 64) as u64) < BIG_HI as u64 {
        return (low as u64, (low >> 64) as u32);
    }
    big.push(v.to_le_bytes());
    (big.len() as u64 - 1, BIG_HI)
}

#[cfg(test)]
pub fn decode_amount(lo: u64, hi: u32, big: &[[u8; 32]]) -> Amount {
    decode_amount_by(lo, hi, |i| big[i])
}

#[inline]
fn decode_amount_by(lo: u64, hi: u32, big: impl Fn(usize) -> [u8; 32]) -> Amount {
    if hi == BIG_HI {
        return Amount::from_le_bytes(big(lo as usize));
    }
    Amount::from(((hi as u128) << 64) | lo as u128)
}

/// Appends one bit per row of `amount_lo` (bit `i % 64` of word `i / 64`):
/// `amount_lo[i] >= min`, or the row has a high part (`high[i] != 0`).
/// (Column by column, 64 rows at a time: no test per row of which column
/// is there. AVX-512 compares measured slower here.)
fn at_least_bits(amount_lo: &[u64], high: Option<UintCol>, min: u64, out: &mut Vec<u64>) {
    fn mask<T: Copy>(rows: &[T], test: impl Fn(T) -> bool) -> u64 {
        (rows.iter().enumerate()).fold(0u64, |m, (k, &x)| m | u64::from(test(x)) << k)
    }
    for (w, rows) in amount_lo.chunks(64).enumerate() {
        let at = w * 64..w * 64 + rows.len();
        out.push(
            mask(rows, |a| a >= min)
                | match high {
                    None => 0,
                    Some(UintCol::U8(v)) => mask(&v[at], |h| h != 0),
                    Some(UintCol::U16(v)) => mask(&v[at], |h| h != 0),
                    Some(UintCol::U32(v)) => mask(&v[at], |h| h != 0),
                },
        );
    }
}

/// Chain order key packed into one integer: (block, tx index, sub index).
pub type OrderKey = (u64, u32, u32);

fn pack(k: OrderKey) -> u128 {
    ((k.0 as u128) << 64) | ((k.1 as u128) << 32) | k.2 as u128
}

#[derive(Clone, Copy, Debug)]
pub struct TxEntry {
    pub hash: [u8; 32],
    pub block: u64,
    pub timestamp: i64,
    pub tx_index: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub tx: u32,
    pub sub: u32,
    pub src: AddrId,
    pub dst: AddrId,
    pub asset: u32,
    /// Low 64 bits of the amount, or an index into `SegData::big` when
    /// `amount_hi == BIG_HI`.
    pub amount: u64,
    pub amount_hi: u32,
    /// Index into `SegData::spends`, or `NO_SPEND`.
    pub spend: u32,
}

pub const NO_SPEND: u32 = u32::MAX;

/// Transfers in memory, columnar enough to sort and write quickly.
#[derive(Default, Clone)]
pub struct SegData {
    pub txs: Vec<TxEntry>,
    pub rows: Vec<Row>,
    pub big: Vec<[u8; 32]>,
    pub spends: Vec<OutPoint>,
}

impl SegData {
    /// Empty, keeping the allocations.
    pub fn clear(&mut self) {
        self.txs.clear();
        self.rows.clear();
        self.big.clear();
        self.spends.clear();
    }

    pub fn key(&self, r: &Row) -> OrderKey {
        let t = &self.txs[r.tx as usize];
        (t.block, t.tx_index, r.sub)
    }

    pub fn min_max_key(&self) -> Option<(OrderKey, OrderKey)> {
        Some((self.key(self.rows.first()?), self.key(self.rows.last()?)))
    }

    /// Keep the first `n` rows of a normalized segment, and the txs, big
    /// amounts and spends they use (each is pushed in row order, so what the
    /// kept rows use is a prefix).
    pub fn truncate_rows(&mut self, n: usize) {
        self.rows.truncate(n);
        let used = |f: fn(&Row) -> Option<usize>| {
            self.rows.iter().filter_map(f).max().map_or(0, |i| i + 1)
        };
        let txs = used(|r| Some(r.tx as usize));
        let big = used(|r| (r.amount_hi == BIG_HI).then_some(r.amount as usize));
        let spends = used(|r| (r.spend != NO_SPEND).then_some(r.spend as usize));
        self.txs.truncate(txs);
        self.big.truncate(big);
        self.spends.truncate(spends);
    }

    /// Append `other` after `self` (ids remapped); the result is unsorted in general.
    pub fn concat(mut self, other: SegData) -> SegData {
        let (t0, b0, s0) = (
            self.txs.len() as u32,
            self.big.len() as u64,
            self.spends.len() as u32,
        );
        self.txs.extend_from_slice(&other.txs);
        self.big.extend_from_slice(&other.big);
        self.spends.extend_from_slice(&other.spends);
        self.rows.reserve(other.rows.len());
        for mut r in other.rows {
            r.tx += t0;
            if r.amount_hi == BIG_HI {
                r.amount += b0;
            }
            if r.spend != NO_SPEND {
                r.spend += s0;
            }
            self.rows.push(r);
        }
        self
    }

    /// Sort rows into chain order, drop rows whose (tx hash, sub index) was
    /// already seen (the earliest pushed wins) and rebuild the tx table in chain
    /// order. Returns the number of dropped duplicates.
    pub fn normalize(self) -> (SegData, u64) {
        if self.is_normal() {
            return (self, 0);
        }
        let n = self.rows.len();
        let keys: Vec<u128> = self.rows.iter().map(|r| pack(self.key(r))).collect();
        let sorted = keys.windows(2).all(|w| w[0] <= w[1]);
        let order: Vec<u32> = if sorted {
            (0..n as u32).collect()
        } else {
            let mut idx: Vec<u32> = (0..n as u32).collect();
            // Ties (same position) order by hash, then by arrival so the first wins.
            idx.sort_unstable_by(|&a, &b| {
                keys[a as usize].cmp(&keys[b as usize]).then_with(|| {
                    let (ra, rb) = (&self.rows[a as usize], &self.rows[b as usize]);
                    self.txs[ra.tx as usize]
                        .hash
                        .cmp(&self.txs[rb.tx as usize].hash)
                        .then(a.cmp(&b))
                })
            });
            idx
        };
        let mut out = SegData {
            txs: Vec::new(),
            rows: Vec::with_capacity(n),
            big: Vec::new(),
            spends: Vec::new(),
        };
        let mut dups = 0u64;
        let mut last: Option<(u128, [u8; 32])> = None;
        let mut seen_in_key: Vec<[u8; 32]> = Vec::new();
        for &i in &order {
            let r = self.rows[i as usize];
            let k = keys[i as usize];
            let t = self.txs[r.tx as usize];
            match last {
                Some((lk, _)) if lk == k => {
                    // Same chain position: a duplicate if the hash repeats.
                    if seen_in_key.contains(&t.hash) {
                        dups += 1;
                        continue;
                    }
                }
                _ => seen_in_key.clear(),
            }
            seen_in_key.push(t.hash);
            let new_tx = match out.txs.last() {
                Some(p) => p.hash != t.hash || p.block != t.block || p.tx_index != t.tx_index,
                None => true,
            };
            if new_tx {
                out.txs.push(t);
            }
            let mut row = r;
            row.tx = out.txs.len() as u32 - 1;
            if r.amount_hi == BIG_HI {
                out.big.push(self.big[r.amount as usize]);
                row.amount = out.big.len() as u64 - 1;
            }
            if r.spend != NO_SPEND {
                out.spends.push(self.spends[r.spend as usize]);
                row.spend = out.spends.len() as u32 - 1;
            }
            out.rows.push(row);
            last = Some((k, t.hash));
        }
        (out, dups)
    }

    /// Already in the form `normalize` produces (strictly ascending keys, so
    /// no duplicates; tx numbers ascend in steps of 0 or 1 and cover the tx
    /// table)? In-order ingest and merges of adjacent segments are, and then
    /// skip the sort and the copies.
    fn is_normal(&self) -> bool {
        let (Some(first), Some(last)) = (self.rows.first(), self.rows.last()) else {
            return self.txs.is_empty();
        };
        if first.tx != 0 || last.tx as usize + 1 != self.txs.len() {
            return false;
        }
        let mut prev = (pack(self.key(first)), first.tx);
        for r in &self.rows[1..] {
            let k = pack(self.key(r));
            if k <= prev.0 || r.tx.wrapping_sub(prev.1) > 1 {
                return false;
            }
            prev = (k, r.tx);
        }
        true
    }

    /// Tx numbers in ascending hash order. Sorts on the first 8 bytes as an
    /// integer (hashes are uniform, so ties are rare) and only compares whole
    /// hashes within ties: far cheaper than 32-byte comparisons throughout.
    fn hash_order(&self) -> Vec<u32> {
        let prefix = |t: usize| {
            u64::from_be_bytes(
                self.txs[t].hash[..8]
                    .try_into()
                    .expect("a slice of the array's length"),
            )
        };
        let mut keyed: Vec<(u64, u32)> =
            (0..self.txs.len()).map(|t| (prefix(t), t as u32)).collect();
        keyed.sort_unstable();
        let mut order: Vec<u32> = keyed.iter().map(|&(_, t)| t).collect();
        let mut i = 0;
        while i < keyed.len() {
            let mut j = i + 1;
            while j < keyed.len() && keyed[j].0 == keyed[i].0 {
                j += 1;
            }
            if j - i > 1 {
                order[i..j].sort_unstable_by(|&a, &b| {
                    self.txs[a as usize].hash.cmp(&self.txs[b as usize].hash)
                });
            }
            i = j;
        }
        order
    }

    /// Write a normalized segment to `path`; returns the file size.
    pub fn write(&self, path: &Path) -> Result<u64, StoreError> {
        let n = self.rows.len();
        let mut blocks: Vec<u64> = Vec::new();
        let mut block_ts: Vec<i64> = Vec::new();
        for t in &self.txs {
            if blocks.last() != Some(&t.block) {
                blocks.push(t.block);
                block_ts.push(t.timestamp);
            }
        }
        // Row -> tx and row -> block as rank bitmaps (a bit where a new one starts).
        let (tx_start, tx_rank) =
            rank_bits(n, |i| i == 0 || self.rows[i].tx != self.rows[i - 1].tx);
        let (block_start, block_rank) = rank_bits(n, |i| {
            i == 0 || {
                let (a, b) = (self.rows[i - 1].tx, self.rows[i].tx);
                a != b && self.txs[a as usize].block != self.txs[b as usize].block
            }
        });

        let mut spend_row = Vec::new();
        let mut spend_tx = Vec::new();
        let mut spend_out = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            if r.spend != NO_SPEND {
                let op = self.spends[r.spend as usize];
                spend_row.push(i as u32);
                spend_tx.push(op.tx.0);
                spend_out.push(op.index);
            }
        }
        let lo = self
            .rows
            .iter()
            .map(|r| r.src.min(r.dst))
            .min()
            .unwrap_or(0);
        let hi = self
            .rows
            .iter()
            .map(|r| r.src.max(r.dst))
            .max()
            .unwrap_or(0);
        let out = || Csr::build(self.rows.iter().map(|r| r.src), n, lo, hi);
        let inc_and_hashes = || {
            (
                Csr::build(self.rows.iter().map(|r| r.dst), n, lo, hi),
                self.hash_order(),
            )
        };
        // Big segments build the two directions on two threads (a checkpoint
        // otherwise leaves the second core mostly idle).
        let (out, (inc, tx_by_hash)) = if n >= 1 << 16 {
            std::thread::scope(|scope| {
                let other = scope.spawn(inc_and_hashes);
                let out = out();
                match other.join() {
                    Ok(r) => (out, r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        } else {
            (out(), inc_and_hashes())
        };
        let meta = [
            n as u64,
            self.txs.len() as u64,
            blocks.len() as u64,
            lo as u64,
            hi as u64,
        ];

        let mut w = FileWriter::default();
        w.add(S_META, &meta[..]);
        w.add(S_BLOCK, &blocks[..]);
        w.add(S_BLOCK_TS, &block_ts[..]);
        w.add_iter(S_TX_HASH, self.txs.len(), self.txs.iter().map(|t| t.hash));
        add_narrow(&mut w, S_TX_INDEX, self.txs.iter().map(|t| t.tx_index));
        w.add(S_TX_BY_HASH, &tx_by_hash[..]);
        w.add(S_TX_START, &tx_start[..]);
        w.add(S_TX_RANK, &tx_rank[..]);
        w.add(S_BLOCK_START, &block_start[..]);
        w.add(S_BLOCK_RANK, &block_rank[..]);
        w.add_iter(S_SRC, n, self.rows.iter().map(|r| r.src));
        w.add_iter(S_DST, n, self.rows.iter().map(|r| r.dst));
        add_narrow(&mut w, S_ASSET, self.rows.iter().map(|r| r.asset));
        add_narrow(
            &mut w,
            S_SUB,
            self.rows.iter().map(|r| r.sub.rotate_left(1)),
        );
        w.add_iter(S_AMOUNT_LO, n, self.rows.iter().map(|r| r.amount));
        add_amount_hi(&mut w, &self.rows);
        // Overflowed amounts are stored in 16 bytes when all of them fit u128.
        if self.big.iter().all(|b| b[16..] == [0u8; 16]) {
            let narrow: Vec<[u8; 16]> = self
                .big
                .iter()
                .map(|b| b[..16].try_into().expect("16 bytes"))
                .collect();
            w.add_owned(S_BIG, narrow);
        } else {
            w.add(S_BIG, &self.big[..]);
        }
        w.add(S_SPEND_ROW, &spend_row[..]);
        w.add(S_SPEND_TX, &spend_tx[..]);
        w.add(S_SPEND_OUT, &spend_out[..]);
        out.add(&mut w, OUT_SECTIONS);
        inc.add(&mut w, IN_SECTIONS);
        w.write(path, KIND_SEGMENT)
    }
}

/// The high-amount column at the narrowest width whose all-ones value is free
/// to mark overflowed rows; empty when every amount fits 64 bits.
fn add_amount_hi<'a>(w: &mut FileWriter<'a>, rows: &'a [Row]) {
    let (max, any_big) = rows.iter().fold((0u32, false), |(m, b), r| {
        if r.amount_hi == BIG_HI {
            (m, true)
        } else {
            (m.max(r.amount_hi), b)
        }
    });
    let n = rows.len();
    if max == 0 && !any_big {
        w.add::<u8>(S_AMOUNT_HI, &[]);
    } else if max < u8::MAX as u32 {
        w.add_iter(
            S_AMOUNT_HI,
            n,
            rows.iter().map(|r| r.amount_hi.min(u8::MAX as u32) as u8),
        );
    } else if max < u16::MAX as u32 {
        w.add_iter(
            S_AMOUNT_HI,
            n,
            rows.iter().map(|r| r.amount_hi.min(u16::MAX as u32) as u16),
        );
    } else {
        w.add_iter(S_AMOUNT_HI, n, rows.iter().map(|r| r.amount_hi));
    }
}

/// A bitmap over `n` rows (bit i = `set(i)`) and, per 64-bit word, the number
/// of set bits before it: "which tx/block is row i in" is then one popcount.
fn rank_bits(n: usize, set: impl Fn(usize) -> bool) -> (Vec<u64>, Vec<u32>) {
    let words = n.div_ceil(64);
    let mut bits = vec![0u64; words];
    for (i, w) in bits.iter_mut().enumerate() {
        for b in 0..64.min(n - i * 64) {
            if set(i * 64 + b) {
                *w |= 1 << b;
            }
        }
    }
    let mut rank = Vec::with_capacity(words);
    let mut acc = 0u32;
    for w in &bits {
        rank.push(acc);
        acc += w.count_ones();
    }
    (bits, rank)
}

/// Mapped rank bitmap (see [`rank_bits`]).
struct RankBits {
    words: OwnedSlice<u64>,
    rank: OwnedSlice<u32>,
}

impl RankBits {
    /// Set bits in `0..=i`, minus one: the number of the run row `i` is in.
    #[inline]
    fn run_of(&self, i: usize) -> u32 {
        let (w, b) = (i / 64, i % 64);
        self.rank[w] + (self.words[w] & (u64::MAX >> (63 - b))).count_ones() - 1
    }

    #[inline]
    fn starts(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Set bits in total, from the last rank entry (O(1): opening a segment
    /// must not scan it).
    fn ones(&self) -> u64 {
        match (self.rank.last(), self.words.last()) {
            (Some(&r), Some(w)) => r as u64 + w.count_ones() as u64,
            _ => 0,
        }
    }
}

/// Adjacency in memory before writing: rows grouped by id, and either dense
/// compact offsets (a u32 first row per group of 32 ids plus a u8 degree per
/// id, larger degrees in an escape list) or sparse ones (the occurring ids
/// and a u32 offset each).
struct Csr {
    keys: Vec<u32>,
    off: Vec<u32>,
    ids: Vec<u32>,
    deg: Vec<u8>,
    esc_id: Vec<u32>,
    esc_deg: Vec<u32>,
}

impl Csr {
    /// Rows of each address in ascending (= chain) order, by a counting sort.
    /// Sparse when the segment has fewer than span / 8 rows (a small segment
    /// written late in a big store touches ids spread over the whole
    /// dictionary; dense offsets would cost over a byte per address of the
    /// store); a lookup then costs a binary search.
    fn build(ids: impl Iterator<Item = u32> + Clone, n: usize, lo: u32, hi: u32) -> Csr {
        let empty = Csr {
            keys: Vec::new(),
            off: Vec::new(),
            ids: Vec::new(),
            deg: Vec::new(),
            esc_id: Vec::new(),
            esc_deg: Vec::new(),
        };
        if n == 0 {
            return Csr {
                off: vec![0],
                ..empty
            };
        }
        let span = (hi - lo) as usize + 1;
        if n * 8 < span {
            // At most n distinct ids: sort (id, row) pairs instead of a span-sized array.
            let mut pairs: Vec<(u32, u32)> = ids.enumerate().map(|(r, a)| (a, r as u32)).collect();
            pairs.sort_unstable();
            let mut keys = Vec::new();
            let mut off = Vec::new();
            for (i, &(a, _)) in pairs.iter().enumerate() {
                if keys.last() != Some(&a) {
                    keys.push(a);
                    off.push(i as u32);
                }
            }
            off.push(n as u32);
            let rows = pairs.into_iter().map(|(_, r)| r).collect();
            return Csr {
                keys,
                off,
                ids: rows,
                ..empty
            };
        }
        let mut count = vec![0u32; span];
        for a in ids.clone() {
            count[(a - lo) as usize] += 1;
        }
        let mut fill = Vec::with_capacity(span);
        let mut groups = Vec::with_capacity(span.div_ceil(GROUP));
        let mut deg = Vec::with_capacity(span);
        let (mut esc_id, mut esc_deg) = (Vec::new(), Vec::new());
        let mut acc = 0u32;
        for (i, &c) in count.iter().enumerate() {
            if i % GROUP == 0 {
                groups.push(acc);
            }
            fill.push(acc);
            acc += c;
            if c >= DEG_ESCAPE as u32 {
                deg.push(DEG_ESCAPE);
                esc_id.push(i as u32);
                esc_deg.push(c);
            } else {
                deg.push(c as u8);
            }
        }
        drop(count);
        let mut out = vec![0u32; n];
        for (row, a) in ids.enumerate() {
            let slot = &mut fill[(a - lo) as usize];
            out[*slot as usize] = row as u32;
            *slot += 1;
        }
        Csr {
            off: groups,
            ids: out,
            deg,
            esc_id,
            esc_deg,
            ..empty
        }
    }

    /// Sections: keys, offsets, ids, degrees, escape ids, escape degrees.
    fn add(self, w: &mut FileWriter<'_>, s: [u32; 6]) {
        w.add_owned(s[0], self.keys);
        w.add_owned(s[1], self.off);
        w.add_owned(s[2], self.ids);
        w.add_owned(s[3], self.deg);
        w.add_owned(s[4], self.esc_id);
        w.add_owned(s[5], self.esc_deg);
    }
}

/// Mapped adjacency of one direction.
struct Adjacency {
    keys: OwnedSlice<u32>,
    off: OwnedSlice<u32>,
    ids: OwnedSlice<u32>,
    deg: OwnedSlice<u8>,
    esc_id: OwnedSlice<u32>,
    esc_deg: OwnedSlice<u32>,
}

impl Adjacency {
    fn load(v: &Arc<FileView>, s: [u32; 6]) -> Result<Adjacency, StoreError> {
        Ok(Adjacency {
            keys: OwnedSlice::section(v, s[0])?,
            off: OwnedSlice::section(v, s[1])?,
            ids: OwnedSlice::section(v, s[2])?,
            deg: OwnedSlice::section(v, s[3])?,
            esc_id: OwnedSlice::section(v, s[4])?,
            esc_deg: OwnedSlice::section(v, s[5])?,
        })
    }

    fn valid(&self, rows: usize, span: usize) -> bool {
        self.ids.len() == rows
            && self.esc_id.len() == self.esc_deg.len()
            && if self.keys.is_empty() {
                rows == 0 && self.off.len() == 1
                    || self.deg.len() == span && self.off.len() == span.div_ceil(GROUP)
            } else {
                self.off.len() == self.keys.len() + 1 && self.deg.is_empty()
            }
    }

    #[inline]
    fn degree(&self, local: usize) -> u32 {
        match self.deg[local] {
            DEG_ESCAPE => {
                let k = self.esc_id.partition_point(|&e| (e as usize) < local);
                self.esc_deg[k]
            }
            d => d as u32,
        }
    }

    /// Rows of local id `local` (dense), or of id `addr` (sparse).
    fn rows(&self, local: usize, addr: u32) -> &[u32] {
        if !self.keys.is_empty() {
            return match self.keys.binary_search(&addr) {
                Ok(k) => &self.ids[self.off[k] as usize..self.off[k + 1] as usize],
                Err(_) => &[],
            };
        }
        if self.deg.is_empty() {
            return &[];
        }
        let g = local / GROUP;
        let mut start = self.off[g] as usize;
        let prefix = &self.deg[g * GROUP..local];
        if prefix.contains(&DEG_ESCAPE) {
            for j in g * GROUP..local {
                start += self.degree(j) as usize;
            }
        } else {
            start += prefix.iter().map(|&d| d as usize).sum::<usize>();
        }
        &self.ids[start..start + self.degree(local) as usize]
    }
}

/// Column slices of a mapped segment; each keeps the map alive.
struct Cols {
    block: OwnedSlice<u64>,
    block_ts: OwnedSlice<i64>,
    tx_hash: OwnedSlice<[u8; 32]>,
    tx_index: OwnedUintCol,
    tx_by_hash: OwnedSlice<u32>,
    tx_of_row: RankBits,
    block_of_row: RankBits,
    src: OwnedSlice<u32>,
    dst: OwnedSlice<u32>,
    asset: OwnedUintCol,
    sub: OwnedUintCol,
    amount_lo: OwnedSlice<u64>,
    amount_hi: Option<OwnedUintCol>,
    /// The stored all-ones value of `amount_hi`'s width.
    hi_overflow: u32,
    big: BigCol,
    spend_row: OwnedSlice<u32>,
    spend_tx: OwnedSlice<[u8; 32]>,
    spend_out: OwnedSlice<u32>,
    out: Adjacency,
    inc: Adjacency,
}

impl Cols {
    #[inline]
    fn amount_hi(&self, i: usize) -> u32 {
        match &self.amount_hi {
            None => 0,
            Some(c) => {
                let h = c.get(i);
                if h == self.hi_overflow {
                    BIG_HI
                } else {
                    h
                }
            }
        }
    }

    #[inline]
    fn amount(&self, i: usize) -> Amount {
        decode_amount_by(self.amount_lo[i], self.amount_hi(i), |k| self.big.get(k))
    }
}

/// The overflow-amount table at its stored width.
enum BigCol {
    W16(OwnedSlice<[u8; 16]>),
    W32(OwnedSlice<[u8; 32]>),
}

impl BigCol {
    fn get(&self, i: usize) -> [u8; 32] {
        match self {
            BigCol::W16(v) => {
                let mut b = [0u8; 32];
                b[..16].copy_from_slice(&v[i]);
                b
            }
            BigCol::W32(v) => v[i],
        }
    }

    fn len(&self) -> usize {
        match self {
            BigCol::W16(v) => v.len(),
            BigCol::W32(v) => v.len(),
        }
    }
}

/// A mapped, immutable segment.
pub struct Segment {
    cols: Cols,
    view: Arc<FileView>,
    pub rows: u32,
    addr_lo: u32,
    addr_hi: u32,
}

impl Segment {
    pub fn open(path: &Path) -> Result<Segment, StoreError> {
        let view = Arc::new(FileView::open(path, KIND_SEGMENT)?);
        let v = &view;
        let meta: &[u64] = v.slice(S_META)?;
        let corrupt = |msg: &str| StoreError::Corrupt {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        };
        if meta.len() != 5 {
            return Err(corrupt("bad segment header"));
        }
        let (n, ntx, nb) = (meta[0] as usize, meta[1] as usize, meta[2] as usize);
        let amount_hi = match v.slice::<u8>(S_AMOUNT_HI) {
            Ok([]) => None,
            _ => Some(OwnedUintCol::section(v, S_AMOUNT_HI)?),
        };
        let hi_overflow = match v.width(S_AMOUNT_HI)? {
            1 => u8::MAX as u32,
            2 => u16::MAX as u32,
            _ => u32::MAX,
        };
        let cols = Cols {
            block: OwnedSlice::section(v, S_BLOCK)?,
            block_ts: OwnedSlice::section(v, S_BLOCK_TS)?,
            tx_hash: OwnedSlice::section(v, S_TX_HASH)?,
            tx_index: OwnedUintCol::section(v, S_TX_INDEX)?,
            tx_by_hash: OwnedSlice::section(v, S_TX_BY_HASH)?,
            tx_of_row: RankBits {
                words: OwnedSlice::section(v, S_TX_START)?,
                rank: OwnedSlice::section(v, S_TX_RANK)?,
            },
            block_of_row: RankBits {
                words: OwnedSlice::section(v, S_BLOCK_START)?,
                rank: OwnedSlice::section(v, S_BLOCK_RANK)?,
            },
            src: OwnedSlice::section(v, S_SRC)?,
            dst: OwnedSlice::section(v, S_DST)?,
            asset: OwnedUintCol::section(v, S_ASSET)?,
            sub: OwnedUintCol::section(v, S_SUB)?,
            amount_lo: OwnedSlice::section(v, S_AMOUNT_LO)?,
            amount_hi,
            hi_overflow,
            big: match v.width(S_BIG)? {
                16 => BigCol::W16(OwnedSlice::section(v, S_BIG)?),
                _ => BigCol::W32(OwnedSlice::section(v, S_BIG)?),
            },
            spend_row: OwnedSlice::section(v, S_SPEND_ROW)?,
            spend_tx: OwnedSlice::section(v, S_SPEND_TX)?,
            spend_out: OwnedSlice::section(v, S_SPEND_OUT)?,
            out: Adjacency::load(v, OUT_SECTIONS)?,
            inc: Adjacency::load(v, IN_SECTIONS)?,
        };
        let (lo, hi) = (meta[3] as u32, meta[4] as u32);
        let span = if n == 0 { 0 } else { (hi - lo) as usize + 1 };
        let c = &cols;
        let words = n.div_ceil(64);
        let bits_ok = |b: &RankBits, ones: usize| {
            b.words.len() == words && b.rank.len() == words && b.ones() == ones as u64
        };
        let ok = c.block.len() == nb
            && c.block_ts.len() == nb
            && [c.tx_hash.len(), c.tx_by_hash.len()]
                .iter()
                .all(|&l| l == ntx)
            && c.tx_index.len() == ntx
            && bits_ok(&c.tx_of_row, ntx)
            && bits_ok(&c.block_of_row, nb)
            && [c.src.len(), c.dst.len(), c.amount_lo.len()]
                .iter()
                .all(|&l| l == n)
            && c.amount_hi.as_ref().is_none_or(|h| h.len() == n)
            && c.asset.len() == n
            && c.sub.len() == n
            && c.spend_tx.len() == c.spend_row.len()
            && c.spend_out.len() == c.spend_row.len()
            && c.out.valid(n, span)
            && c.inc.valid(n, span);
        if !ok {
            return Err(corrupt("segment columns disagree in length"));
        }
        {
            let mut maps = SEGMENT_MAPS.lock().unwrap_or_else(|e| e.into_inner());
            maps.retain(|w| w.strong_count() > 0);
            maps.push(Arc::downgrade(&view));
        }
        Ok(Segment {
            cols,
            view,
            rows: n as u32,
            addr_lo: lo,
            addr_hi: hi,
        })
    }

    pub fn bytes(&self) -> u64 {
        self.view.len()
    }

    /// Bytes of the tx-hash table (hashes + hash index) in this segment.
    pub fn tx_hash_bytes(&self) -> u64 {
        (self.cols.tx_hash.len() * 36) as u64
    }

    /// Row `i`. A reader in row order unmaps the rows behind it
    /// ([`InOrderReader`]).
    pub fn row(&self, i: u32) -> TransferRow {
        self.note_row_read(i);
        let c = &self.cols;
        let i = i as usize;
        let tx = c.tx_of_row.run_of(i) as usize;
        let b = c.block_of_row.run_of(i) as usize;
        TransferRow {
            src: c.src[i],
            dst: c.dst[i],
            asset: c.asset.get(i),
            amount: c.amount(i),
            block: c.block[b],
            timestamp: c.block_ts[b],
            tx_index: c.tx_index.get(tx),
            sub_index: c.sub.get(i).rotate_right(1),
        }
    }

    /// `false` when row `i` is its transaction's only row in this segment
    /// and neither neighbour lies in another segment (rows at a segment's
    /// edge say "maybe": a transaction's other rows could lie across it).
    pub fn may_share_tx(&self, i: u32) -> bool {
        self.note_row_read(i);
        let (i, n) = (i as usize, self.rows as usize);
        let starts = &self.cols.tx_of_row;
        i == 0 || i + 1 >= n || !starts.starts(i) || !starts.starts(i + 1)
    }

    /// Appends rows `lo..hi` to `batch` column by column (the sweep path:
    /// no per-row segment lookup; the block advances on its start bits).
    /// A batch marked [`TransferBatch::sequential`] also unmaps the rows
    /// behind the read ([`Segment::release_behind`]) and the index pages
    /// of every segment ([`release_indexes`]).
    pub fn read_rows(&self, lo: u32, hi: u32, batch: &mut TransferBatch) {
        let c = &self.cols;
        let (lo, hi) = (lo as usize, hi as usize);
        if lo >= hi {
            return;
        }
        self.read_parties(lo, hi, batch);
        match &c.amount_hi {
            None => batch
                .amount
                .extend(c.amount_lo[lo..hi].iter().map(|&a| Amount::from(a))),
            Some(_) => batch.amount.extend((lo..hi).map(|i| c.amount(i))),
        }
        self.read_timestamps(lo, hi, batch);
        if batch.sequential {
            self.release_behind(lo, hi);
            release_indexes();
        }
    }

    /// After a sequential scan's read of rows `lo..hi`: when it finished a
    /// [`RELEASE_ROWS`] chunk (or the segment), unmap the row columns'
    /// pages of the rows before. Only for a scan that asked for it
    /// ([`TransferBatch::sequential`]): the mapping is shared by every
    /// reader of the store (`serve`, `watch`), and unmapping pages another
    /// reader is using would make it fault them back in. A sweep reads each row
    /// once, and without this the whole store's row columns would stay in
    /// the process's RSS (3.5 GiB of file pages in a sweep at 10^8
    /// transfers). A later read of the same rows faults them back from the
    /// page cache. Chunks, not batches: one `madvise` per column per chunk.
    ///
    /// Each release covers every row before it, not just the last chunk:
    /// the page cache holds files in large folios (up to megabytes), and
    /// a fault maps a whole folio, so reading a chunk's first rows maps
    /// again the end of the chunk before it. Unmapping an already
    /// unmapped range costs a walk of empty page tables.
    fn release_behind(&self, lo: usize, hi: usize) {
        let n = self.rows as usize;
        let end = if hi == n {
            n
        } else {
            hi / RELEASE_ROWS * RELEASE_ROWS
        };
        if end > lo {
            self.release_rows(0, end);
        }
    }

    /// Unmap the pages of rows `lo..hi` (`lo < hi <= rows`) of the columns
    /// a sequential read touches.
    fn release_rows(&self, lo: usize, hi: usize) {
        let (c, v) = (&self.cols, &self.view);
        // Read before anything is unmapped (a read maps its folio again).
        let blocks = c.block_of_row.run_of(lo) as usize..c.block_of_row.run_of(hi - 1) as usize + 1;
        v.release(&c.src[lo..hi]);
        v.release(&c.dst[lo..hi]);
        v.release(&c.amount_lo[lo..hi]);
        for col in std::iter::once(&c.asset).chain(&c.amount_hi) {
            match col.view() {
                UintCol::U8(x) => v.release(&x[lo..hi]),
                UintCol::U16(x) => v.release(&x[lo..hi]),
                UintCol::U32(x) => v.release(&x[lo..hi]),
            }
        }
        let words = lo / 64..hi.div_ceil(64);
        v.release(&c.block_of_row.words[words.clone()]);
        v.release(&c.block_of_row.rank[words]);
        v.release(&c.block_ts[blocks]);
    }

    /// Payers, payees and assets of rows `lo..hi` (`lo < hi`), appended.
    fn read_parties(&self, lo: usize, hi: usize, batch: &mut TransferBatch) {
        let c = &self.cols;
        batch.src.extend_from_slice(&c.src[lo..hi]);
        batch.dst.extend_from_slice(&c.dst[lo..hi]);
        match c.asset.view() {
            UintCol::U8(v) => batch.asset.extend(v[lo..hi].iter().map(|&a| a as u32)),
            UintCol::U16(v) => batch.asset.extend(v[lo..hi].iter().map(|&a| a as u32)),
            UintCol::U32(v) => batch.asset.extend_from_slice(&v[lo..hi]),
        }
    }

    /// Block times of rows `lo..hi` (`lo < hi`), appended: the block
    /// advances on its start bits.
    fn read_timestamps(&self, lo: usize, hi: usize, batch: &mut TransferBatch) {
        let c = &self.cols;
        let mut b = c.block_of_row.run_of(lo) as usize;
        batch.timestamp.reserve(hi - lo);
        batch.timestamp.push(c.block_ts[b]);
        for i in lo + 1..hi {
            if c.block_of_row.starts(i) {
                b += 1;
            }
            batch.timestamp.push(c.block_ts[b]);
        }
    }

    /// [`Segment::read_rows`] without amounts: rows `lo..hi`' payers,
    /// payees, assets and (if `timestamps`) times go to `batch`, and
    /// `at_least` gets one bit per row, set where the amount is `>= min`
    /// (for a `min` below 2^64, from the low word and whether there is a
    /// high one, never widening an amount).
    pub fn read_rows_at_least(
        &self,
        lo: u32,
        hi: u32,
        min: Amount,
        timestamps: bool,
        batch: &mut TransferBatch,
        at_least: &mut Vec<u64>,
    ) {
        let c = &self.cols;
        let (lo, hi) = (lo as usize, hi as usize);
        at_least.clear();
        if lo >= hi {
            return;
        }
        self.read_parties(lo, hi, batch);
        let amount_lo = &c.amount_lo[lo..hi];
        match u64::try_from(min) {
            // Stored amounts with a high part (or an overflow entry) are
            // >= 2^64 > min: only the low word of the others is compared.
            Ok(min) => {
                let high = match c.amount_hi.as_ref().map(|h| h.view()) {
                    None => None,
                    Some(UintCol::U8(v)) => Some(UintCol::U8(&v[lo..hi])),
                    Some(UintCol::U16(v)) => Some(UintCol::U16(&v[lo..hi])),
                    Some(UintCol::U32(v)) => Some(UintCol::U32(&v[lo..hi])),
                };
                at_least_bits(amount_lo, high, min, at_least)
            }
            Err(_) => at_least.extend((lo..hi).step_by(64).map(|w| {
                (w..(w + 64).min(hi))
                    .fold(0u64, |m, i| m | u64::from(c.amount(i) >= min) << (i - w))
            })),
        }
        if timestamps {
            self.read_timestamps(lo, hi, batch);
        }
        if batch.sequential {
            self.release_behind(lo, hi);
            release_indexes();
        }
    }

    /// Count a row read of `i` towards this thread's [`InOrderReader`];
    /// unmap what a `row` or `tx_hash` read maps for the rows behind it
    /// once it is in order.
    #[inline]
    fn note_row_read(&self, i: u32) {
        if let Some(end) = InOrderReader::note(&ROW_READER, &self.view, i, IN_ORDER_ROWS) {
            self.release_row_reads(end as usize);
        }
    }

    /// Unmap the pages that [`Segment::row`] and [`Segment::tx_hash`]
    /// reads of rows `0..end` (`0 < end < rows`) map: the row columns,
    /// and the transaction and block columns of their transactions.
    #[cold]
    fn release_row_reads(&self, end: usize) {
        let (c, v) = (&self.cols, &self.view);
        // Read before anything is unmapped (a read maps its folio again).
        let txs = c.tx_of_row.run_of(end - 1) as usize + 1;
        let blocks = c.block_of_row.run_of(end - 1) as usize + 1;
        self.release_rows(0, end);
        v.release(&c.block[..blocks]);
        match c.sub.view() {
            UintCol::U8(x) => v.release(&x[..end]),
            UintCol::U16(x) => v.release(&x[..end]),
            UintCol::U32(x) => v.release(&x[..end]),
        }
        match c.tx_index.view() {
            UintCol::U8(x) => v.release(&x[..txs]),
            UintCol::U16(x) => v.release(&x[..txs]),
            UintCol::U32(x) => v.release(&x[..txs]),
        }
        let words = end.div_ceil(64);
        v.release(&c.tx_of_row.words[..words]);
        v.release(&c.tx_of_row.rank[..words]);
        v.release(&c.tx_hash[..txs]);
    }

    pub fn tx_hash(&self, i: u32) -> TxHash {
        TxHash(self.cols.tx_hash[self.cols.tx_of_row.run_of(i as usize) as usize])
    }

    pub fn spend(&self, i: u32) -> Option<OutPoint> {
        let c = &self.cols;
        let k = c.spend_row.binary_search(&i).ok()?;
        Some(OutPoint {
            tx: TxHash(c.spend_tx[k]),
            index: c.spend_out[k],
        })
    }

    fn adj<'a>(&'a self, a: &'a Adjacency, addr: AddrId) -> &'a [u32] {
        if self.rows == 0 || addr < self.addr_lo || addr > self.addr_hi {
            return &[];
        }
        // Read before written: a shared line that every index read wrote
        // would bounce between cores.
        if !INDEX_MAPPED.load(Ordering::Relaxed) {
            INDEX_MAPPED.store(true, Ordering::Relaxed);
        }
        a.rows((addr - self.addr_lo) as usize, addr)
    }

    pub fn outgoing(&self, addr: AddrId) -> &[u32] {
        self.adj(&self.cols.out, addr)
    }

    pub fn incoming(&self, addr: AddrId) -> &[u32] {
        self.adj(&self.cols.inc, addr)
    }

    /// The row with this dedup key, if stored here.
    pub fn find(&self, hash: &[u8; 32], sub: u32) -> Option<u32> {
        let c = &self.cols;
        let by = &c.tx_by_hash;
        let start = by.partition_point(|&t| &c.tx_hash[t as usize] < hash);
        let n = self.rows as usize;
        for &t in by[start..]
            .iter()
            .take_while(|&&t| &c.tx_hash[t as usize] == hash)
        {
            // Rows of a tx are contiguous and the tx number ascends with them.
            let first = partition(n, |r| c.tx_of_row.run_of(r) < t);
            let mut r = first;
            while r < n && c.tx_of_row.run_of(r) == t {
                if c.sub.get(r).rotate_right(1) == sub {
                    return Some(r as u32);
                }
                r += 1;
            }
        }
        None
    }

    /// Decode back into memory, for merging.
    pub fn load(&self) -> SegData {
        let c = &self.cols;
        let n = self.rows as usize;
        let mut d = SegData {
            big: (0..c.big.len()).map(|k| c.big.get(k)).collect(),
            ..SegData::default()
        };
        d.txs = Vec::with_capacity(c.tx_hash.len());
        d.rows = Vec::with_capacity(n);
        let mut next_spend = 0usize;
        let (mut tx, mut b) = (0u32, 0usize);
        for i in 0..n {
            if i > 0 && c.tx_of_row.starts(i) {
                tx += 1;
            }
            if i > 0 && c.block_of_row.starts(i) {
                b += 1;
            }
            if tx as usize == d.txs.len() {
                d.txs.push(TxEntry {
                    hash: c.tx_hash[tx as usize],
                    block: c.block[b],
                    timestamp: c.block_ts[b],
                    tx_index: c.tx_index.get(tx as usize),
                });
            }
            let spend = if c.spend_row.get(next_spend) == Some(&(i as u32)) {
                d.spends.push(OutPoint {
                    tx: TxHash(c.spend_tx[next_spend]),
                    index: c.spend_out[next_spend],
                });
                next_spend += 1;
                d.spends.len() as u32 - 1
            } else {
                NO_SPEND
            };
            d.rows.push(Row {
                tx,
                sub: c.sub.get(i).rotate_right(1),
                src: c.src[i],
                dst: c.dst[i],
                asset: c.asset.get(i),
                amount: c.amount_lo[i],
                amount_hi: c.amount_hi(i),
                spend,
            });
        }
        d
    }
}

/// First index in `0..n` where `pred` is false (`pred` true then false).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn amount_codes_are_exact(words in any::<[u64; 4]>(), shift in 0u32..256, tens in 0u32..40) {
            let v = Amount::from_words(
                ((words[0] as u128) << 64) | words[1] as u128,
                ((words[2] as u128) << 64) | words[3] as u128,
            ) >> shift;
            let mut big = Vec::new();
            let (lo, hi) = encode_amount(v, &mut big);
            prop_assert_eq!(decode_amount(lo, hi, &big), v);
            if let Some(r) = Amount::from(10u8).pow(tens.min(30)).checked_mul(v >> 200) {
                let (lo, hi) = encode_amount(r, &mut big);
                prop_assert_eq!(decode_amount(lo, hi, &big), r);
            }
        }
    }

    #[test]
    fn wei_amounts_below_2_pow_96_need_no_overflow_table() {
        let mut big = Vec::new();
        let v = tripoint_chain::parse_decimal_units("33568.152", 18).unwrap();
        let (lo, hi) = encode_amount(v, &mut big);
        assert!(big.is_empty());
        assert!(hi > 0 && hi < u16::MAX as u32, "{hi}");
        assert_eq!(decode_amount(lo, hi, &big), v);
        let odd = Amount::MAX - Amount::from(7u8);
        let (lo, hi) = encode_amount(odd, &mut big);
        assert_eq!((big.len(), hi), (1, BIG_HI));
        assert_eq!(decode_amount(lo, hi, &big), odd);
        // Just below the overflow mark stays inline; at it, overflows.
        let edge = Amount::from(((BIG_HI as u128 - 1) << 64) | u64::MAX as u128);
        assert_ne!(encode_amount(edge, &mut big).1, BIG_HI);
        assert_eq!(encode_amount(edge + Amount::ONE, &mut big).1, BIG_HI);
    }

    /// Resident KiB of this process's mapping of `path` (`/proc/self/smaps`).
    #[cfg(target_os = "linux")]
    pub(crate) fn mapped_kib(path: &Path) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let name = path.to_str().unwrap();
        let mut ours = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if first.contains('-') && !first.ends_with(':') {
                ours = line.ends_with(name);
            } else if ours && first == "Rss:" {
                kib += line
                    .split_whitespace()
                    .nth(1)
                    .unwrap()
                    .parse::<u64>()
                    .unwrap();
            }
        }
        kib
    }

    /// A sequential scan in batches leaves at most about one chunk of the
    /// row columns mapped, none at the end, and reads every row right,
    /// also when read again; plain batch reads leave their pages mapped.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_sequential_scan_unmaps_the_rows_behind_it() {
        let n = 2 * RELEASE_ROWS + 1000;
        let row = |i: usize| Row {
            tx: i as u32,
            sub: 0,
            src: (i % 5000) as u32,
            dst: (i * 7 % 5000) as u32,
            asset: (i % 3) as u32,
            amount: i as u64 * 1_000_003,
            amount_hi: (i % 2) as u32,
            spend: NO_SPEND,
        };
        let data = SegData {
            txs: (0..n)
                .map(|i| {
                    let mut hash = [0u8; 32];
                    hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    TxEntry {
                        hash,
                        block: i as u64 / 10,
                        timestamp: 1_000 + i as i64 / 10,
                        tx_index: (i % 10) as u32,
                    }
                })
                .collect(),
            rows: (0..n).map(row).collect(),
            big: Vec::new(),
            spends: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.tps");
        data.write(&path).unwrap();
        drop(data);
        let seg = Segment::open(&path).unwrap();
        // The row columns of one chunk: payer, payee, low amount (16 bytes
        // a row) plus the one-byte asset and high amount columns.
        let chunk_kib = (RELEASE_ROWS * 18 / 1024) as u64;
        let mut batch = TransferBatch::sequential();
        for pass in 0..2 {
            let mut peak = 0;
            let mut lo = 0;
            while lo < n {
                let hi = (lo + 16_384).min(n);
                batch.clear();
                seg.read_rows(lo as u32, hi as u32, &mut batch);
                for (k, i) in (lo..hi).enumerate() {
                    let r = row(i);
                    assert_eq!((batch.src[k], batch.dst[k]), (r.src, r.dst), "row {i}");
                    let amount =
                        Amount::from((u128::from(r.amount_hi) << 64) | u128::from(r.amount));
                    assert_eq!(batch.amount[k], amount, "row {i}");
                    assert_eq!(batch.timestamp[k], 1_000 + i as i64 / 10, "row {i}");
                }
                peak = peak.max(mapped_kib(&path));
                lo = hi;
            }
            assert!(
                peak < chunk_kib + chunk_kib / 2,
                "pass {pass}: {peak} KiB mapped at most, a chunk is {chunk_kib} KiB"
            );
            let left = mapped_kib(&path);
            assert!(
                left < 1024,
                "pass {pass}: {left} KiB left mapped at the end"
            );
        }
        // Row reads in row order (every row, then every third: a trace's
        // flows) unmap the rows behind them too.
        for step in [1, 3] {
            let mut peak = 0;
            for i in (0..n).step_by(step) {
                let (r, got) = (row(i), seg.row(i as u32));
                assert_eq!((got.src, got.dst, got.tx_index), (r.src, r.dst, r.tx % 10));
                assert_eq!(seg.tx_hash(i as u32).0[..8], (i as u64).to_le_bytes());
                if i % 4096 == 0 {
                    peak = peak.max(mapped_kib(&path));
                }
            }
            // Stretches of 2^16 rows, plus a few 2 MiB folios of each
            // column a row read maps (~100 MiB if all stayed mapped).
            assert!(
                peak < chunk_kib,
                "row reads every {step}: {peak} KiB mapped at most, a chunk is {chunk_kib} KiB"
            );
        }
        // A plain batch read (a `serve` or `watch` reader) unmaps nothing.
        let mut plain = TransferBatch::default();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + 16_384).min(n);
            plain.clear();
            seg.read_rows(lo as u32, hi as u32, &mut plain);
            lo = hi;
        }
        let kept = mapped_kib(&path);
        assert!(
            kept >= 2 * chunk_kib,
            "a plain read keeps its pages: {kept} KiB mapped, a chunk is {chunk_kib} KiB"
        );
        // The measure sees what stays mapped: the payer column read whole.
        let sum: u64 = seg.cols.src.iter().map(|&a| u64::from(a)).sum();
        assert!(sum > 0);
        assert!(mapped_kib(&path) >= (n * 4 / 1024) as u64 * 9 / 10);
    }

    #[test]
    fn rank_bits_find_the_run_of_every_row() {
        let starts = |i: usize| i.is_multiple_of(3) || i % 64 == 63;
        let n = 1000;
        let (words, rank) = rank_bits(n, starts);
        let bits = RankBits {
            words: OwnedSlice::from_vec(words),
            rank: OwnedSlice::from_vec(rank),
        };
        let mut run = 0u32;
        for i in 0..n {
            if i > 0 && starts(i) {
                run += 1;
            }
            assert_eq!(bits.starts(i), starts(i), "row {i}");
            assert_eq!(bits.run_of(i), run, "row {i}");
        }
        assert_eq!(bits.ones(), run as u64 + 1);
    }
}
