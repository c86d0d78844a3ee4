//! ethereum-etl CSV exports: `tokens.csv`, `transactions.csv`, `token_transfers.csv`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;

use csv::ByteRecord;
use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, TokenInfo, TransferRecord, TransferSink, TxHash,
};

use crate::parse::{amount, eth_address, parse_timestamp, tx_hash, uint, uint32};
use crate::source::{canonical_source, CsvFile, CsvRow};
use crate::{Batcher, FieldError, ImportOptions, ImportSummary, IngestError};

/// The files of one ethereum-etl export.
#[derive(Debug, Clone)]
pub struct EthereumEtlFiles {
    pub transactions: PathBuf,
    pub token_transfers: Option<PathBuf>,
    pub tokens: Option<PathBuf>,
}

/// Where a transaction sits, for joining token transfers (which carry neither
/// timestamp nor transaction index) to their transaction.
#[derive(Clone, Copy)]
struct TxMeta {
    block: u64,
    tx_index: u32,
    succeeded: bool,
}

/// The join map is keyed by a 64-bit fold of the 32-byte hash (a full key
/// would triple its memory at 10^7 transactions). A fold collision would need
/// ~2^32 transactions; the block number is checked on lookup as well.
#[derive(Default)]
struct FoldHasher(u64);
impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        // Spread the bits: synthetic exports use sequential hashes.
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}
type FoldMap<V> = HashMap<u64, V, BuildHasherDefault<FoldHasher>>;

fn fold(h: &TxHash) -> u64 {
    h.0.chunks_exact(8).enumerate().fold(0u64, |acc, (i, w)| {
        acc ^ u64::from_le_bytes(w.try_into().expect("8 bytes")).rotate_left(17 * i as u32)
    })
}

/// Tx index given to token transfers whose transaction is not in the
/// transactions file: they sort after every transaction of their block.
pub const UNKNOWN_TX_INDEX: u32 = u32::MAX;

/// Import an ethereum-etl export: tokens first, then transactions (native ETH),
/// then token transfers joined to their transactions. Each file has its own
/// cursor, so a restart resumes inside whichever file was interrupted.
pub fn import_ethereum_etl<S: TransferSink>(
    files: &EthereumEtlFiles,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut total = ImportSummary::default();
    if let Some(t) = &files.tokens {
        total.add(&import_tokens(t, sink, opts)?);
    }
    // Only transactions that token transfers refer to go into the join map:
    // a first pass over the (much smaller) token file names them.
    let wanted = match &files.token_transfers {
        Some(tt) => Some(referenced_txs(tt)?),
        None => None,
    };
    let (s, join) = import_transactions(&files.transactions, sink, opts, wanted.as_ref())?;
    total.add(&s);
    if let Some(tt) = &files.token_transfers {
        total.add(&import_token_transfers(tt, &join, sink, opts)?);
    }
    Ok(total)
}

fn import_tokens<S: TransferSink>(
    path: &std::path::Path,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut csv = CsvFile::open(path, opts.bytes_read.clone())?;
    let c_addr = csv.col("address")?;
    let c_sym = csv.opt_col("symbol");
    let c_name = csv.opt_col("name");
    let c_dec = csv.opt_col("decimals");
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    // Tokens are idempotent metadata: re-reading them on resume is harmless.
    let mut rec = ByteRecord::new();
    loop {
        let line = match csv.next(&mut rec)? {
            CsvRow::End => break,
            CsvRow::Malformed(line, msg) => {
                b.bad_line(line, msg)?;
                continue;
            }
            CsvRow::Row(line) => line,
        };
        let text = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
                .unwrap_or_default()
        };
        let parsed = (|| -> Result<TokenInfo, FieldError> {
            let address =
                Address::Eth(eth_address(&rec[c_addr]).map_err(|m| FieldError::new("address", m))?);
            let decimals = match c_dec.map(|c| rec[c].trim_ascii()) {
                None | Some(b"") => None,
                Some(d) => Some(
                    u8::try_from(uint(d).map_err(|m| FieldError::new("decimals", m))?)
                        .map_err(|_| FieldError::new("decimals", "more than 255 decimals"))?,
                ),
            };
            Ok(TokenInfo {
                address,
                symbol: text(c_sym),
                name: text(c_name),
                decimals,
            })
        })();
        match parsed {
            Ok(t) => {
                b.push_token(t)?;
                b.row_done()?;
            }
            Err(e) => b.bad_row(line, e)?,
        }
    }
    b.finish()
}

struct TxCols {
    hash: usize,
    block: usize,
    index: usize,
    from: usize,
    to: usize,
    value: usize,
    timestamp: usize,
    status: Option<usize>,
    contract: Option<usize>,
}

