//! Importers that normalise ethereum-etl CSV, bitcoin-etl JSON lines, generic
//! transfer CSVs and Ethereum JSON-RPC into [`TransferRecord`]s.
//!
//! Every importer writes into a [`TransferSink`] (the store's appender in the
//! binary, a `Vec` in tests) and never touches the store itself, so files and
//! RPC share one normalisation path. Importers checkpoint every
//! [`ImportOptions::checkpoint_every`] records with a [`SourceCursor`]
//! (records consumed for files, next block for RPC) and, when restarted,
//! skip to the sink's last checkpoint; the store's dedup on
//! [`TransferRecord::dedup_key`] covers whatever was pushed after it.
//!
//! A bad row either stops the import before the batch containing it is
//! checkpointed, or (with [`ImportOptions::skip_bad_rows`]) is counted and
//! left out.

mod address_list;
mod btc_etl;
mod eth_etl;
mod eth_traces;
mod generated;
mod internal;
pub mod labels;
mod parse;
pub mod pipeline;
mod rpc;
mod source;
mod transfers_csv;
mod wrapped;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use address_list::{parse_address_list, read_address_list, AddressKind};
pub use btc_etl::import_bitcoin_etl;
pub use eth_etl::{import_ethereum_etl, EthereumEtlFiles};
pub use eth_traces::import_ethereum_etl_traces;
pub use generated::{import_generated, GeneratedImport, GeneratedImportError};
pub use internal::ISSUANCE_SOURCE;
pub use parse::{parse_timestamp, synthetic_tx_hash};
pub use rpc::{
    import_eth_rpc, read_blocks, rpc_source, BlockHeader, RpcClient, RpcOptions, TraceApi,
    TRANSFER_TOPIC,
};
pub use source::canonical_source;
pub use transfers_csv::{import_transfers_csv, AmountUnit, ColumnMap, TransfersCsvOptions};

use thiserror::Error;
use tripoint_chain::{SourceCursor, TokenInfo, TransferRecord, TransferSink};

/// Everything an import can fail with. Row errors name the file, the line
/// (1-based, header is line 1) and the column.
#[derive(Debug, Error)]
pub enum IngestError {
    /// Display names the file; the I/O error is the source (shown by `{:#}`).
    #[error("{file}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: column {column}: {message}")]
    BadField {
        file: String,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    BadLine {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}: header has no column '{column}'")]
    MissingColumn { file: String, column: String },
    #[error("invalid column mapping: {0}")]
    BadMapping(String),
    #[error("JSON-RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("writing to the store")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl IngestError {
    fn sink<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        IngestError::Sink(Box::new(e))
    }
}

/// Knobs shared by the file importers.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Make the sink durable (with the cursor) every this many rows consumed.
    pub checkpoint_every: u64,
    /// Count and leave out bad rows instead of stopping at the first one.
    pub skip_bad_rows: bool,
    /// Bytes read from the file so far (compressed bytes for `.gz`), for a
    /// progress bar that another thread draws.
    pub bytes_read: Option<Arc<AtomicU64>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            checkpoint_every: 5_000_000,
            skip_bad_rows: false,
            bytes_read: None,
        }
    }
}

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows (or JSON lines, or RPC blocks) consumed in this run, bad ones included.
    pub rows_read: u64,
    /// Rows skipped because an earlier run had already checkpointed them.
    pub rows_resumed: u64,
    /// Transfer records pushed to the sink.
    pub transfers: u64,
    /// Token metadata rows pushed to the sink.
    pub tokens: u64,
    /// Bad rows left out under `skip_bad_rows`.
    pub bad_rows_skipped: u64,
    /// Rows that move no value by design: failed transactions (receipt_status 0),
    /// coinbase inputs, zero-value unspendable outputs, ...
    pub no_value_rows: u64,
    /// Of `transfers`, the internal ones: value moved by contracts (traces),
    /// rewards and withdrawals.
    pub internal: u64,
    /// How `eth-rpc` read internal transfers: the tracing API the node
    /// offered, or that it offered none.
    pub node_traces: Option<TraceApi>,
}

impl ImportSummary {
    pub fn add(&mut self, o: &ImportSummary) {
        self.rows_read += o.rows_read;
        self.rows_resumed += o.rows_resumed;
        self.transfers += o.transfers;
        self.tokens += o.tokens;
        self.bad_rows_skipped += o.bad_rows_skipped;
        self.no_value_rows += o.no_value_rows;
        self.internal += o.internal;
        self.node_traces = self.node_traces.or(o.node_traces);
    }
}

/// A row-level problem before the file and line are attached.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub column: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(column: &str, message: impl Into<String>) -> Self {
        FieldError {
            column: column.to_string(),
            message: message.into(),
        }
    }
}

/// Shared bookkeeping of a file import: counts rows, checkpoints every N rows,
/// turns bad rows into errors or skips.
pub(crate) struct Batcher<'a, S: TransferSink> {
    pub sink: &'a mut S,
    pub source: String,
    pub file: String,
    pub opts: &'a ImportOptions,
    /// Rows consumed including those skipped on resume (the cursor value).
    pub consumed: u64,
    /// Where the previous run stopped (rows), 0 for a fresh source.
    resume_at: u64,
    since_checkpoint: u64,
    pub summary: ImportSummary,
}

impl<'a, S: TransferSink> Batcher<'a, S> {
    pub fn new(sink: &'a mut S, source: String, file: String, opts: &'a ImportOptions) -> Self {
        let resume_at = sink.resume_position(&source).unwrap_or(0);
        Batcher {
            resume_at,
            sink,
            source,
            file,
            opts,
            consumed: 0,
            since_checkpoint: 0,
            summary: ImportSummary::default(),
        }
    }

