//! `tripoint export parquet`: transfers and labels of a store as Parquet.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Decimal128Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tripoint_chain::{Amount, TransferGraph, TransferId, U256};
use tripoint_store::Store;

use crate::manifest::{sync_dir, ExportManifest, LabelsFile, PartFile};
use crate::{ExportError, FORMAT, VERSION};

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
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            from_block: None,
            to_block: None,
            rows_per_file: 4 << 20,
            row_group_rows: 128 << 10,
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
}

/// Rows per record batch handed to the Parquet writer.
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
    std::fs::create_dir_all(out.join("transfers")).map_err(|e| ExportError::io(out, e))?;
    std::fs::create_dir_all(out.join("labels")).map_err(|e| ExportError::io(out, e))?;
    let mut manifest = ExportManifest::read(out)?.unwrap_or_else(|| ExportManifest::empty(None));
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
    let labels = write_labels(store, out)?;
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

/// The transfers table's Arrow schema (documented in docs/scale.md).
pub fn transfers_schema() -> SchemaRef {
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
    let mut fields: Vec<Field> = transfers_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("taint", DataType::Utf8, false));
    fields.push(Field::new("taint_d38", DataType::Decimal128(38, 0), true));
    Arc::new(Schema::new(fields))
}

/// The labels table's Arrow schema.
pub fn labels_schema() -> SchemaRef {
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

pub(crate) fn writer_props(table: &str, chain: &str, row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("tripoint.format".into(), FORMAT.to_string()),
            KeyValue::new("tripoint.version".into(), VERSION.to_string()),
            KeyValue::new("tripoint.table".into(), table.to_string()),
            KeyValue::new("tripoint.chain".into(), chain.to_string()),
        ]))
        .build()
}

/// Per asset id: key, symbol and decimals, looked up once.
pub(crate) struct AssetInfo {
    pub(crate) key: String,
    pub(crate) symbol: Option<String>,
    pub(crate) decimals: Option<i32>,
}

pub(crate) fn asset_infos(store: &Store) -> Vec<AssetInfo> {
    let native = store.chain().map_or("ETH", |c| c.native_symbol());
    (0..store.asset_count() as u32)
        .map(|a| match store.token(a) {
            None if a == 0 => AssetInfo {
                key: native.into(),
                symbol: Some(native.into()),
                decimals: Some(if native == "BTC" { 8 } else { 18 }),
            },
            None => AssetInfo {
                key: store.asset(a).key(),
                symbol: None,
                decimals: None,
            },
            Some(t) => AssetInfo {
                key: store.asset(a).key(),
                symbol: Some(t.symbol).filter(|s| !s.is_empty()),
                decimals: t.decimals.map(i32::from),
            },
        })
        .collect()
}

/// Column builders of one record batch.
struct Columns {
    block: Int64Builder,
    time: TimestampMicrosecondBuilder,
    tx_hash: StringBuilder,
    tx_index: Int64Builder,
    position: Int64Builder,
    from: StringBuilder,
    to: StringBuilder,
    from_id: Int64Builder,
    to_id: Int64Builder,
    asset: StringBuilder,
    symbol: StringBuilder,
    decimals: Int32Builder,
    amount: StringBuilder,
    amount_d38: Decimal128Builder,
    /// Only for trace flows: the taint each transfer carried.
    taint: Option<(StringBuilder, Decimal128Builder)>,
}

fn d38_builder() -> Decimal128Builder {
    Decimal128Builder::with_capacity(BATCH_ROWS)
        .with_precision_and_scale(38, 0)
        .expect("38,0 is a valid decimal")
}

/// An exact amount as a string, and as `DECIMAL(38,0)` when below 10^38.
fn append_amount(text: &mut StringBuilder, d38: &mut Decimal128Builder, v: Amount, limit: Amount) {
    text.append_value(v.to_string());
    if v < limit {
        d38.append_value(v.as_i128());
    } else {
        d38.append_null();
    }
}

impl Columns {
    fn new(with_taint: bool) -> Self {
        Columns {
            block: Int64Builder::with_capacity(BATCH_ROWS),
            time: TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            tx_hash: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 66),
            tx_index: Int64Builder::with_capacity(BATCH_ROWS),
            position: Int64Builder::with_capacity(BATCH_ROWS),
            from: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 42),
            to: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 42),
            from_id: Int64Builder::with_capacity(BATCH_ROWS),
            to_id: Int64Builder::with_capacity(BATCH_ROWS),
            asset: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 4),
            symbol: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 4),
            decimals: Int32Builder::with_capacity(BATCH_ROWS),
            amount: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 20),
            amount_d38: d38_builder(),
            taint: with_taint.then(|| {
                (
                    StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 20),
                    d38_builder(),
                )
            }),
        }
    }

    fn len(&self) -> usize {
        self.block.len()
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.block.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.tx_hash.finish()),
            Arc::new(self.tx_index.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.from.finish()),
            Arc::new(self.to.finish()),
            Arc::new(self.from_id.finish()),
            Arc::new(self.to_id.finish()),
            Arc::new(self.asset.finish()),
            Arc::new(self.symbol.finish()),
            Arc::new(self.decimals.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.amount_d38.finish()),
        ];
        if let Some((text, d38)) = &mut self.taint {
            cols.push(Arc::new(text.finish()));
            cols.push(Arc::new(d38.finish()));
        }
        RecordBatch::try_new(schema.clone(), cols)
    }
}

/// 10^38: amounts below it fit `DECIMAL(38,0)`.
fn d38_limit() -> Amount {
    U256::from(10u128.pow(38))
}

