//! `tripoint export parquet`: transfers and labels of a store as Parquet.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::ColumnDescPtr;
use tripoint_chain::{Address, Amount, TransferGraph, TransferId, TxHash, U256};
use tripoint_store::Store;

use crate::binary::{
    build_columns_v2, label_columns_v2, labels_schema_v2, transfers_props_v2, transfers_schema_v2,
    AddressTable, AddressType, ADDRESS_TABLE_MAX_BYTES,
};
use crate::block::BlockWriter;
use crate::fixed::{encode_fixed, Column, FixedChunk};
use crate::manifest::{sync_dir, ExportManifest, LabelsFile, PartFile};
use crate::{ExportError, FORMAT, VERSION, VERSION_1};

/// What to export and how big the files get.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// First block to export (default: the block after the last export, or
    /// the store's first block).
    pub from_block: Option<u64>,
    /// Last block to export (default: the store's last block).
    pub to_block: Option<u64>,
    /// A transfers file is closed at the first block boundary after this many rows.
    pub rows_per_file: u64,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Format version of a new export directory (default [`VERSION_1`], the
    /// columns scripts already read; [`VERSION`] is asked for). An existing
    /// directory keeps its version: asking for another is refused.
    pub format_version: Option<u32>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            from_block: None,
            to_block: None,
            rows_per_file: 4 << 20,
            row_group_rows: 128 << 10,
            format_version: None,
        }
    }
}

/// What one export did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    /// Block range exported by this run (`None` when nothing was new).
    pub blocks: Option<(u64, u64)>,
    pub transfers: u64,
    /// Files written by this run.
    pub files: Vec<PartFile>,
    pub labels: u64,
    /// Highest block exported so far, over all runs.
    pub through_block: Option<u64>,
    /// Format version of the directory's files.
    pub version: u32,
}

/// Rows per slice handed to the Parquet column writers ([`batch_slices`]).
const BATCH_ROWS: usize = 64 << 10;

/// Exports the transfers of `store` in the requested block range that are
/// not exported yet, and all labels, into `out` (created if needed), then
/// publishes the manifest. `progress(done, total)` is called as rows are
/// written. Files are written under temporary names and renamed when
/// complete, and the manifest is replaced last, so an interrupted export
/// leaves the previous export intact (the next run redoes the blocks).
pub fn export(
    store: &Store,
    out: &Path,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ExportSummary, ExportError> {
    if opts.rows_per_file == 0 || opts.row_group_rows == 0 {
        return Err(ExportError::Usage(
            "rows per file and per row group must be positive".into(),
        ));
    }
    if let Some(v) = opts.format_version {
        if v != VERSION_1 && v != VERSION {
            return Err(ExportError::Usage(format!(
                "format version {v}: this tripoint writes versions {VERSION_1} and {VERSION}"
            )));
        }
    }
    let existing = ExportManifest::read(out)?;
    let mut manifest = match existing {
        // Versions are never mixed in one directory: an existing export
        // goes on in its own version.
        Some(m) => {
            if let Some(v) = opts.format_version.filter(|&v| v != m.version) {
                return Err(ExportError::format(
                    out.join(crate::MANIFEST_FILE),
                    format!(
                        "holds a format version {} export; version {v} was asked for, and one \
                         directory never mixes versions (export into a new directory)",
                        m.version
                    ),
                ));
            }
            m
        }
        None => ExportManifest::empty(None, opts.format_version.unwrap_or(VERSION_1)),
    };
    let opts = &ExportOptions {
        format_version: Some(manifest.version),
        ..opts.clone()
    };
    std::fs::create_dir_all(out.join("transfers")).map_err(|e| ExportError::io(out, e))?;
    std::fs::create_dir_all(out.join("labels")).map_err(|e| ExportError::io(out, e))?;
    let chain = store.chain();
    if let (Some(had), Some(now)) = (manifest.chain, chain) {
        if had != now {
            return Err(ExportError::format(
                out.join(crate::MANIFEST_FILE),
                format!("holds a {had:?} export; the store is {now:?}"),
            ));
        }
    }
    manifest.chain = manifest.chain.or(chain);

    let n = store.transfer_count();
    let mut summary = ExportSummary {
        blocks: None,
        transfers: 0,
        files: Vec::new(),
        labels: 0,
        through_block: manifest.through_block,
        version: manifest.version,
    };
    if n > 0 {
        let store_last = store.transfer(n - 1).block;
        let mut from = opts.from_block.unwrap_or(0);
        if let Some(done) = manifest.through_block {
            from = from.max(done.saturating_add(1));
        }
        let to = opts.to_block.unwrap_or(store_last).min(store_last);
        if from <= to {
            let lo = first_id_at_or_after(store, from);
            let hi = first_id_at_or_after(store, to.saturating_add(1));
            if lo < hi {
                let files = write_transfers(store, out, lo, hi, opts, progress)?;
                summary.transfers = hi - lo;
                summary.blocks = Some((store.transfer(lo).block, store.transfer(hi - 1).block));
                manifest.parts.extend(files.iter().cloned());
                summary.files = files;
            }
            manifest.through_block = Some(manifest.through_block.map_or(to, |d| d.max(to)));
        }
    }
    let labels = write_labels(store, out, manifest.version)?;
    summary.labels = labels.rows;
    manifest.labels = Some(labels);
    sync_dir(&out.join("transfers"))?;
    manifest.publish(out)?;
    summary.through_block = manifest.through_block;
    Ok(summary)
}

/// First transfer id whose block is ≥ `block` (ids are in block order).
fn first_id_at_or_after(g: &Store, block: u64) -> TransferId {
    let (mut lo, mut hi) = (0u64, g.transfer_count());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if g.transfer(mid).block < block {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The format version 1 transfers table's Arrow schema (documented in
/// docs/scale.md); the trace's flows keep it.
pub fn transfers_schema_v1() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("block", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("tx_hash", DataType::Utf8, false),
        Field::new("tx_index", DataType::Int64, false),
        Field::new("position", DataType::Int64, false),
        Field::new("from_address", DataType::Utf8, false),
        Field::new("to_address", DataType::Utf8, false),
        Field::new("from_id", DataType::Int64, false),
        Field::new("to_id", DataType::Int64, false),
        Field::new("asset", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("decimals", DataType::Int32, true),
        Field::new("amount", DataType::Utf8, false),
        Field::new("amount_d38", DataType::Decimal128(38, 0), true),
    ]))
}

/// The trace flows table's Arrow schema: the transfers table's columns, then
/// the taint the transfer carried (exact string, and `DECIMAL(38,0)` when it fits).
pub fn flows_schema() -> SchemaRef {
    let mut fields: Vec<Field> = transfers_schema_v1()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("taint", DataType::Utf8, false));
    fields.push(Field::new("taint_d38", DataType::Decimal128(38, 0), true));
    Arc::new(Schema::new(fields))
}

