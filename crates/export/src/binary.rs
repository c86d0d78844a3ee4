//! Format version 2 of the export (docs/scale.md, "Format version 2"):
//! transaction hashes and Ethereum addresses as fixed-length binary (what
//! `cryo` writes), ids and positions as UINT32, the exact amount as
//! `DECIMAL(38,0)` with the rare wider amounts as text beside it, and each
//! column's encoding, compression and statistics chosen by measurement.
//! Version 1 spent most of its time and bytes on hex text (a row was 205
//! bytes of page data); version 2 writes about 100.

use std::sync::Arc;

use arrow_array::builder::{FixedSizeBinaryBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Decimal128Array, Int32Array, Int64Array, TimestampMicrosecondArray, UInt32Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tripoint_chain::{Address, Amount, Chain, TransferBatch, TransferGraph, TransferId};
use tripoint_store::Store;

use crate::export::{AssetInfo, GroupRows};
use crate::fixed::Column;

/// How a version 2 file types addresses: 20-byte binary on Ethereum; text on
/// Bitcoin, whose addresses (and UTXO `tx:` nodes) have no fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressType {
    Eth20,
    Text,
}

impl AddressType {
    /// An empty store counts as Ethereum, as in `tripoint.chain`.
    pub(crate) fn of(chain: Option<Chain>) -> Self {
        match chain {
            Some(Chain::Bitcoin) => AddressType::Text,
            _ => AddressType::Eth20,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            AddressType::Eth20 => DataType::FixedSizeBinary(20),
            AddressType::Text => DataType::Utf8,
        }
    }
}