/// One parsed `transactions.csv` row.
struct TxRow {
    hash: TxHash,
    block: u64,
    tx_index: u32,
    timestamp: i64,
    succeeded: bool,
}

fn field<T>(r: Result<T, String>, col: &str) -> Result<T, FieldError> {
    r.map_err(|m| FieldError::new(col, m))
}

fn parse_tx_key(rec: &ByteRecord, c: &TxCols) -> Result<TxRow, FieldError> {
    let succeeded = match c.status.map(|s| rec[s].trim_ascii()) {
        None | Some(b"") | Some(b"1") => true,
        Some(b"0") => false,
        Some(other) => {
            return Err(FieldError::new(
                "receipt_status",
                format!("'{}' is not 0, 1 or empty", String::from_utf8_lossy(other)),
            ))
        }
    };
    Ok(TxRow {
        hash: field(tx_hash(&rec[c.hash]), "hash")?,
        block: field(uint(&rec[c.block]), "block_number")?,
        tx_index: field(uint32(&rec[c.index]), "transaction_index")?,
        timestamp: field(parse_timestamp(&rec[c.timestamp]), "block_timestamp")?,
        succeeded,
    })
}

/// The native-ETH record of a transaction row, if it moves value.
fn tx_record(
    rec: &ByteRecord,
    c: &TxCols,
    key: &TxRow,
) -> Result<Option<TransferRecord>, FieldError> {
    let from = field(eth_address(&rec[c.from]), "from_address")?;
    let value = field(amount(&rec[c.value]), "value")?;
    let to_field = rec[c.to].trim_ascii();
    let to = if !to_field.is_empty() {
        field(eth_address(to_field), "to_address")?
    } else {
        // Contract creation: the value goes to the contract it creates.
        match c.contract.map(|i| rec[i].trim_ascii()).filter(|v| !v.is_empty()) {
            Some(created) => field(eth_address(created), "receipt_contract_address")?,
            None if value == Amount::ZERO => return Ok(None),
            None => {
                return Err(FieldError::new(
                    "to_address",
                    "empty (contract creation) with a non-zero value, and no receipt_contract_address to credit it to",
                ))
            }
        }
    };
    Ok(native_record(
        key.block,
        key.timestamp,
        key.hash,
        key.tx_index,
        from,
        to,
        value,
        key.succeeded,
    ))
}

/// The native-ETH record of a transaction, shared by files and RPC. A failed
/// transaction (receipt status 0) moves no value: `None`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn native_record(
    block: u64,
    timestamp: i64,
    hash: TxHash,
    tx_index: u32,
    from: [u8; 20],
    to: [u8; 20],
    value: Amount,
    succeeded: bool,
) -> Option<TransferRecord> {
    succeeded.then_some(TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp,
        tx_hash: hash,
        tx_index,
        position: Position::NativeValue,
        from: Address::Eth(from),
        to: Address::Eth(to),
        asset: Asset::Native(Chain::Ethereum),
        amount: value,
    })
}

/// The record of an ERC-20 `Transfer` log, shared by files and RPC.
#[allow(clippy::too_many_arguments)]
pub(crate) fn token_record(
    block: u64,
    timestamp: i64,
    hash: TxHash,
    tx_index: u32,
    log_index: u32,
    token: [u8; 20],
    from: [u8; 20],
    to: [u8; 20],
    value: Amount,
) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp,
        tx_hash: hash,
        tx_index,
        position: Position::Log(log_index),
        from: Address::Eth(from),
        to: Address::Eth(to),
        asset: Asset::Token(Address::Eth(token)),
        amount: value,
    }
}

/// What token transfers are joined against.
#[derive(Default)]
struct JoinIndex {
    txs: FoldMap<TxMeta>,
    block_time: FoldMap<i64>,
}

/// Folded hashes of the transactions a token-transfers file refers to.
/// Unparsable rows are left to the main pass, which reports them.
fn referenced_txs(path: &std::path::Path) -> Result<FoldMap<()>, IngestError> {
    let mut csv = CsvFile::open(path, None)?;
    let c = csv.col("transaction_hash")?;
    let mut set = FoldMap::default();
    let mut rec = ByteRecord::new();
    loop {
        match csv.next(&mut rec)? {
            CsvRow::End => break,
            CsvRow::Malformed(..) => {}
            CsvRow::Row(_) => {
                if let Ok(h) = tx_hash(&rec[c]) {
                    set.insert(fold(&h), ());
                }
            }
        }
    }
    Ok(set)
}