/// The format version 1 labels table's Arrow schema.
pub fn labels_schema_v1() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("address", DataType::Utf8, false),
        Field::new("address_id", DataType::Int64, true),
        Field::new("label", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

/// `ethereum` or `bitcoin` (an empty store counts as Ethereum).
pub(crate) fn chain_name(store: &Store) -> &'static str {
    match store.chain() {
        Some(tripoint_chain::Chain::Bitcoin) => "bitcoin",
        _ => "ethereum",
    }
}

/// Every file's `tripoint.*` key-value metadata.
pub(crate) fn file_metadata(table: &str, chain: &str, version: u32) -> Vec<KeyValue> {
    vec![
        KeyValue::new("tripoint.format".into(), FORMAT.to_string()),
        KeyValue::new("tripoint.version".into(), version.to_string()),
        KeyValue::new("tripoint.table".into(), table.to_string()),
        KeyValue::new("tripoint.chain".into(), chain.to_string()),
    ]
}

/// Format version 1's properties (Snappy, dictionaries and statistics
/// everywhere: the `parquet` crate's defaults), also the trace's files'.
pub(crate) fn writer_props(table: &str, chain: &str, row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_key_value_metadata(Some(file_metadata(table, chain, VERSION_1)))
        .build()
}

/// Per asset id: key, symbol and decimals, looked up once.
pub(crate) struct AssetInfo {
    pub(crate) key: String,
    /// The token contract; `None` for the native coin.
    pub(crate) token: Option<Address>,
    pub(crate) symbol: Option<String>,
    pub(crate) decimals: Option<i32>,
}

pub(crate) fn asset_infos(store: &Store) -> Vec<AssetInfo> {
    let native = store.chain().map_or("ETH", |c| c.native_symbol());
    (0..store.asset_count() as u32)
        .map(|a| match store.token(a) {
            None if a == 0 => AssetInfo {
                key: native.into(),
                token: None,
                symbol: Some(native.into()),
                decimals: Some(if native == "BTC" { 8 } else { 18 }),
            },
            None => AssetInfo {
                key: store.asset(a).key(),
                token: token_of(store.asset(a)),
                symbol: None,
                decimals: None,
            },
            Some(t) => AssetInfo {
                key: store.asset(a).key(),
                token: token_of(store.asset(a)),
                symbol: Some(t.symbol).filter(|s| !s.is_empty()),
                decimals: t.decimals.map(i32::from),
            },
        })
        .collect()
}

