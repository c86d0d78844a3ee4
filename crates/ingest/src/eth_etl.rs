//! ethereum-etl CSV exports: `tokens.csv`, `transactions.csv`, `token_transfers.csv`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;

use csv::ByteRecord;
use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, SourceCursor, TokenInfo, TransferRecord, TransferSink,
    TxHash,
};

use crate::parse::{amount, eth_address, parse_timestamp, tx_hash, uint, uint32};
use crate::source::{canonical_source, csv_columns, CsvFile, CsvRow};
use crate::wrapped::wrap_record;
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

/// Import an ethereum-etl export: tokens first, then transactions (native ETH)
/// and token transfers joined to their transactions. Both are read as streams
/// merged block by block in chain order ([`import_merged`]); files that are not
/// in block order fall back to a two-pass join (transactions, then token
/// transfers) from the point where the disorder showed. Each file has its own
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
    let Some(tt) = &files.token_transfers else {
        let (s, _) = import_transactions(&files.transactions, sink, opts, None)?;
        total.add(&s);
        return Ok(total);
    };
    let mut txs = Stream::open(&files.transactions, &*sink, opts)?;
    let mut toks = Stream::open(tt, &*sink, opts)?;
    let merged = import_merged(&mut txs, &mut toks, sink, opts)?;
    total.add(&txs.summary);
    total.add(&toks.summary);
    if let Merge::Fallback = merged {
        // The two-pass join resumes from the cursors the merge checkpointed;
        // the rows it consumed there count as read, not as resumed.
        let read_by_merge = txs.summary.rows_read + toks.summary.rows_read;
        drop((txs, toks));
        let wanted = referenced_txs(tt)?;
        let (s, join) = import_transactions(&files.transactions, sink, opts, Some(&wanted))?;
        total.add(&s);
        total.add(&import_token_transfers(tt, &join, sink, opts)?);
        total.rows_resumed -= read_by_merge;
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

csv_columns! {
    /// Columns of `transactions.csv`.
    TxCols {
        hash = "hash",
        block = "block_number",
        index = "transaction_index",
        from = "from_address",
        to = "to_address",
        value = "value",
        timestamp = "block_timestamp",
        ? status = "receipt_status",
        ? contract = "receipt_contract_address",
    }
}

/// One parsed `transactions.csv` row.
#[derive(Clone, Copy)]
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
    let c = TxCols::find(&csv)?;
    let mut join = JoinIndex::default();
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    let mut rec = ByteRecord::new();
    let mut last_block = None;
    while let Some(line) = b.next_row(&mut csv, &mut rec)? {
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
                let wrap = wrap_record(&r, 0);
                b.push(r)?;
                if let Some(w) = wrap {
                    b.push(w)?;
                }
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

csv_columns! {
    /// Columns of `token_transfers.csv`.
    TokenCols {
        token = "token_address",
        from = "from_address",
        to = "to_address",
        value = "value",
        hash = "transaction_hash",
        log_index = "log_index",
        block = "block_number",
    }
}

/// The fields of a `token_transfers.csv` row (before the join).
fn parse_token_fields(rec: &ByteRecord, c: &TokenCols) -> Result<WinToken, FieldError> {
    Ok(WinToken {
        token: field(eth_address(&rec[c.token]), "token_address")?,
        from: field(eth_address(&rec[c.from]), "from_address")?,
        to: field(eth_address(&rec[c.to]), "to_address")?,
        value: field(amount(&rec[c.value]), "value")?,
        hash: field(tx_hash(&rec[c.hash]), "transaction_hash")?,
        log_index: field(uint32(&rec[c.log_index]), "log_index")?,
        block: field(uint(&rec[c.block]), "block_number")?,
    })
}

fn token_row(
    rec: &ByteRecord,
    c: &TokenCols,
    join: &JoinIndex,
) -> Result<Option<TransferRecord>, FieldError> {
    let k = parse_token_fields(rec, c)?;
    let (hash, block) = (k.hash, k.block);
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
        block,
        timestamp,
        hash,
        tx_index,
        k.log_index,
        k.token,
        k.from,
        k.to,
        k.value,
    )))
}

