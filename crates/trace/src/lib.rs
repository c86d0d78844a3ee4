//! Taint propagation (poison, haircut, FIFO, LIFO, TIHO), laundering
//! patterns, follow-the-money reports, clustering and screening over any
//! [`tripoint_chain::TransferGraph`]. No I/O: callers hand in a graph (the
//! on-disk store, or a [`MemGraph`]), and the sinks a large sweep may spill
//! its flows to ([`SpillSinks`] in [`TraceConfig::spill`]; without them the
//! flows stay in memory), and get plain data back.

pub mod arith;
pub mod assets;
pub mod cluster;
pub mod eval;
pub mod fxhash;
mod kernels;
pub mod live;
mod mem;
pub mod patterns;
pub mod report;
pub mod screen;
pub mod spam;
mod spill;
pub mod sys;
pub mod taint;
pub mod text;
pub mod time;

pub use kernels::reach::{reached, Reach, Reached};
pub use live::{Advanced, LiveTrace, TokenVerdicts};
pub use mem::MemGraph;
pub use patterns::{Pattern, PatternRules};
pub use report::{build_report, build_summary_report, Report, ReportOptions};
pub use spam::{SpamReason, SpamRules};
pub use spill::{SpillSink, SpillSinks};
pub use taint::{
    auto_sparse_budget, default_terminals, trace, trace_general, AmountsOf, EngineKind, Flow,
    Flows, FlowsIter, Node, NodeAmounts, Role, SpamHit, Swap, TaintPolicy, Totals, TraceConfig,
    TraceError, TraceResult, Traversal,
};
pub use time::{parse_time, TimeError};