fn token_of(asset: tripoint_chain::Asset) -> Option<Address> {
    match asset {
        tripoint_chain::Asset::Native(_) => None,
        tripoint_chain::Asset::Token(t) => Some(t),
    }
}

/// 10^38: amounts below it fit `DECIMAL(38,0)`.
pub(crate) fn d38_limit() -> Amount {
    U256::from(10u128.pow(38))
}

/// An exact amount as a string (made in `text`, a reused buffer), and as
/// `DECIMAL(38,0)` when below 10^38.
fn append_amount(
    out: &mut StringBuilder,
    d38: &mut Vec<Option<i128>>,
    text: &mut String,
    v: Amount,
    limit: Amount,
) {
    text.clear();
    crate::text::push_amount(text, v);
    out.append_value(&*text);
    d38.push((v < limit).then(|| v.as_i128()));
}

/// What every row-group worker reads.
struct RowContext<'a> {
    store: &'a Store,
    assets: &'a [AssetInfo],
    schema: &'a SchemaRef,
    /// `Some` for format version 2's transfers, `None` for version 1's
    /// text columns (transfers and the trace's flows).
    binary: Option<AddressType>,
    with_taint: bool,
    limit: Amount,
    fixed: FixedWriter,
    /// Version 2's Ethereum addresses by id, when the store's fit
    /// ([`AddressTable`]).
    table: Option<&'a AddressTable>,
}

/// Who encodes version 2's fixed-length binary columns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FixedWriter {
    /// [`encode_fixed`], from the bytes.
    Direct,
    /// The `parquet` crate's Arrow column writer (what [`encode_fixed`] is
    /// tested against).
    Crate,
}

/// The columns of `rows` (transfer ids with the taint each carried, for
/// flows), in schema order. Built whole, per column, with the text made in
/// reused buffers.
fn build_columns(
    ctx: &RowContext<'_>,
    rows: &GroupRows,
) -> Result<Vec<ArrayRef>, arrow_schema::ArrowError> {
    let (store, n) = (ctx.store, rows.len());
    let mut block = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut tx_index = Vec::with_capacity(n);
    let mut position = Vec::with_capacity(n);
    let mut from_id = Vec::with_capacity(n);
    let mut to_id = Vec::with_capacity(n);
    let mut address_ids = Vec::with_capacity(2 * n);
    let mut tx_hash = StringBuilder::with_capacity(n, n * 66);
    let mut asset = StringBuilder::with_capacity(n, n * 4);
    let mut symbol = StringBuilder::with_capacity(n, n * 4);
    let mut decimals = Vec::with_capacity(n);
    let mut amount = StringBuilder::with_capacity(n, n * 20);
    let mut amount_d38 = Vec::with_capacity(n);
    let mut taint = ctx.with_taint.then(|| {
        (
            StringBuilder::with_capacity(n, n * 20),
            Vec::with_capacity(n),
        )
    });
    let mut text = String::with_capacity(80);
    // Rows of one transaction are adjacent: its hash is made once.
    let mut hash: Option<TxHash> = None;
    let mut hash_text = String::with_capacity(66);
    for (id, carried) in rows.iter() {
        let row = store.transfer(id);
        block.push(row.block as i64);
        time.push(row.timestamp.saturating_mul(1_000_000));
        let h = store.tx_hash(id);
        if hash != Some(h) {
            hash_text.clear();
            crate::text::push_tx_hash(&mut hash_text, &h);
            hash = Some(h);
        }
        tx_hash.append_value(&hash_text);
        tx_index.push(i64::from(row.tx_index));
        position.push(i64::from(row.sub_index));
        address_ids.extend([row.src, row.dst]);
        from_id.push(i64::from(row.src));
        to_id.push(i64::from(row.dst));
        let a = &ctx.assets[row.asset as usize];
        asset.append_value(&a.key);
        symbol.append_option(a.symbol.as_deref());
        decimals.push(a.decimals);
        append_amount(
            &mut amount,
            &mut amount_d38,
            &mut text,
            row.amount,
            ctx.limit,
        );
        if let Some((text_col, d38)) = &mut taint {
            let t = carried.unwrap_or_default();
            append_amount(text_col, d38, &mut text, t, ctx.limit);
        }
    }
    // The dictionary lookups, in a loop of their own and in id order, so
    // they read the dictionary nearly sequentially.
    let addresses = crate::binary::addresses_of(store, &address_ids);
    let (from, to) = crate::text::address_pair_columns(&addresses, 42);
    let d38 = |v: Vec<Option<i128>>| Decimal128Array::from(v).with_precision_and_scale(38, 0);
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(block)),
        Arc::new(TimestampMicrosecondArray::from(time).with_timezone("UTC")),
        Arc::new(tx_hash.finish()),
        Arc::new(Int64Array::from(tx_index)),
        Arc::new(Int64Array::from(position)),
        Arc::new(from),
        Arc::new(to),
        Arc::new(Int64Array::from(from_id)),
        Arc::new(Int64Array::from(to_id)),
        Arc::new(asset.finish()),
        Arc::new(symbol.finish()),
        Arc::new(Int32Array::from(decimals)),
        Arc::new(amount.finish()),
        Arc::new(d38(amount_d38)?),
    ];
    if let Some((mut text_col, values)) = taint {
        cols.push(Arc::new(text_col.finish()));
        cols.push(Arc::new(d38(values)?));
    }
    Ok(cols)
}