/// The version 2 transfers table's Arrow schema for a store of `chain`.
pub fn transfers_schema_v2(chain: Option<Chain>) -> SchemaRef {
    let address = AddressType::of(chain).data_type();
    Arc::new(Schema::new(vec![
        Field::new("block", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("tx_hash", DataType::FixedSizeBinary(32), false),
        Field::new("tx_index", DataType::UInt32, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("from_address", address.clone(), false),
        Field::new("to_address", address, false),
        Field::new("from_id", DataType::UInt32, false),
        Field::new("to_id", DataType::UInt32, false),
        Field::new("token", DataType::FixedSizeBinary(20), true),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("decimals", DataType::Int32, true),
        Field::new("amount_d38", DataType::Decimal128(38, 0), true),
        Field::new("amount_big", DataType::Utf8, true),
    ]))
}

/// The version 2 labels table's Arrow schema for a store of `chain`.
pub fn labels_schema_v2(chain: Option<Chain>) -> SchemaRef {
    let address = AddressType::of(chain).data_type();
    Arc::new(Schema::new(vec![
        // Null on Ethereum for a labelled address of another chain
        // (sanction lists carry Bitcoin addresses too); `address_text` has it.
        Field::new("address", address, true),
        Field::new("address_text", DataType::Utf8, false),
        Field::new("address_id", DataType::UInt32, true),
        Field::new("label", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

/// The version 2 transfers files' properties. Measured at 10^7 transfers
/// (docs/scale.md): no compression and no dictionary where values are
/// random bytes (hashes, addresses, ids: Snappy saved nothing and cost 29 %
/// of the CPU), dictionaries for the few assets, delta encoding for the
/// sorted block and time, and statistics (page index) only on those two,
/// the columns readers prune by.
pub(crate) fn transfers_props_v2(
    metadata: Vec<parquet::file::metadata::KeyValue>,
    chain: Option<Chain>,
    row_group_rows: usize,
) -> WriterProperties {
    let col = |name: &str| ColumnPath::from(name);
    let mut b = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_key_value_metadata(Some(metadata))
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None);
    for name in ["block", "time"] {
        b = b
            .set_column_encoding(col(name), Encoding::DELTA_BINARY_PACKED)
            .set_column_statistics_enabled(col(name), EnabledStatistics::Page);
    }
    for name in ["tx_index", "position"] {
        b = b.set_column_encoding(col(name), Encoding::DELTA_BINARY_PACKED);
    }
    for name in ["token", "symbol", "decimals"] {
        b = b.set_column_dictionary_enabled(col(name), true);
    }
    // Amounts are mostly leading zero bytes of a 16-byte decimal.
    b = b.set_column_compression(col("amount_d38"), Compression::SNAPPY);
    if AddressType::of(chain) == AddressType::Text {
        // Bitcoin addresses are text that repeats: dictionary and Snappy, as in version 1.
        for name in ["from_address", "to_address"] {
            b = b
                .set_column_dictionary_enabled(col(name), true)
                .set_column_compression(col(name), Compression::SNAPPY);
        }
    }
    b.build()
}

fn invalid(msg: String) -> ArrowError {
    ArrowError::InvalidArgumentError(msg)
}

/// The 20 bytes of an Ethereum address, or an error naming it.
fn eth20(a: &Address, what: &str) -> Result<[u8; 20], ArrowError> {
    match a {
        Address::Eth(b) => Ok(*b),
        other => Err(invalid(format!(
            "{what} {other} is not a 20-byte Ethereum address"
        ))),
    }
}

/// The columns of the transfers `rows` in [`transfers_schema_v2`]'s order:
/// the hashes and Ethereum addresses as their bytes back to back
/// ([`Column::Fixed`], written by [`crate::fixed`]), the others as Arrow arrays.
pub(crate) fn build_columns_v2(
    store: &Store,
    assets: &[AssetInfo],
    addresses: AddressType,
    table: Option<&AddressTable>,
    rows: &GroupRows,
) -> Result<Vec<Column>, ArrowError> {
    let n = rows.len();
    let limit = crate::export::d38_limit();
    let mut block = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut tx_hash = Vec::with_capacity(n * 32);
    let mut tx_index = Vec::with_capacity(n);
    let mut position = Vec::with_capacity(n);
    let mut from_id = Vec::with_capacity(n);
    let mut to_id = Vec::with_capacity(n);
    let mut address_ids = Vec::with_capacity(2 * n);
    let mut token = FixedSizeBinaryBuilder::with_capacity(n, 20);
    let mut symbol = StringBuilder::with_capacity(n, n * 4);
    let mut decimals = Vec::with_capacity(n);
    let mut amount_d38 = Vec::with_capacity(n);
    let mut amount_big = StringBuilder::with_capacity(n, 0);
    let mut text = String::with_capacity(80);
    for (id, _) in rows.iter() {
        let row = store.transfer(id);
        block.push(row.block as i64);
        time.push(row.timestamp.saturating_mul(1_000_000));
        tx_hash.extend_from_slice(&store.tx_hash(id).0);
        tx_index.push(row.tx_index);
        position.push(row.sub_index);
        address_ids.extend([row.src, row.dst]);
        from_id.push(row.src);
        to_id.push(row.dst);
        let a = &assets[row.asset as usize];
        match &a.token {
            None => token.append_null(),
            Some(t) => token.append_value(eth20(t, "token contract")?)?,
        }
        symbol.append_option(a.symbol.as_deref());
        decimals.push(a.decimals);
        if row.amount < limit {
            amount_d38.push(Some(row.amount.as_i128()));
            amount_big.append_null();
        } else {
            amount_d38.push(None);
            text.clear();
            crate::text::push_amount(&mut text, row.amount);
            amount_big.append_value(&text);
        }
    }
    let (from, to) = match (addresses, table) {
        (AddressType::Eth20, Some(table)) => {
            table.check(store, &address_ids)?;
            let (from, to) = table.gather(&address_ids);
            (Column::Fixed(from), Column::Fixed(to))
        }
        (AddressType::Eth20, None) => {
            // `address_ids` holds each row's (from, to): even indices are
            // senders, odd ones receivers.
            let (mut from, mut to) = (vec![0u8; n * 20], vec![0u8; n * 20]);
            let mut failed = None;
            in_id_order(store, &address_ids, |at, a| match a {
                Address::Eth(b) => {
                    let col = if at % 2 == 0 { &mut from } else { &mut to };
                    col[at / 2 * 20..][..20].copy_from_slice(b);
                }
                other => failed = Some(other.clone()),
            });
            if let Some(a) = failed {
                eth20(&a, "address")?;
            }
            (Column::Fixed(from), Column::Fixed(to))
        }
        (AddressType::Text, _) => {
            let looked_up = addresses_of(store, &address_ids);
            let (from, to) = crate::text::address_pair_columns(&looked_up, 36);
            (Column::Arrow(Arc::new(from)), Column::Arrow(Arc::new(to)))
        }
    };
    let arrow = |a: ArrayRef| Column::Arrow(a);
    Ok(vec![
        arrow(Arc::new(Int64Array::from(block))),
        arrow(Arc::new(
            TimestampMicrosecondArray::from(time).with_timezone("UTC"),
        )),
        Column::Fixed(tx_hash),
        arrow(Arc::new(UInt32Array::from(tx_index))),
        arrow(Arc::new(UInt32Array::from(position))),
        from,
        to,
        arrow(Arc::new(UInt32Array::from(from_id))),
        arrow(Arc::new(UInt32Array::from(to_id))),
        arrow(Arc::new(token.finish())),
        arrow(Arc::new(symbol.finish())),
        arrow(Arc::new(Int32Array::from(decimals))),
        arrow(Arc::new(
            Decimal128Array::from(amount_d38).with_precision_and_scale(38, 0)?,
        )),
        arrow(Arc::new(amount_big.finish())),
    ])
}

/// The 20 bytes of every Ethereum address up to the highest id an export's
/// rows name, by id: what the workers copy senders and receivers from.
/// Read once, in id order (the store unmaps the dictionary's pages behind
/// the read), instead of every row group sorting its ids and reading the
/// dictionary again: at 10^7 transfers that was a quarter of the export's
/// CPU (two cache misses an address, decoding, and the dictionary's pages
/// faulted in again by each row group after the store unmapped them).
pub(crate) struct AddressTable {
    bytes: Vec<u8>,
    /// Ids whose address is not a 20-byte Ethereum address (zeros in
    /// `bytes`): a row that has one is refused, as without the table.
    not_eth: Vec<u32>,
}

/// The largest [`AddressTable`] the export builds, in bytes: 20 an
/// address, 3.75 GB for all 187.7 M addresses of 5×10^8 transfers.
pub(crate) const ADDRESS_TABLE_MAX_BYTES: u64 = 4 << 30;

/// Table ids a row may cost at most: beyond that (a few rows naming ids
/// across a large store: an incremental export's new blocks) reading the
/// whole table would cost more than reading those rows' addresses from
/// the dictionary.
const TABLE_IDS_PER_ROW: u64 = 4;

impl AddressTable {
    /// The table for exporting transfers `lo..hi` of `store` (read on
    /// `threads` threads, each a contiguous range of ids in order), or
    /// `None` when the store is not Ethereum, the table would pass
    /// `max_bytes`, or it would hold over [`TABLE_IDS_PER_ROW`] ids a row.
    pub(crate) fn for_rows(
        store: &Store,
        lo: TransferId,
        hi: TransferId,
        threads: usize,
        max_bytes: u64,
    ) -> Option<AddressTable> {
        if AddressType::of(store.chain()) != AddressType::Eth20 {
            return None;
        }
        let rows = hi - lo;
        let all = store.address_count() as u64;
        // Rows that outnumber the store's addresses twice over (a whole
        // store's export) get the whole table without the scan (~0.1 s
        // at 10^7 transfers, before any work can start).
        let ids = if all.saturating_mul(2) <= rows {
            all
        } else {
            u64::from(highest_address_id(store, lo, hi)?) + 1
        };
        if ids == 0 || ids * 20 > max_bytes || ids > TABLE_IDS_PER_ROW.saturating_mul(rows) {
            return None;
        }
        Some(Self::read(store, ids as usize, threads))
    }

    fn read(store: &Store, n: usize, threads: usize) -> AddressTable {
        let mut bytes = vec![0u8; n * 20];
        let per = n.div_ceil(threads.max(1)).max(1);
        let not_eth = std::thread::scope(|scope| {
            let parts: Vec<_> = bytes
                .chunks_mut(per * 20)
                .enumerate()
                .map(|(k, part)| {
                    scope.spawn(move || {
                        let base = (k * per) as u32;
                        let mut not_eth = Vec::new();
                        for (i, out) in part.chunks_exact_mut(20).enumerate() {
                            match store.address(base + i as u32) {
                                Address::Eth(b) => out.copy_from_slice(&b),
                                _ => not_eth.push(base + i as u32),
                            }
                        }
                        not_eth
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        AddressTable { bytes, not_eth }
    }

    /// Ids in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() / 20
    }

    /// The bytes of address `id`.
    #[cfg(test)]
    pub(crate) fn address(&self, id: u32) -> &[u8] {
        &self.bytes[id as usize * 20..][..20]
    }

    /// The from and to columns of rows whose (from, to) ids are `pairs`
    /// (even indices senders, odd ones receivers), copied from the table
    /// in ascending id order ([`sort_by_id`]): in row order every copy
    /// was a cache and TLB miss in a table of tens of megabytes (28 % of
    /// the export's CPU at 10^7 transfers), in id order the table is read
    /// nearly sequentially.
    fn gather(&self, pairs: &[u32]) -> (Vec<u8>, Vec<u8>) {
        let n = pairs.len() / 2;
        let (mut from, mut to) = (vec![0u8; n * 20], vec![0u8; n * 20]);
        for key in sort_by_id(pairs) {
            let (id, at) = ((key >> 32) as usize, key as u32 as usize);
            let col = if at % 2 == 0 { &mut from } else { &mut to };
            col[at / 2 * 20..][..20].copy_from_slice(&self.bytes[id * 20..][..20]);
        }
        (from, to)
    }

    /// Refuse rows whose sender or receiver is not an Ethereum address.
    fn check(&self, store: &Store, ids: &[u32]) -> Result<(), ArrowError> {
        if self.not_eth.is_empty() {
            return Ok(());
        }
        match ids.iter().find(|id| self.not_eth.binary_search(id).is_ok()) {
            Some(&id) => eth20(&store.address(id), "address").map(|_| ()),
            None => Ok(()),
        }
    }
}

/// The highest sender or receiver id of transfers `lo..hi` (`None` when
/// there are none): a sequential scan of the two id columns.
fn highest_address_id(store: &Store, lo: TransferId, hi: TransferId) -> Option<u32> {
    let mut batch = TransferBatch::sequential();
    let mut at_least = Vec::new();
    let (mut at, mut max) = (lo, None);
    while at < hi {
        let want = (hi - at).min(1 << 16) as usize;
        let got =
            store.read_batch_at_least(at, want, Amount::ZERO, false, &mut batch, &mut at_least);
        if got == 0 {
            break;
        }
        let here = batch.src.iter().chain(&batch.dst).copied().max();
        max = max.max(here);
        at += got as u64;
    }
    max
}

/// The address of every id in `ids`, in the order of `ids`, looked up in
/// id order ([`in_id_order`]).
pub(crate) fn addresses_of(store: &Store, ids: &[u32]) -> Vec<Address> {
    let mut out = vec![Address::Eth([0; 20]); ids.len()];
    in_id_order(store, ids, |at, a| out[at] = a.clone());
    out
}

/// Look up the address of every id in `ids` and hand it to `put` with the
/// id's index, in ascending id order and once per distinct id. The address
/// dictionary is laid out by id: looked up in row order every address cost
/// two cache misses (its offset and its key; 30 % of the export's CPU at
/// 10^7), sorted they are read nearly sequentially.
fn in_id_order(store: &Store, ids: &[u32], mut put: impl FnMut(usize, &Address)) {
    let order = sort_by_id(ids);
    let mut last: Option<(u32, Address)> = None;
    for key in order {
        let (id, at) = ((key >> 32) as u32, key as u32 as usize);
        let a = match &last {
            Some((was, a)) if *was == id => a,
            _ => &last.insert((id, store.address(id))).1,
        };
        put(at, a);
    }
}

/// `(id << 32) | index` of every id in `ids`, in ascending id order (and
/// index order within an id): a least-significant-digit radix sort on the
/// id, 11 bits a pass and only as many passes as the largest id needs (two
/// below 2^22 addresses). A comparison sort was 6 % of the export's CPU.
fn sort_by_id(ids: &[u32]) -> Vec<u64> {
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    let mut keys: Vec<u64> = ids
        .iter()
        .enumerate()
        .map(|(at, &id)| u64::from(id) << 32 | at as u64)
        .collect();
    let max = ids.iter().copied().max().unwrap_or(0);
    let passes = (32 - max.leading_zeros()).div_ceil(BITS);
    let mut spare = vec![0u64; keys.len()];
    for pass in 0..passes {
        let shift = 32 + pass * BITS;
        let mut counts = vec![0usize; 1 << BITS];
        for &k in &keys {
            counts[((k >> shift) & MASK) as usize] += 1;
        }
        let mut next = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = next;
            next += n;
        }
        for &k in &keys {
            let digit = ((k >> shift) & MASK) as usize;
            spare[counts[digit]] = k;
            counts[digit] += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    keys
}

/// The version 2 labels table's columns.
pub(crate) fn label_columns_v2(
    store: &Store,
    labels: &[tripoint_chain::Label],
) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = labels.len();
    let mut text = StringBuilder::new();
    let mut id = Vec::with_capacity(n);
    let mut label = StringBuilder::new();
    let mut category = StringBuilder::new();
    let mut source = StringBuilder::new();
    let address: ArrayRef = match AddressType::of(store.chain()) {
        AddressType::Eth20 => {
            let mut b = FixedSizeBinaryBuilder::with_capacity(n, 20);
            for l in labels {
                match &l.address {
                    Address::Eth(a) => b.append_value(a)?,
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        AddressType::Text => {
            let mut b = StringBuilder::new();
            for l in labels {
                b.append_value(l.address.to_string());
            }
            Arc::new(b.finish())
        }
    };
    for l in labels {
        text.append_value(l.address.to_string());
        id.push(store.lookup(&l.address));
        label.append_value(&l.label);
        category.append_value(l.category.as_str());
        source.append_value(&l.source);
    }
    Ok(vec![
        address,
        Arc::new(text.finish()),
        Arc::new(UInt32Array::from(id)),
        Arc::new(label.finish()),
        Arc::new(category.finish()),
        Arc::new(source.finish()),
    ])
}

#[cfg(test)]
mod tests {
    use super::sort_by_id;

    #[test]
    fn ids_are_sorted_stably_by_id_at_every_width() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for bits in [0u32, 1, 7, 11, 12, 22, 23, 32] {
            let ids: Vec<u32> = (0..5_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if bits == 0 {
                        0
                    } else {
                        (x >> (64 - bits)) as u32
                    }
                })
                .collect();
            let mut want: Vec<u64> = ids
                .iter()
                .enumerate()
                .map(|(at, &id)| u64::from(id) << 32 | at as u64)
                .collect();
            want.sort_unstable();
            assert_eq!(sort_by_id(&ids), want, "ids of {bits} bits");
        }
        assert!(sort_by_id(&[]).is_empty());
    }
}