    /// Skip the current row if an earlier run already stored it (it lies before
    /// the checkpointed cursor); `true` when the caller should move on.
    pub fn skip_resumed(&mut self) -> bool {
        if self.consumed < self.resume_at {
            self.consumed += 1;
            self.summary.rows_resumed += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub fn push(&mut self, rec: TransferRecord) -> Result<(), IngestError> {
        self.summary.transfers += 1;
        self.sink.transfer(rec).map_err(IngestError::sink)
    }

    pub fn push_token(&mut self, t: TokenInfo) -> Result<(), IngestError> {
        self.summary.tokens += 1;
        self.sink.token(t).map_err(IngestError::sink)
    }

    /// A row is fully handled (pushed, or skipped as bad/no-value).
    #[inline]
    pub fn row_done(&mut self) -> Result<(), IngestError> {
        self.consumed += 1;
        self.summary.rows_read += 1;
        self.since_checkpoint += 1;
        if self.since_checkpoint >= self.opts.checkpoint_every.max(1) {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// `n` rows are handled at once: a group (one transaction's traces) that
    /// a checkpoint must not split.
    pub fn rows_done(&mut self, n: u64) -> Result<(), IngestError> {
        self.consumed += n;
        self.summary.rows_read += n;
        self.since_checkpoint += n;
        if self.since_checkpoint >= self.opts.checkpoint_every.max(1) {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// A bad row: an error, or counted and skipped (and the row is consumed).
    pub fn bad_row(&mut self, line: u64, e: FieldError) -> Result<(), IngestError> {
        if self.opts.skip_bad_rows {
            self.summary.bad_rows_skipped += 1;
            self.row_done()
        } else {
            Err(IngestError::BadField {
                file: self.file.clone(),
                line,
                column: e.column,
                message: e.message,
            })
        }
    }

    /// The next well-formed row of `csv` (its physical line), handing
    /// malformed lines to [`Batcher::malformed_line`] on the way; `None` at
    /// the end. The read loop every resumable CSV importer shares.
    pub(crate) fn next_row(
        &mut self,
        csv: &mut source::CsvFile,
        rec: &mut csv::ByteRecord,
    ) -> Result<Option<u64>, IngestError> {
        loop {
            match csv.next(rec)? {
                source::CsvRow::End => return Ok(None),
                source::CsvRow::Malformed(line, msg) => self.malformed_line(line, msg)?,
                source::CsvRow::Row(line) => return Ok(Some(line)),
            }
        }
    }

    /// A malformed line of a resumable source: skipped if an earlier run got
    /// past it, otherwise a bad line.
    pub fn malformed_line(&mut self, line: u64, message: String) -> Result<(), IngestError> {
        if self.skip_resumed() {
            Ok(())
        } else {
            self.bad_line(line, message)
        }
    }

    /// A line that could not even be split into fields (bad CSV/JSON syntax).
    pub fn bad_line(&mut self, line: u64, message: String) -> Result<(), IngestError> {
        if self.opts.skip_bad_rows {
            self.summary.bad_rows_skipped += 1;
            self.row_done()
        } else {
            Err(IngestError::BadLine {
                file: self.file.clone(),
                line,
                message,
            })
        }
    }

    pub fn checkpoint(&mut self) -> Result<(), IngestError> {
        self.since_checkpoint = 0;
        self.sink
            .checkpoint(&SourceCursor {
                source: self.source.clone(),
                position: self.consumed,
            })
            .map_err(IngestError::sink)
    }

    /// End of the file: a final checkpoint, and the summary.
    pub fn finish(mut self) -> Result<ImportSummary, IngestError> {
        self.checkpoint()?;
        Ok(self.summary)
    }
}

/// A `Vec`-backed sink with the same resume/dedup contract as the store, for
/// tests and for callers that want records in memory.
#[derive(Debug, Default)]
pub struct VecSink {
    pub tokens: Vec<TokenInfo>,
    /// Checkpointed records.
    pub records: Vec<TransferRecord>,
    /// Pushed since the last checkpoint (lost on a "crash").
    pub pending: Vec<TransferRecord>,
    pub cursors: std::collections::BTreeMap<String, u64>,
    pub checkpoints: u64,
    seen: std::collections::HashSet<(tripoint_chain::TxHash, u32)>,
}

impl VecSink {
    /// Simulate a crash: whatever was not checkpointed is gone.
    pub fn crash(&mut self) {
        for r in self.pending.drain(..) {
            self.seen.remove(&r.dedup_key());
        }
    }
}

impl TransferSink for VecSink {
    type Error = std::convert::Infallible;
    fn token(&mut self, token: TokenInfo) -> Result<(), Self::Error> {
        if !self.tokens.iter().any(|t| t.address == token.address) {
            self.tokens.push(token);
        }
        Ok(())
    }
    fn transfer(&mut self, record: TransferRecord) -> Result<(), Self::Error> {
        if self.seen.insert(record.dedup_key()) {
            self.pending.push(record);
        }
        Ok(())
    }
    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), Self::Error> {
        self.records.append(&mut self.pending);
        self.cursors.insert(cursor.source.clone(), cursor.position);
        self.checkpoints += 1;
        Ok(())
    }
    fn resume_position(&self, source: &str) -> Option<u64> {
        self.cursors.get(source).copied()
    }
}

#[cfg(test)]
mod tests;