fn import_token_transfers<S: TransferSink>(
    path: &std::path::Path,
    join: &JoinIndex,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut csv = CsvFile::open(path, opts.bytes_read.clone())?;
    let c = TokenCols::find(&csv)?;
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    let mut rec = ByteRecord::new();
    while let Some(line) = b.next_row(&mut csv, &mut rec)? {
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

/// One input file of the merged import: its CSV reader, the row in hand, and
/// its own cursor bookkeeping (rows consumed, including resumed ones).
struct Stream {
    csv: CsvFile,
    source: String,
    rec: ByteRecord,
    /// The row in `rec` (its 1-based line), if one was read and not yet consumed.
    line: Option<u64>,
    /// Block of the row in hand, once parsed (and its key, for transactions).
    block: Option<u64>,
    key: Option<TxRow>,
    /// Rows consumed so far (the cursor value): every row before it was handled.
    consumed: u64,
    /// Where an earlier run stopped.
    resume_at: u64,
    summary: ImportSummary,
}

impl Stream {
    fn open<S: TransferSink>(
        path: &std::path::Path,
        sink: &S,
        opts: &ImportOptions,
    ) -> Result<Stream, IngestError> {
        let csv = CsvFile::open(path, opts.bytes_read.clone())?;
        let source = canonical_source(path)?;
        let resume_at = sink.resume_position(&source).unwrap_or(0);
        Ok(Stream {
            csv,
            source,
            rec: ByteRecord::new(),
            line: None,
            block: None,
            key: None,
            consumed: 0,
            resume_at,
            summary: ImportSummary::default(),
        })
    }

    /// Index (0-based data row) of the row in hand.
    fn row(&self) -> u64 {
        self.consumed
    }

    fn resumed(&self) -> bool {
        self.consumed < self.resume_at
    }

    /// The row in hand is handled.
    fn consume(&mut self) {
        if self.resumed() {
            self.summary.rows_resumed += 1;
        } else {
            self.summary.rows_read += 1;
        }
        self.consumed += 1;
        self.line = None;
        self.block = None;
        self.key = None;
    }

    /// Every row before it is stored: handled now, or by an earlier run.
    fn cursor(&self) -> SourceCursor {
        SourceCursor {
            source: self.source.clone(),
            position: self.consumed.max(self.resume_at),
        }
    }

    fn bad_field(
        &mut self,
        line: u64,
        e: FieldError,
        opts: &ImportOptions,
    ) -> Result<(), IngestError> {
        if opts.skip_bad_rows {
            self.summary.bad_rows_skipped += 1;
            self.consume();
            Ok(())
        } else {
            Err(IngestError::BadField {
                file: self.csv.name.clone(),
                line,
                column: e.column,
                message: e.message,
            })
        }
    }

    fn bad_line(
        &mut self,
        line: u64,
        message: String,
        opts: &ImportOptions,
    ) -> Result<(), IngestError> {
        if self.resumed() {
            self.consume();
            Ok(())
        } else if opts.skip_bad_rows {
            self.summary.bad_rows_skipped += 1;
            self.consume();
            Ok(())
        } else {
            Err(IngestError::BadLine {
                file: self.csv.name.clone(),
                line,
                message,
            })
        }
    }
}

/// A transaction row of the block being assembled.
struct WinTx {
    key: TxRow,
    /// Its native record (`None`: moves nothing); not kept for resumed rows.
    record: Option<TransferRecord>,
    /// The WETH minted or burned by that record ([`wrap_record`]).
    wrap: Option<TransferRecord>,
    /// Data row index in the transactions file.
    row: u64,
}

/// A token-transfer row of the block being assembled (already parsed).
struct WinToken {
    hash: TxHash,
    block: u64,
    log_index: u32,
    token: [u8; 20],
    from: [u8; 20],
    to: [u8; 20],
    value: Amount,
}

/// Why the merged import handed over to the two-pass one.
enum Merge {
    Done,
    /// The files are not both in block order, or a token transfer's
    /// transaction is not beside it: the two-pass join handles the rest.
    Fallback,
}

/// Transactions and token transfers read as two streams merged in chain
/// order, one block at a time, so the sink receives records in order (no late
/// data for the store to merge) and the join needs only the current block's
/// transactions. Requires both files in block order; anything else hands over
/// (at a block boundary, after a checkpoint) to the two-pass join.
fn import_merged<S: TransferSink>(
    txs: &mut Stream,
    toks: &mut Stream,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<Merge, IngestError> {
    let tc = TxCols::find(&txs.csv)?;
    let kc = TokenCols::find(&toks.csv)?;
    let mut win_tx: Vec<WinTx> = Vec::new();
    let mut win_tok: Vec<WinToken> = Vec::new();
    let mut by_hash: FoldMap<u32> = FoldMap::default();
    let mut order: Vec<(u32, u32, u32)> = Vec::new();
    let mut since_checkpoint = 0u64;
    let mut last_block: Option<u64> = None;
    loop {
        // The next transaction and token-transfer blocks (skipping bad and
        // resumed rows on the way, which are consumed where they stand).
        let tx_block = next_tx_block(txs, &tc, opts)?;
        let tok_block = next_token_block(toks, &kc, opts)?;
        let block = match (tx_block, tok_block) {
            (None, None) => break,
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
        };
        if last_block.is_some_and(|l| block <= l) {
            return fallback(txs, toks, sink, since_checkpoint);
        }
        win_tx.clear();
        win_tok.clear();
        let (tx_start, tok_start) = (txs.summary.clone(), toks.summary.clone());
        let (tx_consumed, tok_consumed) = (txs.consumed, toks.consumed);
        // Assemble the block: its transaction rows, then its token-transfer rows.
        while next_tx_block(txs, &tc, opts)? == Some(block) {
            let line = txs.line.expect("a row in hand");
            let key = txs.key.take().expect("parsed by next_tx_block");
            let row = txs.row();
            let record = if txs.resumed() {
                None
            } else {
                match tx_record(&txs.rec, &tc, &key) {
                    Ok(r) => r,
                    Err(e) => {
                        txs.bad_field(line, e, opts)?;
                        continue;
                    }
                }
            };
            let wrap = record.as_ref().and_then(|r| wrap_record(r, 0));
            win_tx.push(WinTx {
                key,
                record,
                wrap,
                row,
            });
            txs.consume();
        }
        while next_token_block(toks, &kc, opts)? == Some(block) {
            let line = toks.line.expect("a row in hand");
            if toks.resumed() {
                toks.consume();
                continue;
            }
            match parse_token_fields(&toks.rec, &kc) {
                Ok(t) => {
                    win_tok.push(t);
                    toks.consume();
                }
                Err(e) => toks.bad_field(line, e, opts)?,
            }
        }
        // A later row of an earlier block means the files are not in block
        // order: this block may be incomplete.
        let behind = |b: Option<u64>| b.is_some_and(|b| b < block);
        let disordered =
            behind(next_tx_block(txs, &tc, opts)?) || behind(next_token_block(toks, &kc, opts)?);
        // Join the block's token transfers to its transactions.
        by_hash.clear();
        for (i, t) in win_tx.iter().enumerate() {
            by_hash.insert(fold(&t.key.hash), i as u32);
        }
        let joined = win_tok.iter().all(|k| {
            by_hash
                .get(&fold(&k.hash))
                .is_some_and(|&i| win_tx[i as usize].key.hash == k.hash)
        });
        if disordered || !joined {
            // Hand over before this block is emitted: undo its consumption.
            txs.summary = tx_start;
            toks.summary = tok_start;
            txs.consumed = tx_consumed;
            toks.consumed = tok_consumed;
            return fallback(txs, toks, sink, since_checkpoint);
        }
        // Emit in chain order: (tx index, sub index).
        order.clear();
        for (i, t) in win_tx.iter().enumerate() {
            if t.row >= txs.resume_at {
                order.push((t.key.tx_index, 0, i as u32));
                if let Some(w) = &t.wrap {
                    order.push((t.key.tx_index, w.position.sub_index(), i as u32 | WRAP_BIT));
                }
            }
        }
        for (i, k) in win_tok.iter().enumerate() {
            let t = &win_tx[by_hash[&fold(&k.hash)] as usize];
            order.push((
                t.key.tx_index,
                k.log_index.saturating_add(1),
                (i as u32) | TOKEN_BIT,
            ));
        }
        order.sort_unstable();
        for &(_, _, i) in &order {
            if i & WRAP_BIT != 0 {
                let w = win_tx[(i & !WRAP_BIT) as usize].wrap.take();
                let w = w.expect("ordered once per wrap");
                txs.summary.transfers += 1;
                sink.transfer(w).map_err(IngestError::sink)?;
            } else if i & TOKEN_BIT == 0 {
                let t = &mut win_tx[i as usize];
                match t.record.take() {
                    Some(r) => {
                        txs.summary.transfers += 1;
                        sink.transfer(r).map_err(IngestError::sink)?;
                    }
                    None => txs.summary.no_value_rows += 1,
                }
            } else {
                let k = &win_tok[(i & !TOKEN_BIT) as usize];
                let t = &win_tx[by_hash[&fold(&k.hash)] as usize].key;
                if !t.succeeded {
                    // The transaction failed: its logs were reverted.
                    toks.summary.no_value_rows += 1;
                    continue;
                }
                toks.summary.transfers += 1;
                let r = token_record(
                    block,
                    t.timestamp,
                    k.hash,
                    t.tx_index,
                    k.log_index,
                    k.token,
                    k.from,
                    k.to,
                    k.value,
                );
                sink.transfer(r).map_err(IngestError::sink)?;
            }
        }
        last_block = Some(block);
        since_checkpoint += (txs.consumed - tx_consumed) + (toks.consumed - tok_consumed);
        if since_checkpoint >= opts.checkpoint_every.max(1) {
            checkpoint_both(txs, toks, sink)?;
            since_checkpoint = 0;
        }
    }
    checkpoint_both(txs, toks, sink)?;
    Ok(Merge::Done)
}

/// Marks token rows in the emission order (tx rows have it clear).
const TOKEN_BIT: u32 = 1 << 31;
/// Marks the WETH record of a transaction's value ([`wrap_record`]).
const WRAP_BIT: u32 = 1 << 30;

fn checkpoint_both<S: TransferSink>(
    txs: &Stream,
    toks: &Stream,
    sink: &mut S,
) -> Result<(), IngestError> {
    // Two manifests: a crash between them leaves the token cursor behind, and
    // the rerun re-reads those rows; the store drops them as duplicates.
    sink.checkpoint(&txs.cursor()).map_err(IngestError::sink)?;
    sink.checkpoint(&toks.cursor()).map_err(IngestError::sink)
}

fn fallback<S: TransferSink>(
    txs: &Stream,
    toks: &Stream,
    sink: &mut S,
    since_checkpoint: u64,
) -> Result<Merge, IngestError> {
    if since_checkpoint > 0 || txs.consumed > txs.resume_at || toks.consumed > toks.resume_at {
        checkpoint_both(txs, toks, sink)?;
    }
    Ok(Merge::Fallback)
}

/// Block of the next usable row of `s` (reading one if none is in hand);
/// `parse` reads a row's block (and, for transactions, its whole key). Rows
/// whose key does not parse are consumed as bad rows (or stop the import).
fn next_block(
    s: &mut Stream,
    opts: &ImportOptions,
    parse: impl Fn(&ByteRecord) -> Result<(u64, Option<TxRow>), FieldError>,
) -> Result<Option<u64>, IngestError> {
    loop {
        if s.line.is_none() {
            match s.csv.next(&mut s.rec)? {
                CsvRow::End => return Ok(None),
                CsvRow::Malformed(line, msg) => {
                    s.bad_line(line, msg, opts)?;
                    continue;
                }
                CsvRow::Row(line) => s.line = Some(line),
            }
        }
        if s.block.is_some() {
            return Ok(s.block);
        }
        match parse(&s.rec) {
            Ok((block, key)) => {
                s.block = Some(block);
                s.key = key;
                return Ok(s.block);
            }
            Err(_) if s.resumed() => s.consume(),
            Err(e) => {
                let line = s.line.expect("a row in hand");
                s.bad_field(line, e, opts)?;
            }
        }
    }
}

/// Block of the next usable transaction row; its parsed key is left in `s.key`.
fn next_tx_block(
    s: &mut Stream,
    c: &TxCols,
    opts: &ImportOptions,
) -> Result<Option<u64>, IngestError> {
    next_block(s, opts, |rec| {
        parse_tx_key(rec, c).map(|k| (k.block, Some(k)))
    })
}

/// Block of the next token-transfer row.
fn next_token_block(
    s: &mut Stream,
    c: &TokenCols,
    opts: &ImportOptions,
) -> Result<Option<u64>, IngestError> {
    next_block(s, opts, |rec| {
        uint(&rec[c.block])
            .map(|b| (b, None))
            .map_err(|m| FieldError::new("block_number", m))
    })
}
