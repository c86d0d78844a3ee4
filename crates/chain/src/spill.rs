//! Where an engine may move append-only logs that it writes in order and
//! reads back once, in order (a trace's spilled flows): the traits live in
//! this lowest crate so that the trace engine names them and the store
//! implements them with files, without either depending on the other.

use std::fmt::Debug;

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
