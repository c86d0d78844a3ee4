//! Chain-neutral vocabulary of the trace engine.
//!
//! Everything here is plain data plus parsing: no I/O. Ingest produces
//! [`TransferRecord`]s, the store persists them and exposes them back through
//! [`TransferGraph`], the taint engine walks that trait.

mod address;
mod amount;
pub mod ascii;
mod graph;
mod label;
mod spill;

pub use address::{Address, AddressError, TxHash};
pub use amount::{
    format_base_units, format_units, group_digits, parse_decimal_units, Amount, AmountError,
    SHOWN_DECIMALS,
};
pub use ethnum::U256;
pub use graph::{
    AddrId, AssetId, TransferBatch, TransferGraph, TransferId, TransferRow, NATIVE_ASSET,
};
pub use label::{Actor, Attribution, Category, Label};
pub use spill::{SpillSink, SpillSinks};

use serde::{Deserialize, Serialize};

/// The chain a record belongs to. Ethereum is an account chain, Bitcoin a UTXO chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    Ethereum,
    Bitcoin,
}

impl Chain {
    /// Ticker of the chain's native coin; also the asset key used in reports.
    pub fn native_symbol(self) -> &'static str {
        match self {
            Chain::Ethereum => "ETH",
            Chain::Bitcoin => "BTC",
        }
    }

    /// Decimal places of the native coin's base unit (wei, satoshi).
    pub fn native_decimals(self) -> u8 {
        match self {
            Chain::Ethereum => 18,
            Chain::Bitcoin => 8,
        }
    }
}

/// What moves: the chain's native coin or a token identified by its contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Asset {
    Native(Chain),
    Token(Address),
}

impl Asset {
    /// Stable key used in JSON reports: `ETH`/`BTC`, or the token contract address.
    pub fn key(&self) -> String {
        match self {
            Asset::Native(c) => c.native_symbol().to_string(),
            Asset::Token(a) => a.to_string(),
        }
    }
}

/// Token metadata as found in ethereum-etl's `tokens.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub address: Address,
    pub symbol: String,
    pub name: String,
    pub decimals: Option<u8>,
}

/// How a record sits inside its transaction.
///
/// The position is part of the chain-order key (block, tx index, position) and,
/// with the tx hash, the idempotency key that makes re-ingest a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Position {
    /// Ethereum: the transaction's own value transfer (comes before its logs).
    NativeValue,
    /// Ethereum: an ERC-20 `Transfer` log.
    Log(u32),
    /// Bitcoin: input `n` of the transaction, spending `spends`.
    Input { index: u32, spends: OutPoint },
    /// Bitcoin: output `n` of the transaction.
    Output(u32),
}

impl Position {
    /// The bit of a Bitcoin sub-index that marks an output (inputs sort
    /// before outputs); spelled only here.
    const OUTPUT_BIT: u32 = 1 << 31;

    /// Dense sort/dedup key within a transaction: native value first, then logs;
    /// inputs before outputs.
    pub fn sub_index(&self) -> u32 {
        match *self {
            Position::NativeValue => 0,
            Position::Log(i) => i.saturating_add(1),
            Position::Input { index, .. } => index,
            Position::Output(i) => Self::OUTPUT_BIT | i,
        }
    }

    /// Ethereum internal transfers (value moved by a contract's CALL, CREATE
    /// or SELFDESTRUCT, and block-level issuance) sit after the transaction's
    /// logs, at `Log(INTERNAL_BASE + k)`: the store's position space has no
    /// third kind, and log indices never reach 2^30. `k` is the call's rank
    /// in the transaction's call tree (see [`Position::internal`]).
    pub const INTERNAL_BASE: u32 = 1 << 30;

    /// Where the wrapped-ether side of a frame's conversion sits:
    /// `Log(INTERNAL_BASE + WRAPPED_OFFSET + k)` for the frame of rank `k`
    /// (WETH minted for ether paid in, or burned for ether paid out).
    pub const WRAPPED_OFFSET: u32 = 1 << 29;

