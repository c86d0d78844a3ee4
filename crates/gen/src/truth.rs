//! Ground truth of a generated scenario, written as `truth.json`.
//!
//! The schema is stable (`schema: "tripoint-gen-truth/1"`) and documented in
//! `docs/gen.md`; `tripoint eval` reads it back with [`GroundTruth`].
//! Amounts are decimal strings in base units (wei, token raw units); the asset
//! key is `ETH` for the native coin and the token contract address otherwise,
//! as in trace reports.

use serde::{Deserialize, Serialize};
use tripoint_chain::{Address, Category};

pub const SCHEMA: &str = "tripoint-gen-truth/1";

/// Where a trace should start: the DPRK-attributed theft address(es) and the
/// time of the theft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    pub addresses: Vec<Address>,
    /// Unix seconds of the theft block.
    pub start_time: i64,
    pub start_block: u64,
}

/// An address the launderers control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunderingAddress {
    pub address: Address,
    /// `thief`, `fan-out`, `consolidation`, `second-fan-out`, `peel`.
    pub role: String,
    /// Pattern tags this address takes part in, e.g. `round-fan-out`,
    /// `consolidation`, `pause-then-dispersion`, `mixer-deposit`.
    pub patterns: Vec<String>,
}

/// Where laundered funds left the launderers' hands: one entry per
/// (address, asset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub address: Address,
    /// `mixer`, `bridge` or `exchange` (see `tripoint_chain::Category`).
    pub category: Category,
    pub asset: String,
    /// Total received from laundering addresses, decimal base units.
    #[serde(with = "dec")]
    pub amount: u128,
    /// Unix seconds of the first laundering transfer into this endpoint.
    pub first_time: i64,
    pub first_block: u64,
    /// Transactions that delivered the amount (`0x…`), chain order.
    pub tx_hashes: Vec<String>,
    /// For exchange deposit addresses: the exchange hot wallet the deposit
    /// address forwards to (deposit-address clustering).
    pub exchange_hot_wallet: Option<Address>,
    /// The funds are still at this address at the end of the data (an
    /// exchange deposit not yet swept: a freeze candidate). Contracts
    /// (mixer, bridge) are `false`: the funds are beyond reach there.
    pub held: bool,
}

/// A DEX swap done by the launderers: asset in, asset out, same transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    pub address: Address,
    /// `0x…` hash of the swap transaction.
    pub tx_hash: String,
    pub pool: Address,
    pub asset_in: String,
    #[serde(with = "dec")]
    pub amount_in: u128,
    pub asset_out: String,
    #[serde(with = "dec")]
    pub amount_out: u128,
}

/// An amount of one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetAmount {
    pub asset: String,
    #[serde(with = "dec")]
    pub amount: u128,
}

/// What a laundering address still holds at the end of the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub address: Address,
    pub asset: String,
    #[serde(with = "dec")]
    pub amount: u128,
}

/// A service contract the laundering passes through without exiting there
/// (DEX router and pools): a trace may list it, it is neither launderer nor endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub address: Address,
    pub category: Category,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    pub address: Address,
    pub symbol: String,
    /// For fake tokens: the symbol of the real token it imitates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imitates: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub trusted: Vec<TokenRef>,
    pub fake: Vec<TokenRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub transactions: u64,
    pub token_transfers: u64,
    pub blocks: u64,
    pub laundering_transactions: u64,
    pub laundering_addresses: u64,
    pub endpoints: u64,
    pub spam_transactions: u64,
    pub spam_token_transfers: u64,
    pub spam_addresses: u64,
}

/// Everything the generator knows that a tracer has to find out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub schema: String,
    pub seed: u64,
    pub transfers: u64,
    pub victim: Address,
    pub seeds: Seeds,
    pub stolen: Vec<AssetAmount>,
    pub laundering_addresses: Vec<LaunderingAddress>,
    pub endpoints: Vec<Endpoint>,
    pub swaps: Vec<Swap>,
    pub held: Vec<Holding>,
    pub services: Vec<Service>,
    /// Look-alike addresses and spam operators: never tainted.
    pub spam_addresses: Vec<Address>,
    pub tokens: Tokens,
    /// Unix seconds: when the pause of days starts and ends.
    pub pause: Pause,
    pub counts: Counts,
}

impl GroundTruth {
    /// Write as pretty JSON to `path` (the caller renames it into place, so
    /// a reader never sees half a file).
    pub fn write_json(&self, path: &std::path::Path) -> Result<(), crate::GenError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(|source| crate::GenError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        json.push(b'\n');
        std::fs::write(path, &json).map_err(|source| crate::GenError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Read a `truth.json` back; a parse error names the file, line and column.
    pub fn read(path: &std::path::Path) -> Result<GroundTruth, crate::GenError> {
        let text = std::fs::read_to_string(path).map_err(|source| crate::GenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|error| crate::GenError::Truth {
            path: path.to_path_buf(),
            line: error.line(),
            column: error.column(),
            error,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from_time: i64,
    pub to_time: i64,
}

/// `u128` as a decimal string (JSON numbers cannot hold wei amounts exactly).
pub mod dec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::fmt::u128_string(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