/// One row group for a worker: its rows, the lengths of the slices the
/// column writers are fed in turn, and the column writers, leaf columns and
/// properties of its file.
struct RowGroupJob {
    seq: u64,
    rows: GroupRows,
    slices: Vec<usize>,
    writers: Vec<ArrowColumnWriter>,
    leaves: Vec<ColumnDescPtr>,
    props: WriterPropertiesPtr,
    /// The file's temporary path, for errors.
    path: PathBuf,
}

/// A row group's rows: a run of consecutive transfer ids without taint
/// (every row group of `tripoint export parquet`), or the rows as listed.
/// Listing a whole export's rows cost its main thread 64 bytes a row
/// written (and the workers as many read) for nothing.
#[derive(Default)]
pub(crate) struct GroupRows {
    start: TransferId,
    run: usize,
    listed: Option<Vec<(TransferId, Option<Amount>)>>,
}

impl GroupRows {
    /// Append a row; `capacity` is the most rows the group gets.
    fn push(&mut self, id: TransferId, carried: Option<Amount>, capacity: usize) {
        if let Some(listed) = &mut self.listed {
            listed.push((id, carried));
            return;
        }
        if carried.is_none() && (self.run == 0 || id == self.start + self.run as u64) {
            if self.run == 0 {
                self.start = id;
            }
            self.run += 1;
            return;
        }
        let mut listed = Vec::with_capacity(capacity.min(1 << 20));
        listed.extend(self.run_ids().map(|id| (id, None)));
        listed.push((id, carried));
        self.listed = Some(listed);
    }

    fn run_ids(&self) -> std::ops::Range<TransferId> {
        self.start..self.start + self.run as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.listed.as_ref().map_or(self.run, Vec::len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows in order, with the taint each carried.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (TransferId, Option<Amount>)> + '_ {
        let (run, listed) = match &self.listed {
            Some(l) => (self.start..self.start, &l[..]),
            None => (self.run_ids(), &[][..]),
        };
        run.map(|id| (id, None)).chain(listed.iter().copied())
    }
}

/// An encoded column chunk, by its writer.
enum Chunk {
    Arrow(ArrowColumnChunk),
    Fixed(FixedChunk),
}

impl Chunk {
    fn append_to_row_group(
        self,
        group: &mut SerializedRowGroupWriter<'_, BlockWriter>,
    ) -> Result<(), parquet::errors::ParquetError> {
        match self {
            Chunk::Arrow(c) => c.append_to_row_group(group),
            Chunk::Fixed(c) => c.append_to_row_group(group),
        }
    }
}

/// A worker's encoded row group.
struct Encoded {
    seq: u64,
    rows: u64,
    chunks: Result<Vec<Chunk>, ExportError>,
}

/// Build and encode one row group (on a worker thread).
fn encode_row_group(ctx: &RowContext<'_>, job: RowGroupJob) -> Encoded {
    let (seq, rows) = (job.seq, job.rows.len() as u64);
    let path = job.path;
    let chunks = (|| {
        let arrow_err = |e| ExportError::arrow(&path, e);
        let mut cols = match ctx.binary {
            Some(addresses) => {
                build_columns_v2(ctx.store, ctx.assets, addresses, ctx.table, &job.rows)
            }
            None => build_columns(ctx, &job.rows)
                .map(|cols| cols.into_iter().map(Column::Arrow).collect()),
        }
        .map_err(arrow_err)?;
        drop(job.rows);
        if ctx.fixed == FixedWriter::Crate {
            cols = cols
                .into_iter()
                .zip(&job.leaves)
                .map(|(c, leaf)| c.into_arrow(leaf.type_length().max(1) as usize))
                .map(|c| c.map(Column::Arrow))
                .collect::<Result<_, _>>()
                .map_err(arrow_err)?;
        }
        let mut writers = job.writers;
        let mut start = 0;
        for &len in &job.slices {
            for ((writer, col), field) in writers.iter_mut().zip(&cols).zip(ctx.schema.fields()) {
                let Column::Arrow(col) = col else { continue };
                let slice = col.slice(start, len);
                for leaf in
                    compute_leaves(field, &slice).map_err(|e| ExportError::parquet(&path, e))?
                {
                    writer
                        .write(&leaf)
                        .map_err(|e| ExportError::parquet(&path, e))?;
                }
            }
            start += len;
        }
        writers
            .into_iter()
            .zip(cols)
            .zip(&job.leaves)
            .map(|((w, col), leaf)| match col {
                Column::Arrow(_) => w.close().map(Chunk::Arrow),
                Column::Fixed(bytes) => {
                    encode_fixed(leaf, &job.props, bytes, &job.slices).map(Chunk::Fixed)
                }
            })
            .map(|c| c.map_err(|e| ExportError::parquet(&path, e)))
            .collect()
    })();
    Encoded { seq, rows, chunks }
}

/// Lengths of the pieces of `len` rows starting at row `start` of a file,
/// cut at the file's multiples of [`BATCH_ROWS`]: the record batches this
/// export has always handed the Parquet writer. Feeding the column writers
/// the same pieces keeps every page boundary, so the files are byte for
/// byte those of the single-threaded writer.
fn batch_slices(start: u64, len: usize) -> Vec<usize> {
    let batch = BATCH_ROWS as u64;
    let end = start + len as u64;
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let stop = ((at / batch + 1) * batch).min(end);
        out.push((stop - at) as usize);
        at = stop;
    }
    out
}

