//! Deterministic generator of laundering scenarios as ethereum-etl CSVs with
//! ground-truth labels.
//!
//! A scenario is background traffic (heavy-tailed users, exchanges with
//! deposit addresses, DEX, bridge, mixer) calibrated to real-chain figures,
//! with an injected DPRK-style laundering operation and address-poisoning
//! spam. [`generate_into`] streams rows into any [`ScenarioSink`] and does no
//! I/O; [`generate`] writes the ethereum-etl files plus `labels.csv` and
//! `truth.json`. The same [`GenConfig`] always gives byte-identical output.

pub mod calibration;
mod exposure_graph;
mod files;
mod fmt;
mod ids;
mod plan;
mod records;
mod stream;
pub mod truth;
pub mod utxo;
mod world;

use std::path::{Path, PathBuf};

pub use calibration::{Calibration, CalibrationFigures};
pub use exposure_graph::{exposure_graph_address, write_exposure_graph, EXPOSURE_GRAPH_ADDRESSES};
pub use files::FileSink;
pub use ids::{addr_hex, Addr, Hash32};
pub use records::RecordSink;
pub use truth::GroundTruth;
pub use world::WETH_ADDRESS;

use thiserror::Error;
use tripoint_chain::Label;

/// Knobs of a scenario. Every field has a sane default; `seed` and
/// `transfers` are the ones the command line exposes.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Same seed and same knobs give byte-identical output.
    pub seed: u64,
    /// Total rows to produce: transactions plus token transfers (laundering
    /// and spam included). At least [`MIN_TRANSFERS`].
    pub transfers: u64,
    /// Mean transactions per block (Ethereum: 100, see `docs/gen.md`).
    pub tx_per_block: u32,
    /// First block number and its unix time; blocks are 12 s apart.
    pub start_block: u64,
    pub start_time: i64,
    /// Number of exchanges (each: one hot wallet, one deposit address per customer).
    pub exchanges: u32,
    /// Width and per-address amount (whole ETH) of the first round-amount fan-out;
    /// the stolen ETH is their product.
    pub fanout_width: u32,
    pub fanout_eth: u64,
    /// Width of the second fan-out (after consolidation).
    pub second_fanout_width: u32,
    /// Stolen staked tokens (whole units), swapped to WETH on the DEX.
    pub stolen_steth: u64,
    pub stolen_meth: u64,
    /// The pause between the second fan-out and the dispersion, in seconds.
    pub pause_secs: u64,
    /// Share of background plain transfers that fail (receipt_status 0).
    pub failed_tx_share: f64,
    /// Share of flows that go through contracts (0 = none, the default):
    /// background ETH payments and withdrawals through forwarding contracts,
    /// laundering ETH moves through the launderers' own forwarders, staked
    /// tokens swapped to ETH paid out by internal calls, and WETH wrapped and
    /// unwrapped. Above 0, `traces.csv` is written (docs/gen.md).
    pub contract_share: f64,
}

/// Smallest scenario: the injected laundering needs room in the background.
pub const MIN_TRANSFERS: u64 = 10_000;

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            transfers: 10_000,
            tx_per_block: 100,
            // Around the Bybit theft (block 21,895,238 on 2025-02-21).
            start_block: 21_890_000,
            start_time: 1_740_078_011,
            exchanges: 16,
            fanout_width: 40,
            fanout_eth: 10_000,
            second_fanout_width: 20,
            stolen_steth: 90_000,
            stolen_meth: 8_000,
            pause_secs: 3 * 86_400,
            failed_tx_share: 0.01,
            contract_share: 0.0,
        }
    }
}

#[derive(Debug, Error)]
pub enum GenError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("sink rejected a row")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `truth.json` that does not parse, at its line and column.
    #[error("{}:{line}:{column}: {error}", path.display())]
    Truth {
        path: PathBuf,
        line: usize,
        column: usize,
        error: serde_json::Error,
    },
}

/// One row of `transactions.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxRow {
    pub hash: Hash32,
    pub block_number: u64,
    pub block_hash: Hash32,
    pub transaction_index: u32,
    pub from: Addr,
    pub to: Addr,
    /// Wei.
    pub value: u128,
    pub gas: u64,
    /// Wei per gas.
    pub gas_price: u64,
    /// Unix seconds.
    pub block_timestamp: i64,
    /// `false` = receipt_status 0: the transaction failed and moved no value.
    pub success: bool,
}

/// One row of `token_transfers.csv` (an ERC-20 `Transfer` log). It always
/// belongs to the [`TxRow`] pushed just before it (same hash and block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTransferRow {
    pub token: Addr,
    pub from: Addr,
    pub to: Addr,
    /// Raw token units.
    pub value: u128,
    pub transaction_hash: Hash32,
    /// Index of the log within its block, as ethereum-etl numbers it.
    pub log_index: u32,
    pub block_number: u64,
}

/// One row of `tokens.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub address: Addr,
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
    pub total_supply: u128,
    pub block_number: u64,
}

/// Where [`generate_into`] puts what it generates.
///
/// Call order: every `token` and `label` first, then transactions in chain
/// order (block, index), each followed immediately by its token transfers.
pub trait ScenarioSink {
    fn token(&mut self, token: &TokenRow) -> Result<(), GenError>;
    fn label(&mut self, label: &Label) -> Result<(), GenError>;
    fn transaction(&mut self, tx: &TxRow) -> Result<(), GenError>;
    fn token_transfer(&mut self, transfer: &TokenTransferRow) -> Result<(), GenError>;
    /// The call tree of a contract-mediated transaction (only with
    /// `contract_share` above 0), after its token transfers: `frames` below
    /// the top-level call, depth first (empty: the top-level call alone).
    /// Sinks that only need the transaction rows keep this default.
    fn traces(&mut self, _tx: &TxRow, _frames: &[CallFrame]) -> Result<(), GenError> {
        Ok(())
    }
}

