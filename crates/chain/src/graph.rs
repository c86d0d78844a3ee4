use crate::{Address, Amount, Label, TokenInfo, TxHash};

/// Dense id of an address in a store's dictionary.
pub type AddrId = u32;
/// Dense id of an asset; [`NATIVE_ASSET`] is the chain's native coin.
pub type AssetId = u32;
/// Index of a transfer in chain order (block, tx index, position).
pub type TransferId = u64;

/// The native coin (ETH or BTC) always has asset id 0.
pub const NATIVE_ASSET: AssetId = 0;

/// One transfer as the taint engine sees it: ids only, fixed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRow {
    pub src: AddrId,
    pub dst: AddrId,
    pub asset: AssetId,
    pub amount: Amount,
    pub block: u64,
    pub timestamp: i64,
    pub tx_index: u32,
    /// [`crate::Position::sub_index`] of the record.
    pub sub_index: u32,
}

impl TransferRow {
    /// On Bitcoin, the output number when this row is a transaction output
    /// (`None` for an input).
    pub fn output_index(&self) -> Option<u32> {
        crate::Position::output_of(self.sub_index)
    }
}

/// Consecutive transfers `first..first + len()` in columnar form, for
/// sequential sweeps: one call fills a whole run, so a full-graph pass costs a
/// few array copies per transfer instead of a `transfer(id)` decode each.
/// Buffers are reused between calls ([`TransferGraph::read_batch`] clears them).
#[derive(Debug, Clone, Default)]
pub struct TransferBatch {
    pub first: TransferId,
    pub src: Vec<AddrId>,
    pub dst: Vec<AddrId>,
    pub asset: Vec<AssetId>,
    pub amount: Vec<Amount>,
    pub timestamp: Vec<i64>,
    /// The reader's promise that it reads the graph once, in order (a
    /// sweep): a store may then unmap the rows behind the read, so a pass
    /// over the whole store does not keep all its pages in the process.
    /// Off by default, because unmapping drops pages another reader of
    /// the same mapping may be using. Kept by [`TransferBatch::clear`].
    pub sequential: bool,
}

impl TransferBatch {
    /// An empty batch for a sequential scan (see [`TransferBatch::sequential`]).
    pub fn sequential() -> Self {
        TransferBatch {
            sequential: true,
            ..TransferBatch::default()
        }
    }

    pub fn len(&self) -> usize {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    pub fn clear(&mut self) {
        self.src.clear();
        self.dst.clear();
        self.asset.clear();
        self.amount.clear();
        self.timestamp.clear();
    }

    pub fn push(&mut self, r: &TransferRow) {
        self.src.push(r.src);
        self.dst.push(r.dst);
        self.asset.push(r.asset);
        self.amount.push(r.amount);
        self.timestamp.push(r.timestamp);
    }
}

/// Read-only view of a transfer graph. Implemented by the on-disk store (and
/// by in-memory graphs in tests); walked by the taint engine, which therefore
/// never touches files.
///
/// Contract: transfer ids are dense `0..transfer_count()` and ascending ids are
/// chain order, so "later than" is a comparison of ids. `outgoing`/`incoming`
/// yield ids in ascending order.
pub trait TransferGraph {
    fn address_count(&self) -> usize;
    fn transfer_count(&self) -> u64;
    fn transfer(&self, id: TransferId) -> TransferRow;
    fn outgoing(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_;
    fn incoming(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_;
    fn address(&self, id: AddrId) -> Address;
    fn lookup(&self, addr: &Address) -> Option<AddrId>;
    fn tx_hash(&self, id: TransferId) -> TxHash;
    fn asset_count(&self) -> usize;
    /// `None` for [`NATIVE_ASSET`].
    fn token(&self, asset: AssetId) -> Option<TokenInfo>;
    fn labels(&self, addr: AddrId) -> Vec<Label>;
    /// `false` only if `addr` certainly has no labels, so a walk that creates
    /// a node per reached address can skip `labels()` (an address decode and
    /// a lookup) for the vast majority. The default always says "maybe".
    fn may_have_labels(&self, _addr: AddrId) -> bool {
        true
    }
    /// The bitmap behind [`may_have_labels`](Self::may_have_labels), where
    /// the implementation keeps one, so that a walk can test (and prefetch)
    /// the bit inline: bit `a % 64` of word `a / 64` is set for every
    /// address `a` that may have labels; an address past its end has none.
    /// `None` (the default) means: ask `may_have_labels`.
    fn labelled_bits(&self) -> Option<&[u64]> {
        None
    }
    /// `false` only if transfer `id` certainly shares its transaction with
    /// no other transfer, so it cannot be part of a swap and the swap check
    /// need not decode its neighbours. The default always says "maybe";
    /// stores answer from their transaction-start bits.
    fn may_share_tx(&self, _id: TransferId) -> bool {
        true
    }
    /// Whether `addr` is a UTXO transaction node ([`Address::Tx`]). Stores
    /// answer without decoding the address when the chain has none.
    fn is_tx_node(&self, addr: AddrId) -> bool {
        matches!(self.address(addr), Address::Tx(_))
    }
    /// Clears `batch` and fills it with up to `max` transfers from `start` on
    /// (fewer at the end of the graph, or where an implementation's storage
    /// unit ends); returns how many. `0` means `start >= transfer_count()`.
    /// The default reads row by row; stores override it with column copies.
    fn read_batch(&self, start: TransferId, max: usize, batch: &mut TransferBatch) -> usize {
        batch.clear();
        batch.first = start;
        let end = self.transfer_count().min(start.saturating_add(max as u64));
        for id in start..end {
            batch.push(&self.transfer(id));
        }
        batch.len()
    }
    /// Like [`read_batch`](Self::read_batch), for a walk that needs no
    /// amounts, only whether each is at least `min`: sets `at_least` to one
    /// bit per row (bit `k % 64` of word `k / 64` for row `k`), set where the
    /// row's amount is `>= min`. `batch.amount` may be left empty, and so
    /// may `batch.timestamp` unless `timestamps`; the other columns are
    /// filled as by `read_batch`. The default calls `read_batch`; stores
    /// override it to skip widening every amount to 256 bits.
    fn read_batch_at_least(
        &self,
        start: TransferId,
        max: usize,
        min: Amount,
        timestamps: bool,
        batch: &mut TransferBatch,
        at_least: &mut Vec<u64>,
    ) -> usize {
        let _ = timestamps;
        let len = self.read_batch(start, max, batch);
        at_least.clear();
        at_least.extend(batch.amount.chunks(64).map(|rows| {
            rows.iter()
                .enumerate()
                .fold(0u64, |m, (k, a)| m | u64::from(*a >= min) << k)
        }));
        len
    }
    /// Bitcoin inputs: the transfer (an output record) this input spends, if known.
    fn spent_output(&self, _input: TransferId) -> Option<TransferId> {
        None
    }
}