/// One transfers file being written under a temporary name.
struct OpenPart {
    tmp: PathBuf,
    writer: SerializedFileWriter<BlockWriter>,
    factory: ArrowRowGroupWriterFactory,
    first_block: u64,
    /// The last row's id, and its block once the file is big enough that
    /// the next block closes it.
    last_id: TransferId,
    tail_block: Option<u64>,
    rows: u64,
    row_groups: usize,
}

/// The main thread's side of the workers: hands out row groups, and
/// appends the encoded ones to the open file in order.
struct Pipeline<'p> {
    jobs: Sender<RowGroupJob>,
    done: Receiver<Encoded>,
    progress: &'p mut dyn FnMut(u64, u64),
    total: u64,
    written: u64,
    next_seq: u64,
    next_append: u64,
    ready: BTreeMap<u64, Encoded>,
    max_in_flight: u64,
}

impl Pipeline<'_> {
    fn send(&mut self, part: &mut OpenPart, job: RowGroupJob) -> Result<(), ExportError> {
        self.jobs
            .send(job)
            .map_err(|_| ExportError::Usage("the export's workers stopped".into()))?;
        self.next_seq += 1;
        while self.next_seq - self.next_append >= self.max_in_flight {
            self.append_next(part)?;
        }
        Ok(())
    }

    /// Wait for the next row group in order and append it to `part`.
    fn append_next(&mut self, part: &mut OpenPart) -> Result<(), ExportError> {
        let enc = loop {
            if let Some(enc) = self.ready.remove(&self.next_append) {
                break enc;
            }
            let enc = self
                .done
                .recv()
                .map_err(|_| ExportError::Usage("the export's workers stopped".into()))?;
            self.ready.insert(enc.seq, enc);
        };
        let mut group = part
            .writer
            .next_row_group()
            .map_err(|e| ExportError::parquet(&part.tmp, e))?;
        for chunk in enc.chunks? {
            chunk
                .append_to_row_group(&mut group)
                .map_err(|e| ExportError::parquet(&part.tmp, e))?;
        }
        group
            .close()
            .map_err(|e| ExportError::parquet(&part.tmp, e))?;
        self.next_append += 1;
        self.written += enc.rows;
        (self.progress)(self.written, self.total);
        Ok(())
    }

    /// Append every row group handed out so far.
    fn drain(&mut self, part: &mut OpenPart) -> Result<(), ExportError> {
        while self.next_append < self.next_seq {
            self.append_next(part)?;
        }
        Ok(())
    }
}