/// One call frame below a transaction's top-level call (a row of
/// ethereum-etl `traces.csv`; the top-level call is the [`TxRow`] itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFrame {
    /// Trace address: `path[..depth]` (`[1]` is the top-level call's second
    /// child, `[0, 0]` the first child of its first child).
    pub path: [u32; 2],
    /// 1 or 2.
    pub depth: u8,
    pub from: Addr,
    pub to: Addr,
    /// Wei.
    pub value: u128,
    /// Frames directly below this one.
    pub subtraces: u32,
}

impl CallFrame {
    /// A frame with no children at `path[..depth]`.
    pub fn call(path: &[u32], from: Addr, to: Addr, value: u128) -> CallFrame {
        let mut p = [0; 2];
        p[..path.len()].copy_from_slice(path);
        CallFrame {
            path: p,
            depth: path.len() as u8,
            from,
            to,
            value,
            subtraces: 0,
        }
    }

    /// The trace address, `[]` never (the top-level call is not a frame).
    pub fn trace_address(&self) -> &[u32] {
        &self.path[..self.depth as usize]
    }
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct GenSummary {
    pub transactions: u64,
    pub token_transfers: u64,
    /// Rows of `traces.csv` (0 unless `contract_share` is above 0): one per
    /// contract-mediated transaction plus one per frame below it.
    pub trace_rows: u64,
    /// Of `trace_rows`, the frames that move ether (internal transfers).
    pub internal_transfers: u64,
    pub blocks: u64,
    pub first_block: u64,
    pub last_block: u64,
    pub truth: GroundTruth,
}

impl GenSummary {
    /// Rows generated: transactions plus token transfers.
    pub fn rows(&self) -> u64 {
        self.transactions + self.token_transfers
    }
}

/// Generate the scenario into `sink` (no I/O here).
pub fn generate_into(
    cfg: &GenConfig,
    sink: &mut impl ScenarioSink,
) -> Result<GenSummary, GenError> {
    generate_with_progress(cfg, sink, &mut |_| {})
}

/// [`generate_into`] that reports the rows produced so far to `progress`
/// every few thousand rows.
pub fn generate_with_progress(
    cfg: &GenConfig,
    sink: &mut impl ScenarioSink,
    progress: &mut dyn FnMut(u64),
) -> Result<GenSummary, GenError> {
    validate(cfg)?;
    stream::run(cfg, sink, progress)
}

/// Generate the scenario as files in `out_dir` (created if missing):
/// `transactions.csv`, `token_transfers.csv`, `tokens.csv`, `labels.csv`,
/// `truth.json`. Files appear only when complete (written under a temporary
/// name, then renamed), so a failed run never leaves a half-written scenario
/// that looks whole, and a previous scenario in `out_dir` is replaced only by
/// a complete one.
pub fn generate(cfg: &GenConfig, out_dir: &Path) -> Result<GenSummary, GenError> {
    generate_files(cfg, out_dir, &mut |_| {})
}

/// [`generate`] with a progress callback (rows so far).
pub fn generate_files(
    cfg: &GenConfig,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<GenSummary, GenError> {
    validate(cfg)?;
    let mut sink = FileSink::create_with_traces(out_dir, cfg.contract_share > 0.0)?;
    match stream::run(cfg, &mut sink, progress) {
        Ok(summary) => {
            sink.finish(&summary.truth)?;
            Ok(summary)
        }
        Err(e) => {
            sink.abandon();
            Err(e)
        }
    }
}

fn validate(cfg: &GenConfig) -> Result<(), GenError> {
    let bad = |m: String| Err(GenError::Config(m));
    if cfg.transfers < MIN_TRANSFERS {
        return bad(format!(
            "transfers = {} is below the minimum of {MIN_TRANSFERS} (the laundering needs background to hide in)",
            cfg.transfers
        ));
    }
    if cfg.tx_per_block == 0 {
        return bad("tx_per_block must be at least 1".into());
    }
    if cfg.exchanges == 0 || cfg.exchanges > 64 {
        return bad(format!("exchanges = {} must be 1..=64", cfg.exchanges));
    }
    if cfg.fanout_width < 2 || cfg.fanout_width > 1000 {
        return bad(format!(
            "fanout_width = {} must be 2..=1000",
            cfg.fanout_width
        ));
    }
    if cfg.second_fanout_width < 2 || cfg.second_fanout_width > 1000 {
        return bad(format!(
            "second_fanout_width = {} must be 2..=1000",
            cfg.second_fanout_width
        ));
    }
    if cfg.fanout_eth == 0 || cfg.fanout_eth > 1_000_000_000 {
        return bad(format!("fanout_eth = {} must be 1..=10^9", cfg.fanout_eth));
    }
    if cfg.stolen_steth > 1_000_000_000 || cfg.stolen_meth > 1_000_000_000 {
        return bad("stolen_steth / stolen_meth must be at most 10^9".into());
    }
    if !(0.0..=0.5).contains(&cfg.failed_tx_share) {
        return bad(format!(
            "failed_tx_share = {} must be within 0..=0.5",
            cfg.failed_tx_share
        ));
    }
    if !(0.0..=1.0).contains(&cfg.contract_share) {
        return bad(format!(
            "contract_share = {} must be within 0..=1",
            cfg.contract_share
        ));
    }
    if cfg.start_time < 0 {
        return bad("start_time must be a non-negative unix time".into());
    }
    Ok(())
}
