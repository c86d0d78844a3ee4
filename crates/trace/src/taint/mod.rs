//! The taint engine: one time-respecting traversal over chain-ordered
//! transfers, with the policy as an enum.
//!
//! Transfers are processed in ascending id (= chain) order, so funds can only
//! move along a transfer after they arrived. Every walked address keeps, per
//! asset, its known balance `B` and tainted part `T` (and, for FIFO/LIFO, the
//! queue of lots). Amounts are exact integers; a proportional split rounds
//! down and the remainder stays where it was, so the books balance to the unit:
//!
//! `seeded + swapped_in = held + exited + dust + beyond_hops + spam + swapped_out`
//! for every asset and every policy except poison (which does not conserve).

mod account;
mod config;
mod engine;
mod flow_log;
mod result;

use tripoint_chain::{TransferGraph, TransferId};

pub(crate) use account::swap_share;
pub use config::{
    default_terminals, TaintPolicy, TraceConfig, TraceError, Traversal, COMPACT_ABOVE_ADDRESSES,
};
pub(crate) use engine::{
    classify_labels, swap_legs, swapped, walk_on, Class, Dropped, Parked, SwapLegs,
};
use engine::{run_sparse, run_sweep, AtMost, OverBudget, Unlimited};
pub use flow_log::{Flows, FlowsIter};
pub use result::{
    AmountsOf, EngineKind, Flow, Node, NodeAmounts, Role, SpamHit, Swap, Totals, TraceResult,
};
pub(crate) use result::{Counterparties, NodeIndex};

/// Run a trace. [`Traversal::Sweep`] uses the fast sweep kernel
/// (`kernels::sweep`) when it covers the configuration and the general
/// engine otherwise; [`Traversal::Auto`] starts sparse and restarts as a
/// sweep once the sparse walk has done more work than a sweep would.
pub fn trace<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> Result<TraceResult, TraceError> {
    if cfg.seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    Ok(match cfg.traversal {
        Traversal::Sparse => {
            let Ok(r) = run_sparse(g, cfg, Unlimited);
            r
        }
        Traversal::Sweep => sweep_or_general(g, cfg),
        Traversal::Auto => {
            let pops = cfg
                .sparse_budget
                .unwrap_or_else(|| auto_sparse_budget(g.transfer_count()));
            match run_sparse(g, cfg, AtMost(pops)) {
                Ok(r) => r,
                Err(OverBudget) => sweep_or_general(g, cfg),
            }
        }
    })
}

/// Transfers a sparse walk may pop before [`Traversal::Auto`] gives up on it
/// and sweeps. Measured at 10^7 transfers: a pop costs about 1 µs (heap,
/// random row and adjacency reads), a swept row about 0.25 µs, so a walk
/// that would pop more than ~n/4 is cheaper as a sweep. The budget is set
/// lower, at n/32, so that a trace that ends up sweeping wastes at most
/// about an eighth of a sweep on its sparse start.
pub fn auto_sparse_budget(transfers: u64) -> u64 {
    (transfers / 32).max(20_000)
}

fn sweep_or_general<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> TraceResult {
    match crate::kernels::sweep::run(g, cfg) {
        Some(r) => r,
        None => run_sweep(g, cfg),
    }
}

/// The general engine, whatever `cfg.traversal` says: `sparse` picks the
/// priority-queue walk, else the row-by-row sweep. It covers every policy
/// and feature and is the reference the fast kernels are tested against.
pub fn trace_general<G: TransferGraph>(
    g: &G,
    cfg: &TraceConfig,
    sparse: bool,
) -> Result<TraceResult, TraceError> {
    if cfg.seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    Ok(if sparse {
        let Ok(r) = run_sparse(g, cfg, Unlimited);
        r
    } else {
        run_sweep(g, cfg)
    })
}

/// First transfer id with timestamp ≥ `from` (timestamps follow chain order).
pub fn first_at_or_after<G: TransferGraph>(g: &G, from: i64) -> TransferId {
    let (mut lo, mut hi) = (0u64, g.transfer_count());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if g.transfer(mid).timestamp < from {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