fn write_transfers(
    store: &Store,
    out: &Path,
    lo: TransferId,
    hi: TransferId,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PartFile>, ExportError> {
    let rows = (lo..hi).map(|id| (id, None));
    let table = match opts.format_version {
        Some(v) if v != VERSION_1 => {
            AddressTable::for_rows(store, lo, hi, worker_count(), ADDRESS_TABLE_MAX_BYTES)
        }
        _ => None,
    };
    write_rows_by(
        store,
        out,
        Table::Transfers,
        rows,
        hi - lo,
        opts,
        progress,
        FixedWriter::Direct,
        table.as_ref(),
    )
}

/// Which table of rows keyed by transfer [`write_rows`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// Every stored transfer of a block range (`tripoint export parquet`).
    Transfers,
    /// The transfers a trace tainted, with the taint each carried.
    Flows,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Transfers => "transfers",
            Table::Flows => "flows",
        }
    }
}

/// Write `rows` (transfer ids in ascending chain order, with the taint each
/// carried for [`Table::Flows`]) into `OUT/<table>/blocks-F-L.parquet`
/// files that cover disjoint block ranges.
///
/// This thread cuts the rows into files and row groups and writes the
/// files; worker threads, one per core, build and encode whole row groups
/// (formatting and Snappy are most of the work), which are appended in
/// order. At most two row groups per worker are in memory at once.
pub(crate) fn write_rows(
    store: &Store,
    out: &Path,
    table: Table,
    rows: impl Iterator<Item = (TransferId, Option<Amount>)>,
    total: u64,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PartFile>, ExportError> {
    write_rows_by(
        store,
        out,
        table,
        rows,
        total,
        opts,
        progress,
        FixedWriter::Direct,
        None,
    )
}

/// [`write_rows`], with the fixed-length binary columns encoded by `fixed`,
/// and version 2's Ethereum addresses copied from `address_table` when
/// there is one (else read from the dictionary).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_rows_by(
    store: &Store,
    out: &Path,
    table: Table,
    rows: impl Iterator<Item = (TransferId, Option<Amount>)>,
    total: u64,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64, u64),
    fixed: FixedWriter,
    address_table: Option<&AddressTable>,
) -> Result<Vec<PartFile>, ExportError> {
    let binary = (table == Table::Transfers
        && opts.format_version.unwrap_or(VERSION_1) != VERSION_1)
        .then(|| AddressType::of(store.chain()));
    let (schema, props) = match binary {
        Some(_) => (
            transfers_schema_v2(store.chain()),
            transfers_props_v2(
                file_metadata(table.name(), chain_name(store), VERSION),
                store.chain(),
                opts.row_group_rows,
            ),
        ),
        None => (
            match table {
                Table::Transfers => transfers_schema_v1(),
                Table::Flows => flows_schema(),
            },
            writer_props(table.name(), chain_name(store), opts.row_group_rows),
        ),
    };
    let assets = asset_infos(store);
    let workers = worker_count();
    let ctx = RowContext {
        store,
        assets: &assets,
        schema: &schema,
        binary,
        with_taint: table == Table::Flows,
        limit: d38_limit(),
        fixed,
        table: address_table,
    };
    let (job_tx, job_rx) = std::sync::mpsc::channel::<RowGroupJob>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Encoded>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (done_tx, job_rx, ctx) = (done_tx.clone(), &job_rx, &ctx);
            scope.spawn(move || loop {
                // The lock is released before the job is worked on.
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                if done_tx.send(encode_row_group(ctx, job)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Moved in, so that the workers see the end of the jobs when this
        // closure returns, however it returns.
        let mut pipeline = Pipeline {
            jobs: job_tx,
            done: done_rx,
            progress,
            total,
            written: 0,
            next_seq: 0,
            next_append: 0,
            ready: BTreeMap::new(),
            max_in_flight: 2 * workers as u64,
        };
        let files = cut_rows(scope, &ctx, out, table, rows, opts, &props, &mut pipeline)?;
        (pipeline.progress)(total, total);
        Ok(files)
    })
}

/// Make glibc's allocator keep freed memory for reuse (a process-wide
/// setting, for a process that runs an export: `tripoint export parquet`).
/// Every row group allocates and frees some 35 MB of buffers; by default
/// glibc hands blocks that large back to the kernel (munmap, or trimming
/// the thread's heap) and the next row group faults them in again, zeroed:
/// 6 % of the export's CPU at 10^7 transfers (system time 0.42 s against
/// 0.24 s kept). Peak memory is that of the buffers alive at once, as before.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // The largest threshold glibc takes (half its 64 MiB heaps): row
        // groups' buffers come from the heaps, not from mmap.
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        const TRIM_THRESHOLD: libc::c_int = 1 << 30;
        // SAFETY: mallopt only sets allocator parameters; it is safe to
        // call at any time, from any thread.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}

/// Row-group workers: one per core, at most 8.
fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Cut `rows` into files (closed at the first block boundary after
/// `rows_per_file` rows) and row groups, and hand the row groups to the
/// workers. A finished file is closed and fsynced on a thread of its own,
/// so the workers go on with the next file meanwhile.
#[allow(clippy::too_many_arguments)]
fn cut_rows<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    ctx: &RowContext<'env>,
    out: &'env Path,
    table: Table,
    rows: impl Iterator<Item = (TransferId, Option<Amount>)>,
    opts: &ExportOptions,
    props: &WriterProperties,
    pipeline: &mut Pipeline<'_>,
) -> Result<Vec<PartFile>, ExportError> {
    let store = ctx.store;
    let mut rows = rows.peekable();
    let mut closing = Vec::new();
    let mut part: Option<OpenPart> = None;
    while let Some(&(first, _)) = rows.peek() {
        let p = match &mut part {
            Some(p) => p,
            None => part.insert(open_part(out, table, ctx.schema, props, store, first)?),
        };
        let start = p.rows;
        let mut group = GroupRows::default();
        let mut full = false;
        while group.len() < opts.row_group_rows {
            let Some(&(id, carried)) = rows.peek() else {
                break;
            };
            if p.rows >= opts.rows_per_file {
                let last = *p
                    .tail_block
                    .get_or_insert_with(|| store.transfer(p.last_id).block);
                if store.transfer(id).block != last {
                    full = true;
                    break;
                }
            }
            rows.next();
            group.push(id, carried, opts.row_group_rows);
            p.rows += 1;
            p.last_id = id;
        }
        if !group.is_empty() {
            let writers = p
                .factory
                .create_column_writers(p.row_groups)
                .map_err(|e| ExportError::parquet(&p.tmp, e))?;
            p.row_groups += 1;
            let job = RowGroupJob {
                seq: pipeline.next_seq,
                slices: batch_slices(start, group.len()),
                rows: group,
                writers,
                leaves: p.writer.schema_descr().columns().to_vec(),
                props: p.writer.properties().clone(),
                path: p.tmp.clone(),
            };
            pipeline.send(p, job)?;
        }
        if full {
            let mut p = part.take().expect("a file is open");
            pipeline.drain(&mut p)?;
            closing.push(scope.spawn(move || close(p, out, table, store)));
        }
    }
    if let Some(mut p) = part.take() {
        pipeline.drain(&mut p)?;
        closing.push(scope.spawn(move || close(p, out, table, store)));
    }
    closing
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect()
}

fn open_part(
    out: &Path,
    table: Table,
    schema: &SchemaRef,
    props: &WriterProperties,
    store: &Store,
    first: TransferId,
) -> Result<OpenPart, ExportError> {
    let first_block = store.transfer(first).block;
    let tmp = out
        .join(table.name())
        .join(format!(".blocks-{first_block}.parquet.tmp"));
    let f = BlockWriter::create(&tmp).map_err(|e| ExportError::io(&tmp, e))?;
    let (writer, factory) = ArrowWriter::try_new(f, schema.clone(), Some(props.clone()))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| ExportError::parquet(&tmp, e))?;
    Ok(OpenPart {
        tmp,
        writer,
        factory,
        first_block,
        last_id: first,
        tail_block: None,
        rows: 0,
        row_groups: 0,
    })
}

