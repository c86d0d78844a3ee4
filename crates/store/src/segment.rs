//! Immutable transfer segments: columns in chain order, a transaction table,
//! per-block timestamps, exact amounts and forward/reverse CSR adjacency.
//!
//! [`SegData`] is the in-memory form (pending appends, merges); [`Segment`] the
//! mapped, read-only form.

use std::path::Path;

use tripoint_chain::{AddrId, Amount, OutPoint, TransferBatch, TransferRow, TxHash};

use crate::format::{add_narrow, FileView, FileWriter, UintCol, KIND_SEGMENT};
use crate::StoreError;

const S_META: u32 = 1; // u64: [rows, txs, blocks, addr_lo, addr_hi]
const S_BLOCK: u32 = 2; // u64 per distinct block
const S_BLOCK_TS: u32 = 3; // i64 per distinct block
const S_TX_HASH: u32 = 4; // [u8; 32] per tx, chain order
const S_TX_BLOCK: u32 = 5; // u32 per tx: index into S_BLOCK
const S_TX_INDEX: u32 = 6; // narrow per tx: index of the tx in its block
const S_TX_BY_HASH: u32 = 8; // u32 per tx: tx numbers sorted by hash
const S_SRC: u32 = 10; // u32 per row
const S_DST: u32 = 11; // u32 per row
const S_TXREF: u32 = 12; // u32 per row: tx number
const S_ASSET: u32 = 13; // narrow per row
const S_SUB: u32 = 14; // narrow per row: sub_index rotated left by 1 (Bitcoin output flag to bit 0)
const S_AMOUNT: u32 = 15; // u64 per row: amount code, see `encode_amount`
const S_BIG: u32 = 16; // [u8; 32] little-endian U256 per overflowed amount
const S_SPEND_ROW: u32 = 20; // u32 per Bitcoin input row, ascending
const S_SPEND_TX: u32 = 21; // [u8; 32]
const S_SPEND_OUT: u32 = 22; // u32
const S_OUT_OFF: u32 = 30; // u32 per address in addr_lo..=addr_hi (dense) or per S_OUT_KEYS entry (sparse), + 1
const S_OUT_IDS: u32 = 31; // u32 per row: rows grouped by src, ascending
const S_IN_OFF: u32 = 32;
const S_IN_IDS: u32 = 33;
const S_OUT_KEYS: u32 = 34; // u32: sorted distinct src ids when sparse; empty when dense
const S_IN_KEYS: u32 = 35;

// Amount code (u64):
//   bit 63 = 0                 -> the value itself (< 2^63)
//   bit 63 = 1, e = bits 58..63 in 1..=31 -> mantissa (bits 0..58) * 10^e
//   bit 63 = 1, e = 0          -> index into the overflow table S_BIG
// Wei amounts are mostly round in decimal, so the exponent form keeps ~all of
// them in 8 bytes; everything else stays exact in the overflow table.
const TOP: u64 = 1 << 63;
const MANT_BITS: u32 = 58;
const MANT_MASK: u64 = (1 << MANT_BITS) - 1;

pub fn encode_amount(v: Amount, big: &mut Vec<[u8; 32]>) -> u64 {
    if v < Amount::from(TOP) {
        return v.as_u64();
    }
    if *v.high() == 0 {
        let mut m = *v.low();
        let mut e = 0u64;
        while m.is_multiple_of(10) && e < 31 {
            m /= 10;
            e += 1;
            if m <= MANT_MASK as u128 {
                return TOP | (e << MANT_BITS) | m as u64;
            }
        }
    } else {
        let ten = Amount::from(10u8);
        let mut m = v;
        let mut e = 0u64;
        while m % ten == Amount::ZERO && e < 31 {
            m /= ten;
            e += 1;
            if m <= Amount::from(MANT_MASK) {
                return TOP | (e << MANT_BITS) | m.as_u64();
            }
        }
    }
    big.push(v.to_le_bytes());
    TOP | (big.len() as u64 - 1)
}

#[cfg(test)]
pub fn decode_amount(code: u64, big: &[[u8; 32]]) -> Amount {
    decode_amount_by(code, |i| big[i])
}

#[inline]
fn decode_amount_by(code: u64, big: impl Fn(usize) -> [u8; 32]) -> Amount {
    if code & TOP == 0 {
        return Amount::from(code);
    }
    let e = ((code >> MANT_BITS) & 0x1f) as u32;
    let m = code & MANT_MASK;
    if e == 0 {
        return Amount::from_le_bytes(big(m as usize));
    }
    Amount::from(m) * Amount::from(10u8).pow(e)
}

