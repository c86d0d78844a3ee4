//! What a trace is asked to do: policy, seeds, limits, traversal.

use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;
use tripoint_chain::{AddrId, Amount, Category};

use crate::spam::SpamRules;
use crate::spill::SpillSinks;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("no seed addresses given")]
    NoSeeds,
    #[error("unknown taint policy '{0}' (expected poison, haircut, fifo, lifo or tiho)")]
    UnknownPolicy(String),
    #[error("the graph shrank from {had} to {now} transfers under a live trace")]
    GraphShrank { had: u64, now: u64 },
}

/// How taint is attributed when an address holding mixed funds pays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaintPolicy {
    /// Any payment by an address that ever received taint is wholly tainted.
    Poison,
    /// Every payment carries the tainted share of the balance (`a·T/B`, rounded down).
    Haircut,
    /// Clayton's rule: first in, first out, in chain order.
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Taint in, highest out: tainted funds leave first; in a Bitcoin
    /// transaction they fill the largest outputs first.
    Tiho,
}

impl TaintPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintPolicy::Poison => "poison",
            TaintPolicy::Haircut => "haircut",
            TaintPolicy::Fifo => "fifo",
            TaintPolicy::Lifo => "lifo",
            TaintPolicy::Tiho => "tiho",
        }
    }
    pub const ALL: [TaintPolicy; 5] = [
        TaintPolicy::Poison,
        TaintPolicy::Haircut,
        TaintPolicy::Fifo,
        TaintPolicy::Lifo,
        TaintPolicy::Tiho,
    ];
}

impl std::str::FromStr for TaintPolicy {
    type Err = TraceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "poison" => Ok(TaintPolicy::Poison),
            "haircut" => Ok(TaintPolicy::Haircut),
            "fifo" => Ok(TaintPolicy::Fifo),
            "lifo" => Ok(TaintPolicy::Lifo),
            "tiho" => Ok(TaintPolicy::Tiho),
            other => Err(TraceError::UnknownPolicy(other.to_string())),
        }
    }
}

/// Which transfers the engine visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traversal {
    /// Only transfers of walked addresses, from a priority queue: cost follows
    /// the size of the trace, not of the graph.
    Sparse,
    /// Every transfer from the start on, in one sequential pass: the
    /// full-graph mode, fastest when taint spreads widely.
    Sweep,
    /// Sparse while the walk stays small, then a sweep: bounds one huge
    /// trace by the cost of a sweep ([`auto_sparse_budget`]).
    Auto,
}

/// Everything a trace needs besides the graph.
#[derive(Debug, Clone)]
pub struct TraceConfig {
    pub policy: TaintPolicy,
    pub seeds: Vec<AddrId>,
    /// Start time (unix seconds): everything a seed sends from then on is tainted.
    pub from: i64,
    /// Transfers after this time are not followed (the taint stays held).
    pub until: Option<i64>,
    /// Maximum hop distance from a seed; taint that would go further is
    /// counted as `beyond_hops` and dropped.
    pub max_hops: u32,
    /// Taint below this many base units on one transfer is dropped as `dust`.
    pub dust: Amount,
    /// Categories where taint is reported as exited and not walked further.
    pub terminal: Vec<Category>,
    /// Walk through terminal addresses too (they are still reported as endpoints).
    pub walk_terminals: bool,
    pub spam: SpamRules,
    pub traversal: Traversal,
    /// [`Traversal::Auto`]: transfers the sparse walk may pop before it is
    /// abandoned for a sweep; `None` is [`auto_sparse_budget`] of the graph.
    pub sparse_budget: Option<u64>,
    /// The sweep kernel's per-address state: `Some(true)` compact (16
    /// bytes an address, 4 under poison, plus 16 a node), `Some(false)`
    /// dense (32 bytes an address, faster), `None` by the graph's size
    /// (compact beyond [`COMPACT_ABOVE_ADDRESSES`]). The result is the
    /// same either way.
    pub compact_state: Option<bool>,
    /// Bytes of flows the sweep kernel keeps in memory before it spills
    /// them to [`Self::spill`]'s sinks (`None`: 256 MiB, 32 MiB in the
    /// compact layout; tests set a few bytes to make every trace spill).
    /// The result is the same either way.
    pub spill_flows_above: Option<usize>,
    /// Where the sweep kernel's flow logs go past
    /// [`Self::spill_flows_above`] (the caller's I/O, e.g.
    /// `tripoint_store::TempFileSpills`); `None` keeps them in memory.
    pub spill: Option<Arc<dyn SpillSinks>>,
}

/// Addresses beyond which the sweep kernel keeps its native-coin state
/// compact (see [`TraceConfig::compact_state`]): 2^26 addresses are 2 GiB
/// of dense state (a 10^8-transfer graph has ~37.5 M addresses, 5×10^8
/// ~188 M: 5.6 GiB dense, 2.8 compact, 0.7 under poison).
pub const COMPACT_ABOVE_ADDRESSES: usize = 1 << 26;

impl TraceConfig {
    pub fn new(policy: TaintPolicy, seeds: Vec<AddrId>) -> Self {
        TraceConfig {
            policy,
            seeds,
            from: i64::MIN,
            until: None,
            max_hops: 64,
            dust: Amount::ZERO,
            terminal: default_terminals(),
            walk_terminals: false,
            spam: SpamRules::default(),
            traversal: Traversal::Auto,
            sparse_budget: None,
            compact_state: None,
            spill_flows_above: None,
            spill: None,
        }
    }
}

/// Exchanges, bridges, mixers and sanctioned addresses end a walk by default.
pub fn default_terminals() -> Vec<Category> {
    vec![
        Category::Exchange,
        Category::Bridge,
        Category::Mixer,
        Category::Sanctioned,
    ]
}