fn close(p: OpenPart, out: &Path, table: Table, store: &Store) -> Result<PartFile, ExportError> {
    let file = p
        .writer
        .into_inner()
        .map_err(|e| ExportError::parquet(&p.tmp, e))?
        .into_file()
        .map_err(|e| ExportError::io(&p.tmp, e))?;
    file.sync_all().map_err(|e| ExportError::io(&p.tmp, e))?;
    let bytes = file
        .metadata()
        .map_err(|e| ExportError::io(&p.tmp, e))?
        .len();
    let last_block = store.transfer(p.last_id).block;
    let name = format!(
        "{}/blocks-{:010}-{:010}.parquet",
        table.name(),
        p.first_block,
        last_block
    );
    let path = out.join(&name);
    std::fs::rename(&p.tmp, &path).map_err(|e| ExportError::io(&path, e))?;
    Ok(PartFile {
        file: name,
        first_block: p.first_block,
        last_block,
        rows: p.rows,
        bytes,
    })
}

fn write_labels(store: &Store, out: &Path, version: u32) -> Result<LabelsFile, ExportError> {
    let labels = store.all_labels()?;
    let name = "labels/labels.parquet";
    let chain = chain_name(store);
    if version != VERSION_1 {
        let cols =
            label_columns_v2(store, &labels).map_err(|e| ExportError::arrow(out.join(name), e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(file_metadata("labels", chain, version)))
            .build();
        let mut file =
            BatchFile::with_props(out, name, "labels", labels_schema_v2(store.chain()), props)?;
        file.write(cols)?;
        let bytes = file.finish()?;
        sync_dir(&out.join("labels"))?;
        return Ok(LabelsFile {
            file: name.into(),
            rows: labels.len() as u64,
            bytes,
        });
    }
    let schema = labels_schema_v1();
    let mut address = StringBuilder::new();
    let mut address_id = Int64Builder::new();
    let mut label = StringBuilder::new();
    let mut category = StringBuilder::new();
    let mut source = StringBuilder::new();
    for l in &labels {
        address.append_value(l.address.to_string());
        address_id.append_option(store.lookup(&l.address).map(i64::from));
        label.append_value(&l.label);
        category.append_value(l.category.as_str());
        source.append_value(&l.source);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(address.finish()),
        Arc::new(address_id.finish()),
        Arc::new(label.finish()),
        Arc::new(category.finish()),
        Arc::new(source.finish()),
    ];
    let bytes = write_one_batch(out, name, "labels", chain, schema, cols)?;
    sync_dir(&out.join("labels"))?;
    Ok(LabelsFile {
        file: name.into(),
        rows: labels.len() as u64,
        bytes,
    })
}

/// Write one record batch as the Parquet file `out/name` (a temporary name
/// first, fsynced, then renamed); returns its size in bytes.
pub(crate) fn write_one_batch(
    out: &Path,
    name: &str,
    table: &str,
    chain: &str,
    schema: SchemaRef,
    cols: Vec<ArrayRef>,
) -> Result<u64, ExportError> {
    let mut file = BatchFile::create(out, name, table, chain, schema)?;
    file.write(cols)?;
    file.finish()
}

/// A Parquet file of one table written in batches (row groups of 2^20
/// rows), under a hidden temporary name until [`BatchFile::finish`]
/// fsyncs it and renames it into place.
pub(crate) struct BatchFile {
    tmp: PathBuf,
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
}

impl BatchFile {
    /// A file with format version 1's properties (the trace's files).
    pub(crate) fn create(
        out: &Path,
        name: &str,
        table: &str,
        chain: &str,
        schema: SchemaRef,
    ) -> Result<Self, ExportError> {
        let props = writer_props(table, chain, 1 << 20);
        Self::with_props(out, name, table, schema, props)
    }

    pub(crate) fn with_props(
        out: &Path,
        name: &str,
        table: &str,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ExportError> {
        let path = out.join(name);
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or(table)
        ));
        let f = File::create(&tmp).map_err(|e| ExportError::io(&tmp, e))?;
        let writer = ArrowWriter::try_new(f, schema.clone(), Some(props))
            .map_err(|e| ExportError::parquet(&tmp, e))?;
        Ok(BatchFile {
            tmp,
            path,
            schema,
            writer,
        })
    }

    /// Append rows (one array per column of the schema).
    pub(crate) fn write(&mut self, cols: Vec<ArrayRef>) -> Result<(), ExportError> {
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| ExportError::arrow(&self.tmp, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| ExportError::parquet(&self.tmp, e))
    }

    /// Close, fsync and rename into place; the file's size.
    pub(crate) fn finish(self) -> Result<u64, ExportError> {
        let tmp = self.tmp;
        let f = self
            .writer
            .into_inner()
            .map_err(|e| ExportError::parquet(&tmp, e))?;
        f.sync_all().map_err(|e| ExportError::io(&tmp, e))?;
        let bytes = f.metadata().map_err(|e| ExportError::io(&tmp, e))?.len();
        std::fs::rename(&tmp, &self.path).map_err(|e| ExportError::io(&self.path, e))?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use tripoint_chain::Amount;

    use super::GroupRows;

    /// A group holds its rows in order whether they stay one run of
    /// consecutive ids without taint or stop being one (a gap, a taint).
    #[test]
    fn group_rows_are_the_rows_pushed() {
        let cases: [&[(u64, Option<u64>)]; 4] = [
            &[(5, None), (6, None), (7, None)],
            &[(5, None), (6, None), (9, None), (10, None)],
            &[(5, None), (6, Some(3)), (7, None)],
            &[(8, Some(1)), (9, None)],
        ];
        for rows in cases {
            let rows: Vec<(u64, Option<Amount>)> = rows
                .iter()
                .map(|&(id, t)| (id, t.map(Amount::from)))
                .collect();
            let mut group = GroupRows::default();
            assert!(group.is_empty());
            for &(id, t) in &rows {
                group.push(id, t, 4);
            }
            assert_eq!(group.len(), rows.len());
            assert_eq!(group.iter().collect::<Vec<_>>(), rows);
        }
    }
}
