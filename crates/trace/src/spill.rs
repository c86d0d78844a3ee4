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

use std::fmt::Debug;

/// In-memory bytes of the kernel's flow logs past which they are spilled
/// (so a trace of up to a few million flows never touches the disk).
pub(crate) const SPILL_ABOVE: usize = 256 << 20;

/// Bytes appended in order, read back once, in order.
pub trait SpillSink: Send {
    /// Append `bytes`; `false` when they were not written (then nothing of
    /// them is in the sink, and the kernel tries no later append).
    fn append(&mut self, bytes: &[u8]) -> bool;

    /// Bytes in the sink (the sum of the appends that returned `true`).
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything appended, in order, handed to `f` in pieces of `piece`
    /// bytes (the last one shorter), so records of a size that divides
    /// `piece` never straddle two pieces; the sink is gone afterwards.
    fn read_pieces(self: Box<Self>, piece: usize, f: &mut dyn FnMut(&[u8])) -> std::io::Result<()>;
}

/// Makes a trace's [`SpillSink`]s, a new empty one each call (the sweep
/// kernel asks for two: its flows and their payees).
pub trait SpillSinks: Debug + Send + Sync {
    fn sink(&self) -> Box<dyn SpillSink>;
}
