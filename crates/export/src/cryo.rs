//! Import of the Parquet datasets written by `cryo` (paradigmxyz/cryo, the
//! Rust extractor that freezes chain data from a node).
//!
//! Schemas as cryo writes them (crates/freeze/src/datasets/*.rs there):
//!
//! * `transactions`: `block_number` u32, `transaction_index` u64,
//!   `transaction_hash` binary(32), `from_address` binary(20),
//!   `to_address` binary(20) (null: contract creation), `value` u256,
//!   `success` bool, optional `timestamp` u32, …
//! * `erc20_transfers`: `block_number` u32, `transaction_index` u32,
//!   `log_index` u32, `transaction_hash`, `erc20` (the token contract),
//!   `from_address`, `to_address`, `value` u256.
//! * `native_transfers` (from traces): `block_number`, `transaction_index`
//!   (null: block reward), `transfer_index` (per block), `transaction_hash`
//!   (null: reward), `from_address`, `to_address`, `value` u256.
//! * `blocks`: `block_number`, `timestamp` u32 (the transfer datasets carry no
//!   time, so their blocks' timestamps come from here or from a
//!   `transactions.timestamp` column).
//! * `erc20_metadata`: `erc20`, `symbol`, `name`, `decimals` (token info).
//!
//! A u256 column `value` is written as `value_binary` (32 bytes big-endian),
//! `value_string` (decimal) and `value_f64` by default (`--u256-types`);
//! the exact ones are read (string first), the float never. Binary columns
//! may be hex strings (`--hex`). Integer columns of any width are accepted.
//! Files are grouped by cryo's block-range label
//! (`…__00001000_to_00001999.parquet`); each group's records are merged in
//! chain order and checkpointed with a cursor per file (`cryo:<path>`), so a
//! re-run skips finished files and re-importing is a no-op (dedup keys).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{
    Array, BinaryArray, BinaryViewArray, BooleanArray, FixedSizeBinaryArray, Int32Array,
    Int64Array, LargeBinaryArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    UInt32Array, UInt64Array,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, SourceCursor, TokenInfo, TransferRecord, TransferSink,
    TxHash, U256,
};

use crate::ExportError;

/// Internal (trace) transfers are stored after the transaction's logs, at
/// `Position::Log(INTERNAL_BASE + transfer_index)`: the store's position
/// space has no third kind, and log indices never reach 2^30.
pub const INTERNAL_BASE: u32 = 1 << 30;

/// Which cryo dataset a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    Blocks,
    Erc20Metadata,
    Transactions,
    Erc20Transfers,
    NativeTransfers,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CryoSummary {
    pub files: u64,
    /// Files skipped because an earlier import finished them (cursor).
    pub files_already_imported: u64,
    pub rows: u64,
    /// Records handed to the sink.
    pub records: u64,
    pub tokens: u64,
    /// Rows that move nothing or cannot be stored, by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl CryoSummary {
    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }
}