/// One transfers file being written under a temporary name.
struct OpenPart {
    tmp: PathBuf,
    writer: ArrowWriter<File>,
    first_block: u64,
    last_block: u64,
    rows: u64,
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
    write_rows(store, out, Table::Transfers, rows, hi - lo, opts, progress)
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
pub(crate) fn write_rows(
    store: &Store,
    out: &Path,
    table: Table,
    rows: impl Iterator<Item = (TransferId, Option<Amount>)>,
    total: u64,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PartFile>, ExportError> {
    let schema = match table {
        Table::Transfers => transfers_schema(),
        Table::Flows => flows_schema(),
    };
    let chain = chain_name(store);
    let props = writer_props(table.name(), chain, opts.row_group_rows);
    let assets = asset_infos(store);
    let limit = d38_limit();
    let mut files = Vec::new();
    let mut part: Option<OpenPart> = None;
    let mut cols = Columns::new(table == Table::Flows);
    let mut text = String::with_capacity(80);

    for (done, (id, taint)) in rows.enumerate() {
        let row = store.transfer(id);
        // Close the file at a block boundary once it is big enough, so
        // that files cover disjoint block ranges.
        let full = part
            .as_ref()
            .is_some_and(|p| p.rows >= opts.rows_per_file && p.last_block != row.block);
        if full {
            flush(&mut cols, &schema, &mut part, out)?;
            files.push(close(part.take().expect("checked above"), out, table)?);
        }
        if part.is_none() {
            let tmp = out
                .join(table.name())
                .join(format!(".blocks-{}.parquet.tmp", row.block));
            let f = File::create(&tmp).map_err(|e| ExportError::io(&tmp, e))?;
            let writer = ArrowWriter::try_new(f, schema.clone(), Some(props.clone()))
                .map_err(|e| ExportError::parquet(&tmp, e))?;
            part = Some(OpenPart {
                tmp,
                writer,
                first_block: row.block,
                last_block: row.block,
                rows: 0,
            });
        }
        let p = part.as_mut().expect("opened above");
        p.last_block = row.block;
        p.rows += 1;

        use std::fmt::Write;
        cols.block.append_value(row.block as i64);
        cols.time
            .append_value(row.timestamp.saturating_mul(1_000_000));
        text.clear();
        write!(text, "{}", store.tx_hash(id)).expect("writing to a String");
        cols.tx_hash.append_value(&text);
        cols.tx_index.append_value(i64::from(row.tx_index));
        cols.position.append_value(i64::from(row.sub_index));
        text.clear();
        write!(text, "{}", store.address(row.src)).expect("writing to a String");
        cols.from.append_value(&text);
        text.clear();
        write!(text, "{}", store.address(row.dst)).expect("writing to a String");
        cols.to.append_value(&text);
        cols.from_id.append_value(i64::from(row.src));
        cols.to_id.append_value(i64::from(row.dst));
        let a = &assets[row.asset as usize];
        cols.asset.append_value(&a.key);
        cols.symbol.append_option(a.symbol.as_deref());
        cols.decimals.append_option(a.decimals);
        append_amount(&mut cols.amount, &mut cols.amount_d38, row.amount, limit);
        if let Some((text, d38)) = &mut cols.taint {
            append_amount(text, d38, taint.unwrap_or_default(), limit);
        }
        if cols.len() == BATCH_ROWS {
            flush(&mut cols, &schema, &mut part, out)?;
            progress(done as u64 + 1, total);
        }
    }
    flush(&mut cols, &schema, &mut part, out)?;
    if let Some(p) = part.take() {
        files.push(close(p, out, table)?);
    }
    progress(total, total);
    Ok(files)
}

fn flush(
    cols: &mut Columns,
    schema: &SchemaRef,
    part: &mut Option<OpenPart>,
    out: &Path,
) -> Result<(), ExportError> {
    if cols.len() == 0 {
        return Ok(());
    }
    let batch = cols
        .finish(schema)
        .map_err(|e| ExportError::arrow(out, e))?;
    let p = part.as_mut().expect("rows were added to an open file");
    p.writer
        .write(&batch)
        .map_err(|e| ExportError::parquet(&p.tmp, e))
}

fn close(p: OpenPart, out: &Path, table: Table) -> Result<PartFile, ExportError> {
    let file = p
        .writer
        .into_inner()
        .map_err(|e| ExportError::parquet(&p.tmp, e))?;
    file.sync_all().map_err(|e| ExportError::io(&p.tmp, e))?;
    let bytes = file
        .metadata()
        .map_err(|e| ExportError::io(&p.tmp, e))?
        .len();
    let name = format!(
        "{}/blocks-{:010}-{:010}.parquet",
        table.name(),
        p.first_block,
        p.last_block
    );
    let path = out.join(&name);
    std::fs::rename(&p.tmp, &path).map_err(|e| ExportError::io(&path, e))?;
    Ok(PartFile {
        file: name,
        first_block: p.first_block,
        last_block: p.last_block,
        rows: p.rows,
        bytes,
    })
}

fn write_labels(store: &Store, out: &Path) -> Result<LabelsFile, ExportError> {
    let labels = store.all_labels()?;
    let schema = labels_schema();
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
    let name = "labels/labels.parquet";
    let bytes = write_one_batch(out, name, "labels", chain_name(store), schema, cols)?;
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
    pub(crate) fn create(
        out: &Path,
        name: &str,
        table: &str,
        chain: &str,
        schema: SchemaRef,
    ) -> Result<Self, ExportError> {
        let path = out.join(name);
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or(table)
        ));
        let f = File::create(&tmp).map_err(|e| ExportError::io(&tmp, e))?;
        let writer =
            ArrowWriter::try_new(f, schema.clone(), Some(writer_props(table, chain, 1 << 20)))
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
