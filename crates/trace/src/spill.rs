//! Where a trace may move its append-only logs, written in order during its
//! pass and read back once, in order, at its end (the sweep kernel's flows
//! and their payees): past a size they go to a caller's [`SpillSink`]
//! instead of growing in memory, because at 5×10^8 transfers a full-graph
//! trace's flows (~2 GiB) would sit in memory beside the per-address state
//! that the pass needs, while at the end that state is freed and the flows
//! fit.
//!
//! The engine does no I/O itself: the caller hands in the sinks through
//! [`crate::TraceConfig::spill`] (the CLI and the benchmarks give
//! `tripoint_store::TempFileSpills`, unnamed temporary files); with none
//! the logs stay in memory. Spilling is never needed for correctness: a
//! sink that cannot take an append (no temporary directory, disk full)
//! stops the spilling and the kernel keeps the bytes in memory.

pub use tripoint_chain::{SpillSink, SpillSinks};

/// In-memory bytes of the kernel's flow logs past which they are spilled
/// (so a trace of up to a few million flows never touches the disk).
pub(crate) const SPILL_ABOVE: usize = 256 << 20;