/// Imports every cryo Parquet file under `paths` (files, or directories
/// searched recursively for `*.parquet`) into `sink`. `progress(files_done,
/// files_total)` is called per group of files.
pub fn import<S: TransferSink>(
    paths: &[PathBuf],
    sink: &mut S,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CryoSummary, ExportError> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(ExportError::Usage(format!(
            "no .parquet files in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    files.sort();
    let mut summary = CryoSummary::default();
    let mut classified = Vec::new();
    for f in files {
        let ds = classify(&f)?;
        classified.push((f, ds));
    }
    // Block timestamps and token metadata first.
    let mut times: HashMap<u64, i64> = HashMap::new();
    for (f, ds) in &classified {
        match ds {
            Dataset::Blocks => read_block_times(f, &mut times)?,
            Dataset::Transactions => read_tx_times(f, &mut times)?,
            Dataset::Erc20Metadata => {
                for t in read_tokens(f)? {
                    sink.token(t).map_err(sink_err)?;
                    summary.tokens += 1;
                }
            }
            _ => {}
        }
    }
    // Data files grouped by block range, in block order.
    let mut groups: BTreeMap<(u64, String), Vec<(PathBuf, Dataset)>> = BTreeMap::new();
    for (f, ds) in classified {
        if matches!(ds, Dataset::Blocks | Dataset::Erc20Metadata) {
            summary.files += 1;
            continue;
        }
        let key = range_label(&f).unwrap_or_else(|| (0, f.display().to_string()));
        groups.entry(key).or_default().push((f, ds));
    }
    let total = groups.len() as u64;
    for (done, (_, group)) in groups.into_iter().enumerate() {
        import_group(&group, &times, sink, &mut summary)?;
        progress(done as u64 + 1, total);
    }
    Ok(summary)
}

/// The cursor names (`cryo:<canonical path>`) an import of `paths` uses,
/// one per data file.
pub fn cursor_sources(paths: &[PathBuf]) -> Result<Vec<String>, ExportError> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    files.iter().map(|f| cursor_source(f)).collect()
}

fn cursor_source(path: &Path) -> Result<String, ExportError> {
    Ok(format!(
        "cryo:{}",
        path.canonicalize()
            .map_err(|e| ExportError::io(path, e))?
            .display()
    ))
}

fn sink_err<E: std::error::Error>(e: E) -> ExportError {
    ExportError::Sink(e.to_string())
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), ExportError> {
    let meta = std::fs::metadata(p).map_err(|e| ExportError::io(p, e))?;
    if meta.is_dir() {
        let rd = std::fs::read_dir(p).map_err(|e| ExportError::io(p, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| ExportError::io(p, e))?;
            let path = entry.path();
            if path.is_dir() || path.extension().is_some_and(|e| e == "parquet") {
                collect_files(&path, out)?;
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// `(start, label)` from cryo's `…__START_to_END.parquet` file names.
fn range_label(p: &Path) -> Option<(u64, String)> {
    let stem = p.file_stem()?.to_str()?;
    let last = stem.rsplit("__").next()?;
    let (a, b) = last.split_once("_to_")?;
    let start = a.parse().ok()?;
    b.parse::<u64>().ok()?;
    Some((start, last.to_string()))
}

/// The dataset of a file: by cryo's file name (`…__erc20_transfers__…`),
/// else by its columns.
fn classify(p: &Path) -> Result<Dataset, ExportError> {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    for (tag, ds) in [
        ("__erc20_transfers", Dataset::Erc20Transfers),
        ("__native_transfers", Dataset::NativeTransfers),
        ("__transactions", Dataset::Transactions),
        ("__erc20_metadata", Dataset::Erc20Metadata),
        ("__blocks", Dataset::Blocks),
    ] {
        if name.contains(tag) {
            return Ok(ds);
        }
    }
    let f = File::open(p).map_err(|e| ExportError::io(p, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| ExportError::parquet(p, e))?;
    let schema = b.schema();
    let has = |c: &str| schema.field_with_name(c).is_ok();
    Ok(if has("erc20") && has("log_index") {
        Dataset::Erc20Transfers
    } else if has("erc20") && has("decimals") {
        Dataset::Erc20Metadata
    } else if has("transfer_index") {
        Dataset::NativeTransfers
    } else if has("transaction_hash") && has("from_address") {
        Dataset::Transactions
    } else if has("block_number") && has("timestamp") {
        Dataset::Blocks
    } else {
        return Err(ExportError::format(
            p,
            "not a cryo transactions, erc20_transfers, native_transfers, blocks or erc20_metadata file",
        ));
    })
}

pub(crate) fn batches(p: &Path) -> Result<Vec<RecordBatch>, ExportError> {
    let f = File::open(p).map_err(|e| ExportError::io(p, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.build())
        .map_err(|e| ExportError::parquet(p, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExportError::arrow(p, e))
}

/// A column of one batch, with the file and first row for error messages.
pub(crate) struct Col<'a> {
    path: &'a Path,
    name: &'static str,
    row0: u64,
    array: Option<&'a dyn Array>,
}

impl<'a> Col<'a> {
    pub(crate) fn new(path: &'a Path, b: &'a RecordBatch, row0: u64, name: &'static str) -> Self {
        Col {
            path,
            name,
            row0,
            array: b.column_by_name(name).map(|a| a.as_ref()),
        }
    }

    pub(crate) fn required(self) -> Result<Self, ExportError> {
        if self.array.is_none() {
            return Err(ExportError::format(
                self.path,
                format!("no column '{}'", self.name),
            ));
        }
        Ok(self)
    }

    pub(crate) fn err(&self, i: usize, msg: impl Into<String>) -> ExportError {
        ExportError::Row {
            path: self.path.to_path_buf(),
            row: self.row0 + i as u64 + 1,
            column: self.name.to_string(),
            msg: msg.into(),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        self.array.is_none_or(|a| a.is_null(i))
    }

    /// An unsigned integer of any stored width; `None` if null or absent.
    pub(crate) fn uint(&self, i: usize) -> Result<Option<u64>, ExportError> {
        let Some(a) = self.array else { return Ok(None) };
        if a.is_null(i) {
            return Ok(None);
        }
        let any = a.as_any();
        let v: i128 = if let Some(x) = any.downcast_ref::<UInt32Array>() {
            x.value(i).into()
        } else if let Some(x) = any.downcast_ref::<UInt64Array>() {
            x.value(i).into()
        } else if let Some(x) = any.downcast_ref::<Int32Array>() {
            x.value(i).into()
        } else if let Some(x) = any.downcast_ref::<Int64Array>() {
            x.value(i).into()
        } else {
            return Err(self.err(i, format!("expected an integer, found {}", a.data_type())));
        };
        u64::try_from(v)
            .map(Some)
            .map_err(|_| self.err(i, format!("negative: {v}")))
    }

    pub(crate) fn require_uint(&self, i: usize) -> Result<u64, ExportError> {
        self.uint(i)?.ok_or_else(|| self.err(i, "empty"))
    }

    /// Bytes of a binary column, or of a hex string (`--hex`); `None` if null.
    fn bytes(&self, i: usize) -> Result<Option<Vec<u8>>, ExportError> {
        let Some(a) = self.array else { return Ok(None) };
        if a.is_null(i) {
            return Ok(None);
        }
        let any = a.as_any();
        let raw: &[u8] = if let Some(x) = any.downcast_ref::<BinaryArray>() {
            x.value(i)
        } else if let Some(x) = any.downcast_ref::<LargeBinaryArray>() {
            x.value(i)
        } else if let Some(x) = any.downcast_ref::<BinaryViewArray>() {
            x.value(i)
        } else if let Some(x) = any.downcast_ref::<FixedSizeBinaryArray>() {
            x.value(i)
        } else if let Some(s) = self.text(i)? {
            return hex(s.trim())
                .map(Some)
                .ok_or_else(|| self.err(i, format!("not hex: '{s}'")));
        } else {
            return Err(self.err(
                i,
                format!("expected binary or hex, found {}", a.data_type()),
            ));
        };
        Ok(Some(raw.to_vec()))
    }

    pub(crate) fn text(&self, i: usize) -> Result<Option<&'a str>, ExportError> {
        let Some(a) = self.array else { return Ok(None) };
        if a.is_null(i) {
            return Ok(None);
        }
        let any = a.as_any();
        Ok(if let Some(x) = any.downcast_ref::<StringArray>() {
            Some(x.value(i))
        } else if let Some(x) = any.downcast_ref::<LargeStringArray>() {
            Some(x.value(i))
        } else {
            any.downcast_ref::<StringViewArray>().map(|x| x.value(i))
        })
    }

    fn bool(&self, i: usize) -> Option<bool> {
        let a = self.array?;
        let x = a.as_any().downcast_ref::<BooleanArray>()?;
        (!x.is_null(i)).then(|| x.value(i))
    }

    fn address(&self, i: usize) -> Result<Option<Address>, ExportError> {
        let Some(b) = self.bytes(i)? else {
            return Ok(None);
        };
        // erc20_transfers' from/to were 32-byte topics in older cryo versions.
        let b20: [u8; 20] = match b.len() {
            20 => b.try_into().expect("length checked"),
            32 if b[..12].iter().all(|&x| x == 0) => b[12..].try_into().expect("length checked"),
            n => return Err(self.err(i, format!("an address has 20 bytes, found {n}"))),
        };
        Ok(Some(Address::Eth(b20)))
    }

    fn hash(&self, i: usize) -> Result<Option<TxHash>, ExportError> {
        let Some(b) = self.bytes(i)? else {
            return Ok(None);
        };
        let h: [u8; 32] = b
            .try_into()
            .map_err(|b: Vec<u8>| self.err(i, format!("a hash has 32 bytes, found {}", b.len())))?;
        Ok(Some(TxHash(h)))
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(s.get(k..k + 2)?, 16).ok())
        .collect()
}

/// The exact value of a u256 column: `value_string`, else `value_binary`,
/// else `value` (string or binary).
struct Value<'a> {
    string: Col<'a>,
    binary: Col<'a>,
    plain: Col<'a>,
}

impl<'a> Value<'a> {
    fn new(path: &'a Path, b: &'a RecordBatch, row0: u64) -> Result<Self, ExportError> {
        let v = Value {
            string: Col::new(path, b, row0, "value_string"),
            binary: Col::new(path, b, row0, "value_binary"),
            plain: Col::new(path, b, row0, "value"),
        };
        if v.string.array.is_none() && v.binary.array.is_none() && v.plain.array.is_none() {
            return Err(ExportError::format(
                path,
                "no exact value column (value_string, value_binary or value); value_f64 alone is not exact",
            ));
        }
        Ok(v)
    }

    fn get(&self, i: usize) -> Result<Amount, ExportError> {
        for c in [&self.string, &self.plain] {
            if let Some(s) = c.text(i)? {
                return s
                    .trim()
                    .parse::<U256>()
                    .map_err(|e| c.err(i, format!("'{s}': {e}")));
            }
        }
        for c in [&self.binary, &self.plain] {
            if c.array.is_some() && !c.is_null(i) {
                let b = c.bytes(i)?.unwrap_or_default();
                if b.len() > 32 {
                    return Err(c.err(i, format!("{} bytes; a u256 has at most 32", b.len())));
                }
                let mut be = [0u8; 32];
                be[32 - b.len()..].copy_from_slice(&b);
                return Ok(U256::from_be_bytes(be));
            }
        }
        Err(self.string.err(i, "empty value"))
    }
}

fn read_block_times(p: &Path, times: &mut HashMap<u64, i64>) -> Result<(), ExportError> {
    let mut row0 = 0;
    for b in batches(p)? {
        let block = Col::new(p, &b, row0, "block_number").required()?;
        let ts = Col::new(p, &b, row0, "timestamp").required()?;
        for i in 0..b.num_rows() {
            times.insert(block.require_uint(i)?, ts.require_uint(i)? as i64);
        }
        row0 += b.num_rows() as u64;
    }
    Ok(())
}

fn read_tx_times(p: &Path, times: &mut HashMap<u64, i64>) -> Result<(), ExportError> {
    let mut row0 = 0;
    for b in batches(p)? {
        if b.column_by_name("timestamp").is_none() {
            return Ok(());
        }
        let block = Col::new(p, &b, row0, "block_number").required()?;
        let ts = Col::new(p, &b, row0, "timestamp");
        for i in 0..b.num_rows() {
            times.insert(block.require_uint(i)?, ts.require_uint(i)? as i64);
        }
        row0 += b.num_rows() as u64;
    }
    Ok(())
}

fn read_tokens(p: &Path) -> Result<Vec<TokenInfo>, ExportError> {
    let mut out = Vec::new();
    let mut row0 = 0;
    for b in batches(p)? {
        let erc20 = Col::new(p, &b, row0, "erc20").required()?;
        let symbol = Col::new(p, &b, row0, "symbol");
        let name = Col::new(p, &b, row0, "name");
        let decimals = Col::new(p, &b, row0, "decimals");
        for i in 0..b.num_rows() {
            let address = erc20.address(i)?.ok_or_else(|| erc20.err(i, "empty"))?;
            let d = decimals.uint(i)?;
            out.push(TokenInfo {
                address,
                symbol: symbol.text(i)?.unwrap_or("").to_string(),
                name: name.text(i)?.unwrap_or("").to_string(),
                decimals: match d {
                    Some(d) => Some(u8::try_from(d).map_err(|_| decimals.err(i, "above 255"))?),
                    None => None,
                },
            });
        }
        row0 += b.num_rows() as u64;
    }
    Ok(out)
}

/// A transaction's own value transfer, to recognise its copy among the
/// native transfers (the top-level call trace).
type TopLevel = HashMap<TxHash, (Address, Address, Amount)>;

fn import_group<S: TransferSink>(
    group: &[(PathBuf, Dataset)],
    times: &HashMap<u64, i64>,
    sink: &mut S,
    summary: &mut CryoSummary,
) -> Result<(), ExportError> {
    let mut pending = Vec::new();
    let mut records = Vec::new();
    let mut top_level = TopLevel::new();
    // Transactions first: native transfers are checked against them.
    let mut order: Vec<&(PathBuf, Dataset)> = group.iter().collect();
    order.sort_by_key(|(_, ds)| *ds);
    for (path, ds) in order {
        summary.files += 1;
        let source = cursor_source(path)?;
        if sink.resume_position(&source).is_some() {
            summary.files_already_imported += 1;
            continue;
        }
        let rows = match ds {
            Dataset::Transactions => {
                read_transactions(path, times, &mut records, &mut top_level, summary)?
            }
            Dataset::Erc20Transfers => read_erc20(path, times, &mut records)?,
            Dataset::NativeTransfers => {
                read_native(path, times, &mut records, &top_level, summary)?
            }
            Dataset::Blocks | Dataset::Erc20Metadata => 0,
        };
        summary.rows += rows;
        pending.push(SourceCursor {
            source,
            position: rows,
        });
    }
    records.sort_by_key(TransferRecord::order_key);
    summary.records += records.len() as u64;
    for r in records {
        sink.transfer(r).map_err(sink_err)?;
    }
    for c in &pending {
        sink.checkpoint(c).map_err(sink_err)?;
    }
    Ok(())
}

fn time_of(times: &HashMap<u64, i64>, c: &Col, i: usize, block: u64) -> Result<i64, ExportError> {
    times.get(&block).copied().ok_or_else(|| {
        c.err(
            i,
            format!(
                "no timestamp for block {block}: import cryo's blocks dataset with it \
                 (or transactions with --include-columns timestamp)"
            ),
        )
    })
}

fn read_transactions(
    p: &Path,
    times: &HashMap<u64, i64>,
    out: &mut Vec<TransferRecord>,
    top_level: &mut TopLevel,
    summary: &mut CryoSummary,
) -> Result<u64, ExportError> {
    let mut row0 = 0;
    for b in batches(p)? {
        let block = Col::new(p, &b, row0, "block_number").required()?;
        let index = Col::new(p, &b, row0, "transaction_index").required()?;
        let hash = Col::new(p, &b, row0, "transaction_hash").required()?;
        let from = Col::new(p, &b, row0, "from_address").required()?;
        let to = Col::new(p, &b, row0, "to_address").required()?;
        let success = Col::new(p, &b, row0, "success");
        let value = Value::new(p, &b, row0)?;
        for i in 0..b.num_rows() {
            let blk = block.require_uint(i)?;
            let tx_hash = hash.hash(i)?.ok_or_else(|| hash.err(i, "empty"))?;
            let from_a = from.address(i)?.ok_or_else(|| from.err(i, "empty"))?;
            let amount = value.get(i)?;
            if success.bool(i) == Some(false) {
                summary.skip("failed transaction (moves no value)");
                continue;
            }
            let Some(to_a) = to.address(i)? else {
                summary.skip(if amount == Amount::ZERO {
                    "contract creation without value"
                } else {
                    "contract creation with value (import native_transfers for the created address)"
                });
                continue;
            };
            let tx_index =
                u32::try_from(index.require_uint(i)?).map_err(|_| index.err(i, "above 2^32"))?;
            top_level.insert(tx_hash, (from_a.clone(), to_a.clone(), amount));
            out.push(TransferRecord {
                chain: Chain::Ethereum,
                block: blk,
                timestamp: time_of(times, &block, i, blk)?,
                tx_hash,
                tx_index,
                position: Position::NativeValue,
                from: from_a,
                to: to_a,
                asset: Asset::Native(Chain::Ethereum),
                amount,
            });
        }
        row0 += b.num_rows() as u64;
    }
    Ok(row0)
}

fn read_erc20(
    p: &Path,
    times: &HashMap<u64, i64>,
    out: &mut Vec<TransferRecord>,
) -> Result<u64, ExportError> {
    let mut row0 = 0;
    for b in batches(p)? {
        let block = Col::new(p, &b, row0, "block_number").required()?;
        let index = Col::new(p, &b, row0, "transaction_index").required()?;
        let log = Col::new(p, &b, row0, "log_index").required()?;
        let hash = Col::new(p, &b, row0, "transaction_hash").required()?;
        let erc20 = Col::new(p, &b, row0, "erc20").required()?;
        let from = Col::new(p, &b, row0, "from_address").required()?;
        let to = Col::new(p, &b, row0, "to_address").required()?;
        let value = Value::new(p, &b, row0)?;
        for i in 0..b.num_rows() {
            let blk = block.require_uint(i)?;
            out.push(TransferRecord {
                chain: Chain::Ethereum,
                block: blk,
                timestamp: time_of(times, &block, i, blk)?,
                tx_hash: hash.hash(i)?.ok_or_else(|| hash.err(i, "empty"))?,
                tx_index: u32::try_from(index.require_uint(i)?)
                    .map_err(|_| index.err(i, "above 2^32"))?,
                position: Position::Log(
                    u32::try_from(log.require_uint(i)?)
                        .ok()
                        .filter(|&l| l < INTERNAL_BASE)
                        .ok_or_else(|| log.err(i, "log index above 2^30"))?,
                ),
                from: from.address(i)?.ok_or_else(|| from.err(i, "empty"))?,
                to: to.address(i)?.ok_or_else(|| to.err(i, "empty"))?,
                asset: Asset::Token(erc20.address(i)?.ok_or_else(|| erc20.err(i, "empty"))?),
                amount: value.get(i)?,
            });
        }
        row0 += b.num_rows() as u64;
    }
    Ok(row0)
}

fn read_native(
    p: &Path,
    times: &HashMap<u64, i64>,
    out: &mut Vec<TransferRecord>,
    top_level: &TopLevel,
    summary: &mut CryoSummary,
) -> Result<u64, ExportError> {
    let mut row0 = 0;
    let mut seen_tx: std::collections::HashSet<TxHash> = Default::default();
    for b in batches(p)? {
        let block = Col::new(p, &b, row0, "block_number").required()?;
        let index = Col::new(p, &b, row0, "transaction_index").required()?;
        let tindex = Col::new(p, &b, row0, "transfer_index").required()?;
        let hash = Col::new(p, &b, row0, "transaction_hash").required()?;
        let from = Col::new(p, &b, row0, "from_address").required()?;
        let to = Col::new(p, &b, row0, "to_address").required()?;
        let value = Value::new(p, &b, row0)?;
        for i in 0..b.num_rows() {
            let blk = block.require_uint(i)?;
            let amount = value.get(i)?;
            let (Some(tx_hash), Some(tx_index)) = (hash.hash(i)?, index.uint(i)?) else {
                summary.skip("native transfer outside a transaction (block reward)");
                continue;
            };
            let from_a = from.address(i)?.ok_or_else(|| from.err(i, "empty"))?;
            let to_a = to.address(i)?.ok_or_else(|| to.err(i, "empty"))?;
            // The first trace of a transaction is its top-level call: the
            // transaction's own value, already imported from `transactions`.
            let first = seen_tx.insert(tx_hash);
            if first && top_level.get(&tx_hash) == Some(&(from_a.clone(), to_a.clone(), amount)) {
                summary.skip("top-level call (imported from transactions)");
                continue;
            }
            if amount == Amount::ZERO {
                summary.skip("zero-value internal call");
                continue;
            }
            let ti = u32::try_from(tindex.require_uint(i)?)
                .ok()
                .filter(|&t| t < INTERNAL_BASE)
                .ok_or_else(|| tindex.err(i, "above 2^30"))?;
            out.push(TransferRecord {
                chain: Chain::Ethereum,
                block: blk,
                timestamp: time_of(times, &block, i, blk)?,
                tx_hash,
                tx_index: u32::try_from(tx_index).map_err(|_| index.err(i, "above 2^32"))?,
                position: Position::Log(INTERNAL_BASE + ti),
                from: from_a,
                to: to_a,
                asset: Asset::Native(Chain::Ethereum),
                amount,
            });
        }
        row0 += b.num_rows() as u64;
    }
    Ok(row0)
}