fn import_transactions<S: TransferSink>(
    path: &std::path::Path,
    sink: &mut S,
    opts: &ImportOptions,
    wanted: Option<&FoldMap<()>>,
) -> Result<(ImportSummary, JoinIndex), IngestError> {
    let mut csv = CsvFile::open(path, opts.bytes_read.clone())?;
    let c = TxCols {
        hash: csv.col("hash")?,
        block: csv.col("block_number")?,
        index: csv.col("transaction_index")?,
        from: csv.col("from_address")?,
        to: csv.col("to_address")?,
        value: csv.col("value")?,
        timestamp: csv.col("block_timestamp")?,
        status: csv.opt_col("receipt_status"),
        contract: csv.opt_col("receipt_contract_address"),
    };
    let mut join = JoinIndex::default();
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    let mut rec = ByteRecord::new();
    let mut last_block = None;
    loop {
        let line = match csv.next(&mut rec)? {
            CsvRow::End => break,
            CsvRow::Malformed(line, msg) => {
                b.malformed_line(line, msg)?;
                continue;
            }
            CsvRow::Row(line) => line,
        };
        let key = parse_tx_key(&rec, &c);
        if let (Some(wanted), Ok(k)) = (wanted, &key) {
            let f = fold(&k.hash);
            if wanted.contains_key(&f) {
                join.txs.insert(
                    f,
                    TxMeta {
                        block: k.block,
                        tx_index: k.tx_index,
                        succeeded: k.succeeded,
                    },
                );
            }
            // Exports are block-ordered: one map update per block.
            if last_block != Some(k.block) {
                join.block_time.insert(k.block, k.timestamp);
                last_block = Some(k.block);
            }
        }
        if b.skip_resumed() {
            continue;
        }
        match key.and_then(|k| tx_record(&rec, &c, &k).map(|r| (k, r))) {
            Ok((_, Some(r))) => {
                b.push(r)?;
                b.row_done()?;
            }
            Ok((_, None)) => {
                b.summary.no_value_rows += 1;
                b.row_done()?;
            }
            Err(e) => b.bad_row(line, e)?,
        }
    }
    Ok((b.finish()?, join))
}

struct TokenCols {
    token: usize,
    from: usize,
    to: usize,
    value: usize,
    hash: usize,
    log_index: usize,
    block: usize,
}

fn token_row(
    rec: &ByteRecord,
    c: &TokenCols,
    join: &JoinIndex,
) -> Result<Option<TransferRecord>, FieldError> {
    let token = field(eth_address(&rec[c.token]), "token_address")?;
    let from = field(eth_address(&rec[c.from]), "from_address")?;
    let to = field(eth_address(&rec[c.to]), "to_address")?;
    let value = field(amount(&rec[c.value]), "value")?;
    let hash = field(tx_hash(&rec[c.hash]), "transaction_hash")?;
    let log_index = field(uint32(&rec[c.log_index]), "log_index")?;
    let block = field(uint(&rec[c.block]), "block_number")?;
    let (tx_index, timestamp) = match join.txs.get(&fold(&hash)).filter(|m| m.block == block) {
        Some(m) if !m.succeeded => return Ok(None),
        Some(m) => (m.tx_index, join.block_time[&m.block]),
        None => match join.block_time.get(&block) {
            Some(&ts) => (UNKNOWN_TX_INDEX, ts),
            None => {
                return Err(FieldError::new(
                    "transaction_hash",
                    format!(
                        "transaction {hash} is not in the transactions file, nor is any transaction of block {block} (its timestamp is unknown)"
                    ),
                ))
            }
        },
    };
    Ok(Some(token_record(
        block, timestamp, hash, tx_index, log_index, token, from, to, value,
    )))
}

fn import_token_transfers<S: TransferSink>(
    path: &std::path::Path,
    join: &JoinIndex,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut csv = CsvFile::open(path, opts.bytes_read.clone())?;
    let c = TokenCols {
        token: csv.col("token_address")?,
        from: csv.col("from_address")?,
        to: csv.col("to_address")?,
        value: csv.col("value")?,
        hash: csv.col("transaction_hash")?,
        log_index: csv.col("log_index")?,
        block: csv.col("block_number")?,
    };
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    let mut rec = ByteRecord::new();
    loop {
        let line = match csv.next(&mut rec)? {
            CsvRow::End => break,
            CsvRow::Malformed(line, msg) => {
                b.malformed_line(line, msg)?;
                continue;
            }
            CsvRow::Row(line) => line,
        };
        if b.skip_resumed() {
            continue;
        }
        match token_row(&rec, &c, join) {
            Ok(Some(r)) => {
                b.push(r)?;
                b.row_done()?;
            }
            Ok(None) => {
                b.summary.no_value_rows += 1;
                b.row_done()?;
            }
            Err(e) => b.bad_row(line, e)?,
        }
    }
    b.finish()
}