    /// The position of the internal transfer of rank `k`; `None` from 2^29 on
    /// (ranks above are the wrapped-ether records of [`Position::wrapped`]).
    pub fn internal(k: u32) -> Option<Position> {
        (k < Self::WRAPPED_OFFSET).then_some(Position::Log(Self::INTERNAL_BASE + k))
    }

    /// The position of the wrapped-ether record (WETH minted or burned) of
    /// the frame of rank `k` (0: the transaction's own value); `None` from
    /// 2^29 on.
    pub fn wrapped(k: u32) -> Option<Position> {
        (k < Self::WRAPPED_OFFSET).then_some(Position::Log(
            Self::INTERNAL_BASE + Self::WRAPPED_OFFSET + k,
        ))
    }

    /// The rank of an Ethereum row's internal transfer, or `None` for the
    /// transaction's own value and its logs.
    pub fn internal_of(sub_index: u32) -> Option<u32> {
        sub_index
            .checked_sub(Self::INTERNAL_BASE + 1)
            .filter(|_| Self::output_of(sub_index).is_none())
    }

    /// The output number a Bitcoin row's sub-index encodes, or `None` for an
    /// input.
    pub fn output_of(sub_index: u32) -> Option<u32> {
        (sub_index & Self::OUTPUT_BIT != 0).then_some(sub_index & !Self::OUTPUT_BIT)
    }
}

/// Reference to a transaction output (UTXO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutPoint {
    pub tx: TxHash,
    pub index: u32,
}

/// One normalised value movement: the single shape every importer (files and
/// RPC alike) produces.
///
/// Bitcoin transactions become a small star around a transaction node
/// (`Address::Tx`): one record per input (spender address -> tx node, carrying
/// the spent outpoint) and one per output (tx node -> receiver). This keeps
/// UTXO semantics — a spend moves exactly the outputs it names — inside an
/// ordinary directed transfer graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub chain: Chain,
    pub block: u64,
    /// Unix seconds (UTC) of the block.
    pub timestamp: i64,
    pub tx_hash: TxHash,
    pub tx_index: u32,
    pub position: Position,
    pub from: Address,
    pub to: Address,
    pub asset: Asset,
    pub amount: Amount,
}

impl TransferRecord {
    /// Chain order: (block, tx index, position within the tx).
    pub fn order_key(&self) -> (u64, u32, u32) {
        (self.block, self.tx_index, self.position.sub_index())
    }

    /// Idempotency key: re-ingesting the same record must not duplicate it.
    pub fn dedup_key(&self) -> (TxHash, u32) {
        (self.tx_hash, self.position.sub_index())
    }
}

/// Where an importer stands in one source (a file, an RPC endpoint), persisted
/// atomically with the data it covers so that a restart resumes exactly there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCursor {
    /// Stable name of the source, e.g. the canonical file path or `eth-rpc:<url>`.
    pub source: String,
    /// Importer-defined position: records consumed for a file, next block for RPC.
    pub position: u64,
}

/// Where importers put what they read. The store's appender implements it;
/// importers never know about files on disk, so files and RPC share one path.
pub trait TransferSink {
    type Error: std::error::Error + Send + Sync + 'static;
    fn token(&mut self, token: TokenInfo) -> Result<(), Self::Error>;
    /// Records whose [`TransferRecord::dedup_key`] is already stored are ignored.
    fn transfer(&mut self, record: TransferRecord) -> Result<(), Self::Error>;
    /// A run of records in order; sinks with a faster bulk path override it.
    fn transfer_batch(&mut self, records: &[TransferRecord]) -> Result<(), Self::Error> {
        records.iter().try_for_each(|r| self.transfer(r.clone()))
    }
    /// Make everything pushed so far durable together with `cursor`, atomically:
    /// after a crash either both are there or neither is.
    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), Self::Error>;
    /// The last checkpointed position of `source`, if any.
    fn resume_position(&self, source: &str) -> Option<u64>;
}