fn is_big(code: u64) -> bool {
    code & TOP != 0 && (code >> MANT_BITS) & 0x1f == 0
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
    pub amount: u64,
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
    pub fn key(&self, r: &Row) -> OrderKey {
        let t = &self.txs[r.tx as usize];
        (t.block, t.tx_index, r.sub)
    }

    pub fn min_max_key(&self) -> Option<(OrderKey, OrderKey)> {
        Some((self.key(self.rows.first()?), self.key(self.rows.last()?)))
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
            if is_big(r.amount) {
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
            if is_big(r.amount) {
                out.big.push(self.big[(r.amount & MANT_MASK) as usize]);
                row.amount = TOP | (out.big.len() as u64 - 1);
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
        let Some(first) = self.rows.first() else {
            return self.txs.is_empty();
        };
        if first.tx != 0 || self.rows.last().unwrap().tx as usize + 1 != self.txs.len() {
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
        let prefix = |t: usize| u64::from_be_bytes(self.txs[t].hash[..8].try_into().unwrap());
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
        let mut tx_block = Vec::with_capacity(self.txs.len());
        for t in &self.txs {
            if blocks.last() != Some(&t.block) {
                blocks.push(t.block);
                block_ts.push(t.timestamp);
            }
            tx_block.push(blocks.len() as u32 - 1);
        }
        let tx_by_hash = self.hash_order();

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
        let (out_keys, out_off, out_ids) = csr(self.rows.iter().map(|r| r.src), n, lo, hi);
        let (in_keys, in_off, in_ids) = csr(self.rows.iter().map(|r| r.dst), n, lo, hi);
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
        w.add(S_TX_BLOCK, &tx_block[..]);
        add_narrow(&mut w, S_TX_INDEX, self.txs.iter().map(|t| t.tx_index));
        w.add(S_TX_BY_HASH, &tx_by_hash[..]);
        w.add_iter(S_SRC, n, self.rows.iter().map(|r| r.src));
        w.add_iter(S_DST, n, self.rows.iter().map(|r| r.dst));
        w.add_iter(S_TXREF, n, self.rows.iter().map(|r| r.tx));
        add_narrow(&mut w, S_ASSET, self.rows.iter().map(|r| r.asset));
        add_narrow(
            &mut w,
            S_SUB,
            self.rows.iter().map(|r| r.sub.rotate_left(1)),
        );
        w.add_iter(S_AMOUNT, n, self.rows.iter().map(|r| r.amount));
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
        w.add(S_OUT_OFF, &out_off[..]);
        w.add(S_OUT_IDS, &out_ids[..]);
        w.add(S_IN_OFF, &in_off[..]);
        w.add(S_IN_IDS, &in_ids[..]);
        w.add(S_OUT_KEYS, &out_keys[..]);
        w.add(S_IN_KEYS, &in_keys[..]);
        w.write(path, KIND_SEGMENT)
    }
}

/// Compressed sparse rows: rows of each address in ascending (= chain)
/// order, by a counting sort. Offsets are dense over `lo..=hi` (keys empty)
/// unless the segment has fewer than span / 8 rows (binary search costs
/// lookups, so only where it saves most of the space); then they are kept per
/// occurring id, listed in `keys` (found by binary search). A small segment
/// written late in a big store touches ids spread over the whole dictionary,
/// and dense offsets would cost 8 bytes per address of the store.
fn csr(
    ids: impl Iterator<Item = u32> + Clone,
    n: usize,
    lo: u32,
    hi: u32,
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    if n == 0 {
        return (Vec::new(), vec![0], Vec::new());
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
        return (keys, off, rows);
    }
    let (off, rows) = csr_dense(ids, n, lo, span);
    (Vec::new(), off, rows)
}

fn csr_dense(
    ids: impl Iterator<Item = u32> + Clone,
    n: usize,
    lo: u32,
    span: usize,
) -> (Vec<u32>, Vec<u32>) {
    let mut off = vec![0u32; span + 1];
    for a in ids.clone() {
        off[(a - lo) as usize + 1] += 1;
    }
    for i in 0..span {
        off[i + 1] += off[i];
    }
    let mut fill = off.clone();
    let mut out = vec![0u32; n];
    for (row, a) in ids.enumerate() {
        let slot = &mut fill[(a - lo) as usize];
        out[*slot as usize] = row as u32;
        *slot += 1;
    }
    (off, out)
}

/// Column slices of a mapped segment. They borrow from the map owned by the
/// same [`Segment`]; the map's memory never moves, and the slices are only
/// handed out with `&self`'s lifetime.
struct Cols {
    block: &'static [u64],
    block_ts: &'static [i64],
    tx_hash: &'static [[u8; 32]],
    tx_block: &'static [u32],
    tx_index: UintCol<'static>,
    tx_by_hash: &'static [u32],
    src: &'static [u32],
    dst: &'static [u32],
    txref: &'static [u32],
    asset: UintCol<'static>,
    sub: UintCol<'static>,
    amount: &'static [u64],
    big: BigCol,
    spend_row: &'static [u32],
    spend_tx: &'static [[u8; 32]],
    spend_out: &'static [u32],
    out_keys: &'static [u32],
    in_keys: &'static [u32],
    out_off: &'static [u32],
    out_ids: &'static [u32],
    in_off: &'static [u32],
    in_ids: &'static [u32],
}

/// The overflow-amount table at its stored width.
#[derive(Clone, Copy)]
enum BigCol {
    W16(&'static [[u8; 16]]),
    W32(&'static [[u8; 32]]),
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
    // Declared after `cols` so it outlives every use of them.
    view: Box<FileView>,
    pub rows: u32,
    addr_lo: u32,
    addr_hi: u32,
}

impl Segment {
    pub fn open(path: &Path) -> Result<Segment, StoreError> {
        let view = Box::new(FileView::open(path, KIND_SEGMENT)?);
        // SAFETY: see `Cols`: the mapping lives as long as `view`, which the
        // Segment owns and never replaces.
        let v: &'static FileView = unsafe { &*(view.as_ref() as *const FileView) };
        let meta: &[u64] = v.slice(S_META)?;
        let corrupt = |msg: &str| StoreError::Corrupt {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        };
        if meta.len() != 5 {
            return Err(corrupt("bad segment header"));
        }
        let (n, ntx, nb) = (meta[0] as usize, meta[1] as usize, meta[2] as usize);
        let cols = Cols {
            block: v.slice(S_BLOCK)?,
            block_ts: v.slice(S_BLOCK_TS)?,
            tx_hash: v.slice(S_TX_HASH)?,
            tx_block: v.slice(S_TX_BLOCK)?,
            tx_index: UintCol::load(v, S_TX_INDEX)?,
            tx_by_hash: v.slice(S_TX_BY_HASH)?,
            src: v.slice(S_SRC)?,
            dst: v.slice(S_DST)?,
            txref: v.slice(S_TXREF)?,
            asset: UintCol::load(v, S_ASSET)?,
            sub: UintCol::load(v, S_SUB)?,
            amount: v.slice(S_AMOUNT)?,
            big: match v.width(S_BIG)? {
                16 => BigCol::W16(v.slice(S_BIG)?),
                _ => BigCol::W32(v.slice(S_BIG)?),
            },
            spend_row: v.slice(S_SPEND_ROW)?,
            spend_tx: v.slice(S_SPEND_TX)?,
            spend_out: v.slice(S_SPEND_OUT)?,
            out_keys: v.slice(S_OUT_KEYS)?,
            in_keys: v.slice(S_IN_KEYS)?,
            out_off: v.slice(S_OUT_OFF)?,
            out_ids: v.slice(S_OUT_IDS)?,
            in_off: v.slice(S_IN_OFF)?,
            in_ids: v.slice(S_IN_IDS)?,
        };
        let (lo, hi) = (meta[3] as u32, meta[4] as u32);
        let span = if n == 0 { 0 } else { (hi - lo) as usize + 1 };
        let c = &cols;
        let ok = c.block.len() == nb
            && c.block_ts.len() == nb
            && [c.tx_hash.len(), c.tx_block.len(), c.tx_by_hash.len()]
                .iter()
                .all(|&l| l == ntx)
            && c.tx_index.len() == ntx
            && [c.src.len(), c.dst.len(), c.txref.len(), c.amount.len()]
                .iter()
                .all(|&l| l == n)
            && c.asset.len() == n
            && c.sub.len() == n
            && c.spend_tx.len() == c.spend_row.len()
            && c.spend_out.len() == c.spend_row.len()
            && c.out_off.len()
                == if c.out_keys.is_empty() {
                    span
                } else {
                    c.out_keys.len()
                } + 1
            && c.in_off.len()
                == if c.in_keys.is_empty() {
                    span
                } else {
                    c.in_keys.len()
                } + 1
            && c.out_ids.len() == n
            && c.in_ids.len() == n;
        if !ok {
            return Err(corrupt("segment columns disagree in length"));
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

    pub fn row(&self, i: u32) -> TransferRow {
        let c = &self.cols;
        let i = i as usize;
        let tx = c.txref[i] as usize;
        let b = c.tx_block[tx] as usize;
        TransferRow {
            src: c.src[i],
            dst: c.dst[i],
            asset: c.asset.get(i),
            amount: decode_amount_by(c.amount[i], |k| c.big.get(k)),
            block: c.block[b],
            timestamp: c.block_ts[b],
            tx_index: c.tx_index.get(tx),
            sub_index: c.sub.get(i).rotate_right(1),
        }
    }

    /// Appends rows `lo..hi` to `batch` column by column (the sweep path:
    /// no per-row segment lookup, block timestamps read through the tx table).
    pub fn read_rows(&self, lo: u32, hi: u32, batch: &mut TransferBatch) {
        let c = &self.cols;
        let (lo, hi) = (lo as usize, hi as usize);
        batch.src.extend_from_slice(&c.src[lo..hi]);
        batch.dst.extend_from_slice(&c.dst[lo..hi]);
        batch.asset.extend((lo..hi).map(|i| c.asset.get(i)));
        batch.amount.extend(
            c.amount[lo..hi]
                .iter()
                .map(|&code| decode_amount_by(code, |k| c.big.get(k))),
        );
        batch.timestamp.extend(
            c.txref[lo..hi]
                .iter()
                .map(|&tx| c.block_ts[c.tx_block[tx as usize] as usize]),
        );
    }

    pub fn tx_hash(&self, i: u32) -> TxHash {
        TxHash(self.cols.tx_hash[self.cols.txref[i as usize] as usize])
    }

    pub fn spend(&self, i: u32) -> Option<OutPoint> {
        let c = &self.cols;
        let k = c.spend_row.binary_search(&i).ok()?;
        Some(OutPoint {
            tx: TxHash(c.spend_tx[k]),
            index: c.spend_out[k],
        })
    }

    fn adj<'a>(
        &'a self,
        keys: &'a [u32],
        off: &'a [u32],
        ids: &'a [u32],
        addr: AddrId,
    ) -> &'a [u32] {
        if self.rows == 0 || addr < self.addr_lo || addr > self.addr_hi {
            return &[];
        }
        let a = if keys.is_empty() {
            (addr - self.addr_lo) as usize
        } else {
            match keys.binary_search(&addr) {
                Ok(k) => k,
                Err(_) => return &[],
            }
        };
        &ids[off[a] as usize..off[a + 1] as usize]
    }

    pub fn outgoing(&self, addr: AddrId) -> &[u32] {
        let c = &self.cols;
        self.adj(c.out_keys, c.out_off, c.out_ids, addr)
    }

    pub fn incoming(&self, addr: AddrId) -> &[u32] {
        let c = &self.cols;
        self.adj(c.in_keys, c.in_off, c.in_ids, addr)
    }

    /// The row with this dedup key, if stored here.
    pub fn find(&self, hash: &[u8; 32], sub: u32) -> Option<u32> {
        let c = &self.cols;
        let by = c.tx_by_hash;
        let start = by.partition_point(|&t| &c.tx_hash[t as usize] < hash);
        for &t in by[start..]
            .iter()
            .take_while(|&&t| &c.tx_hash[t as usize] == hash)
        {
            let t = t as usize;
            // Rows of a tx are contiguous and the tx column ascends with them.
            let first = c.txref.partition_point(|&x| (x as usize) < t);
            let end = first + c.txref[first..].partition_point(|&x| x as usize == t);
            for r in first as u32..end as u32 {
                if c.sub.get(r as usize).rotate_right(1) == sub {
                    return Some(r);
                }
            }
        }
        None
    }

    /// Decode back into memory, for merging.
    pub fn load(&self) -> SegData {
        let c = &self.cols;
        let mut d = SegData {
            big: (0..c.big.len()).map(|k| c.big.get(k)).collect(),
            ..SegData::default()
        };
        d.txs = (0..c.tx_hash.len())
            .map(|t| {
                let b = c.tx_block[t] as usize;
                TxEntry {
                    hash: c.tx_hash[t],
                    block: c.block[b],
                    timestamp: c.block_ts[b],
                    tx_index: c.tx_index.get(t),
                }
            })
            .collect();
        d.rows = Vec::with_capacity(self.rows as usize);
        let mut next_spend = 0usize;
        for i in 0..self.rows as usize {
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
                tx: c.txref[i],
                sub: c.sub.get(i).rotate_right(1),
                src: c.src[i],
                dst: c.dst[i],
                asset: c.asset.get(i),
                amount: c.amount[i],
                spend,
            });
        }
        d
    }
}

#[cfg(test)]
mod tests {
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
            prop_assert_eq!(decode_amount(encode_amount(v, &mut big), &big), v);
            if let Some(r) = Amount::from(10u8).pow(tens.min(30)).checked_mul(v >> 200) {
                prop_assert_eq!(decode_amount(encode_amount(r, &mut big), &big), r);
            }
        }
    }

    #[test]
    fn round_wei_amounts_stay_narrow() {
        let mut big = Vec::new();
        let v = tripoint_chain::parse_decimal_units("33568.152", 18).unwrap();
        let code = encode_amount(v, &mut big);
        assert!(big.is_empty());
        assert_eq!(decode_amount(code, &big), v);
        let odd = Amount::MAX - Amount::from(7u8);
        let code = encode_amount(odd, &mut big);
        assert_eq!(big.len(), 1);
        assert_eq!(decode_amount(code, &big), odd);
    }
}
