//! What a trace returns: nodes, flows, swaps, spam hits and per-asset totals.

use std::collections::BTreeMap;

use serde::Serialize;
use tripoint_chain::{AddrId, Amount, AssetId, Category, TransferId};

use super::{Flows, TaintPolicy};
use crate::fxhash::FxHashMap;
use crate::spam::SpamReason;

/// How an address takes part in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Seed,
    /// Received taint and its payments are followed.
    Walked,
    /// Terminal category: taint arriving here is reported, not followed.
    Endpoint,
    /// A DEX router or pool: taint crosses assets through it (swap rule).
    Dex,
}

/// An address reached by taint.
#[derive(Debug, Clone)]
pub struct Node {
    pub addr: AddrId,
    pub role: Role,
    pub hops: u32,
    /// First transfer that brought taint (for seeds: the first from the start time).
    pub first: Option<TransferId>,
    /// Terminal category, for endpoints. Boxed: most nodes have none, and
    /// a node is 40 bytes instead of 56 (a trace at 5×10^8 transfers
    /// keeps ~50 M of them).
    pub category: Option<Box<Category>>,
    pub(crate) is_tx: bool,
    pub(crate) tiho_allocated: bool,
    /// Whether [`Counterparties`] holds any real counterparty of this node
    /// (most nodes have none: the look-alike test then decodes nothing).
    pub(crate) has_counterparties: bool,
}

/// Real counterparties of the trace's nodes by look-alike key: (node,
/// key) -> address, in one table for the whole trace. A map per node cost
/// a heap allocation each and a dependent miss per look-up (9 % of a
/// 450 k-address trace with the look-alike rule on).
///
/// The table is split into [`COUNTERPARTY_SHARDS`] maps by node, so that
/// growing it never holds two copies of the whole table: a hash map grows
/// by moving into one twice its size, and at 5×10^8 transfers (~150 M
/// entries, ~3 GiB) one growth of a single map would have needed 1.5× that
/// again for a moment. A shard grows alone, so the peak is the table plus
/// one shard's growth.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counterparties(Vec<FxHashMap<(u32, u32), AddrId>>);

/// Maps of [`Counterparties`] (a node's entries are all in shard `node % 256`).
pub(crate) const COUNTERPARTY_SHARDS: usize = 256;

impl Counterparties {
    pub(crate) fn get(&self, node: u32, key: u32) -> Option<AddrId> {
        // No shards before the first entry.
        let shard = self.0.get(node as usize % COUNTERPARTY_SHARDS)?;
        shard.get(&(node, key)).copied()
    }
    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|m| m.len()).sum()
    }
    pub(crate) fn heap_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<((u32, u32), AddrId)>() + 1;
        self.0
            .iter()
            .map(|m| match m.capacity() {
                0 => 0,
                c => (c * 8 / 7).next_power_of_two() * bucket,
            })
            .sum()
    }
    /// Keep the first real counterparty seen for a key.
    pub(crate) fn note(&mut self, nodes: &mut [Node], node: u32, key: u32, other: AddrId) {
        if self.0.is_empty() {
            self.0 = vec![FxHashMap::default(); COUNTERPARTY_SHARDS];
        }
        self.0[node as usize % COUNTERPARTY_SHARDS]
            .entry((node, key))
            .or_insert(other);
        nodes[node as usize].has_counterparties = true;
    }
}

/// A transfer that carried taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub id: TransferId,
    pub carried: Amount,
}

/// A spam transfer touching a traced address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamHit {
    pub id: TransferId,
    pub reason: SpamReason,
}

/// Taint moved across assets by a DEX swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    pub trader: AddrId,
    /// The transfer into the DEX.
    pub input: TransferId,
    pub input_taint: Amount,
    /// Transfers back to the trader in the same transaction, with the taint each carries.
    pub outputs: Vec<(TransferId, Amount)>,
}

/// Per-asset books of a trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Taint created by seeds paying out from the start time on.
    pub seeded: Amount,
    /// Still held by walked addresses (and seeds) at the end.
    pub held: Amount,
    /// Arrived at endpoints (terminal categories, unmatched DEX deposits).
    pub exited: Amount,
    /// Dropped because one transfer carried less than the dust threshold.
    pub dust: Amount,
    /// Dropped because the receiver is beyond the maximum hop distance.
    pub beyond_hops: Amount,
    /// Paid out in spam transfers (e.g. to a look-alike address), which carry none.
    pub spam: Amount,
    /// Arrived through a DEX swap from another asset.
    pub swapped_in: Amount,
    /// Left into a DEX swap towards another asset.
    pub swapped_out: Amount,
}

impl Totals {
    /// Does `seeded + swapped_in = held + exited + dust + beyond_hops + spam + swapped_out`?
    pub fn reconciles(&self) -> bool {
        let lhs = self.seeded.checked_add(self.swapped_in);
        let rhs = [
            self.exited,
            self.dust,
            self.beyond_hops,
            self.spam,
            self.swapped_out,
        ]
        .iter()
        .try_fold(self.held, |acc, x| acc.checked_add(*x));
        lhs.is_some() && lhs == rhs
    }

    /// `unaccounted` of the report: taint dropped by limits and spam.
    pub fn unaccounted(&self) -> Amount {
        self.dust + self.beyond_hops + self.spam
    }
}

/// What a trace found. Read it through [`crate::report`].
#[derive(Debug, Clone)]
pub struct TraceResult {
    pub policy: TaintPolicy,
    pub nodes: Vec<Node>,
    pub(crate) node_of: NodeIndex,
    /// Every transfer that carried taint, in processing (chain) order,
    /// packed (10–12 bytes a flow instead of 48; read them with `iter()`).
    pub flows: Flows,
    /// Cumulative taint received per (address, asset); for seeds, taint created.
    pub received: NodeAmounts,
    /// Taint still held per (address, asset) at the end.
    pub held: NodeAmounts,
    pub spam: Vec<SpamHit>,
    pub swaps: Vec<Swap>,
    pub totals: BTreeMap<AssetId, Totals>,
    /// Transfers the engine looked at.
    pub visited: u64,
    /// Which engine computed this (content never depends on it; cost does).
    pub engine: EngineKind,
}

/// The engine that produced a [`TraceResult`]: the fast sweep kernel must
/// give the general engine's result exactly, so this tells only the cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    SparseWalk,
    GeneralSweep,
    SweepKernel,
    /// Poison's reached set only ([`crate::reached`]).
    ReachKernel,
}

impl TraceResult {
    pub fn node(&self, addr: AddrId) -> Option<&Node> {
        self.node_of.get(addr).map(|i| &self.nodes[i as usize])
    }
    /// Addresses that received (or, for seeds, sent) taint, seeds included.
    pub fn reached(&self) -> impl Iterator<Item = AddrId> + '_ {
        self.nodes.iter().map(|n| n.addr)
    }
    /// Taint carried by one transfer, if any.
    pub fn carried(&self) -> FxHashMap<TransferId, Amount> {
        self.flows.iter().map(|f| (f.id, f.carried)).collect()
    }
    /// Taint `addr` received per asset (for seeds: created), ascending asset.
    pub fn received_of(&self, addr: AddrId) -> AmountsOf<'_> {
        self.node_of
            .get(addr)
            .map_or(AmountsOf::default(), |i| self.received.of_node(i as usize))
    }
    /// Taint `addr` still holds per asset, ascending asset.
    pub fn held_of(&self, addr: AddrId) -> AmountsOf<'_> {
        self.node_of
            .get(addr)
            .map_or(AmountsOf::default(), |i| self.held.of_node(i as usize))
    }
    /// Free the flows and the address -> node index, for a writer that
    /// has written the flows and still needs the nodes and their amounts:
    /// at 5×10^8 transfers they are ~2.4 GiB of a large-reach result.
    /// After it `flows` is empty and the by-address look-ups
    /// ([`Self::node`], [`Self::received_of`], [`Self::held_of`]) find
    /// nothing; the nodes and per-node amounts are untouched.
    pub fn release_flows_and_index(&mut self) {
        self.flows = Flows::default();
        self.node_of = NodeIndex::Sparse(FxHashMap::default());
    }
}

/// Amounts per (node, asset) of a trace, grouped by node in node order and
/// ascending asset within a node. The sweep kernel writes it in one pass
/// over its dense state; a hash map of (address, asset) keys cost it more
/// than the pass itself at 10^7 transfers. An entry is 16 bytes (asset and
/// a 96-bit amount; a wider amount is kept aside): as `(AssetId, Amount)`
/// it was 48, and a trace that reaches ~50 M addresses at 5×10^8
/// transfers has ~90 M entries.
#[derive(Clone, Default)]
pub struct NodeAmounts {
    /// Node `i`'s entries are `items[start[i]..start[i + 1]]`.
    start: Vec<u32>,
    items: Vec<NodeAmount>,
    /// Amounts of 96 bits or more.
    wide: Vec<Amount>,
}

/// One entry of [`NodeAmounts`]: the amount's low 64 bits and next 32,
/// or with `hi ==` [`WIDE_AMOUNT`] the index of the amount in
/// `NodeAmounts::wide`.
#[derive(Debug, Clone, Copy)]
struct NodeAmount {
    lo: u64,
    hi: u32,
    asset: AssetId,
}

const WIDE_AMOUNT: u32 = u32::MAX;

/// The entries of one node of a [`NodeAmounts`], `(asset, amount)` in
/// ascending asset ([`NodeAmounts::of_node`]).
#[derive(Clone, Default)]
pub struct AmountsOf<'a> {
    items: std::slice::Iter<'a, NodeAmount>,
    wide: &'a [Amount],
}

impl Iterator for AmountsOf<'_> {
    type Item = (AssetId, Amount);
    #[inline]
    fn next(&mut self) -> Option<(AssetId, Amount)> {
        let e = self.items.next()?;
        Some((e.asset, amount_of(e, self.wide)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for AmountsOf<'_> {}

#[inline]
fn amount_of(e: &NodeAmount, wide: &[Amount]) -> Amount {
    if e.hi == WIDE_AMOUNT {
        wide[e.lo as usize]
    } else {
        Amount::from(u128::from(e.hi) << 64 | u128::from(e.lo))
    }
}

impl PartialEq for NodeAmounts {
    fn eq(&self, o: &Self) -> bool {
        self.start == o.start && self.iter().eq(o.iter())
    }
}

impl Eq for NodeAmounts {}

impl std::fmt::Debug for NodeAmounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl NodeAmounts {
    /// Entries of node `i` (index into [`TraceResult::nodes`]).
    pub fn of_node(&self, i: usize) -> AmountsOf<'_> {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => AmountsOf {
                items: self.items[a as usize..b as usize].iter(),
                wide: &self.wide,
            },
            _ => AmountsOf::default(),
        }
    }
    /// Number of (node, asset) entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// `(node index, asset, amount)` in node order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, AssetId, Amount)> + '_ {
        self.start.windows(2).enumerate().flat_map(move |(i, w)| {
            self.items[w[0] as usize..w[1] as usize]
                .iter()
                .map(move |e| (i, e.asset, amount_of(e, &self.wide)))
        })
    }
    pub(crate) fn with_capacity(nodes: usize, items: usize) -> Self {
        let mut start = Vec::with_capacity(nodes + 1);
        start.push(0);
        NodeAmounts {
            start,
            items: Vec::with_capacity(items),
            wide: Vec::new(),
        }
    }
    /// Append an entry of the node being built (see [`Self::end_node`]).
    #[inline]
    pub(crate) fn push(&mut self, asset: AssetId, amount: Amount) {
        let (hi, lo) = amount.into_words();
        let e = if hi == 0 && (lo >> 64) < u128::from(WIDE_AMOUNT) {
            NodeAmount {
                lo: lo as u64,
                hi: (lo >> 64) as u32,
                asset,
            }
        } else {
            self.wide.push(amount);
            NodeAmount {
                lo: self.wide.len() as u64 - 1,
                hi: WIDE_AMOUNT,
                asset,
            }
        };
        self.items.push(e);
    }
    /// Close the current node: its entries are sorted by asset.
    #[inline]
    pub(crate) fn end_node(&mut self) {
        let a = *self.start.last().expect("start has a first entry") as usize;
        let slice = &mut self.items[a..];
        if slice.len() > 1 {
            slice.sort_unstable_by_key(|e| e.asset);
        }
        self.start.push(self.items.len() as u32);
    }
    /// Group a map keyed by (address, asset) by node; every address must
    /// be a node.
    pub(crate) fn from_map(
        m: &FxHashMap<(AddrId, AssetId), Amount>,
        index: &NodeIndex,
        nodes: usize,
    ) -> Self {
        let mut per: Vec<Vec<(AssetId, Amount)>> = vec![Vec::new(); nodes];
        for (&(addr, asset), &v) in m {
            let i = index.get(addr).expect("amounts are kept for nodes only");
            per[i as usize].push((asset, v));
        }
        let mut out = NodeAmounts::with_capacity(nodes, m.len());
        for v in per {
            for (a, x) in v {
                out.push(a, x);
            }
            out.end_node();
        }
        out
    }
}

/// Address id -> node index; dense for sweeps, hashed for sparse traces.
#[derive(Debug, Clone)]
pub(crate) enum NodeIndex {
    Dense(Vec<u32>),
    Sparse(FxHashMap<AddrId, u32>),
}

impl NodeIndex {
    /// The index of `nodes` (node `k` is `nodes[k]`) over a graph of
    /// `addresses` addresses: dense (4 bytes per address) when the nodes
    /// are more than a quarter of the addresses, else hashed (about 16
    /// bytes per node), so a small trace of a huge graph keeps nothing per
    /// address of the graph.
    pub(crate) fn of_nodes(nodes: &[Node], addresses: usize) -> NodeIndex {
        if nodes.len() * 4 > addresses {
            let mut v = vec![u32::MAX; addresses];
            for (k, n) in nodes.iter().enumerate() {
                v[n.addr as usize] = k as u32;
            }
            NodeIndex::Dense(v)
        } else {
            NodeIndex::Sparse(
                nodes
                    .iter()
                    .enumerate()
                    .map(|(k, n)| (n.addr, k as u32))
                    .collect(),
            )
        }
    }

    #[inline]
    pub(crate) fn get(&self, a: AddrId) -> Option<u32> {
        match self {
            NodeIndex::Dense(v) => match v.get(a as usize) {
                Some(&i) if i != u32::MAX => Some(i),
                _ => None,
            },
            NodeIndex::Sparse(m) => m.get(&a).copied(),
        }
    }
    pub(crate) fn insert(&mut self, a: AddrId, i: u32) {
        match self {
            NodeIndex::Dense(v) => {
                if v.len() <= a as usize {
                    v.resize(a as usize + 1, u32::MAX);
                }
                v[a as usize] = i;
            }
            NodeIndex::Sparse(m) => {
                m.insert(a, i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sharded table answers as one map would: the first real
    /// counterparty per (node, key), nothing for keys never noted, and
    /// every node's entries in one shard whatever the node's index.
    #[test]
    fn counterparties_keep_the_first_per_node_and_key() {
        let nodes_n = 3 * COUNTERPARTY_SHARDS as u32 + 7;
        let mut nodes: Vec<Node> = (0..nodes_n)
            .map(|a| Node {
                addr: a,
                role: Role::Walked,
                hops: 0,
                first: None,
                category: None,
                is_tx: false,
                tiho_allocated: false,
                has_counterparties: false,
            })
            .collect();
        let mut table = Counterparties::default();
        assert_eq!(table.get(0, 0), None, "empty before the first entry");
        let mut plain: FxHashMap<(u32, u32), AddrId> = FxHashMap::default();
        let mut x = 1u64;
        for _ in 0..50_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let node = (x >> 33) as u32 % nodes_n;
            let key = (x >> 20) as u32 % 61;
            let other = (x >> 7) as u32 % 1000;
            table.note(&mut nodes, node, key, other);
            plain.entry((node, key)).or_insert(other);
        }
        assert_eq!(table.len(), plain.len());
        for node in 0..nodes_n {
            for key in 0..64 {
                assert_eq!(table.get(node, key), plain.get(&(node, key)).copied());
            }
            assert_eq!(
                nodes[node as usize].has_counterparties,
                (0..61).any(|k| plain.contains_key(&(node, k)))
            );
        }
        assert!(table.heap_bytes() >= plain.len() * 13);
    }

    /// Amounts keep every bit in 16-byte entries: 96-bit ones in place,
    /// wider ones (from 2^96 - 2^64 on) aside; entries per node come
    /// back in ascending asset.
    #[test]
    fn node_amounts_keep_every_amount_exactly() {
        let edge = (u128::from(u32::MAX) << 64) - 1;
        let amounts = [
            Amount::ZERO,
            Amount::ONE,
            Amount::from(u64::MAX),
            Amount::from(edge),
            Amount::from(edge + 1),
            Amount::from(u128::MAX),
            Amount::MAX,
        ];
        let mut m = NodeAmounts::with_capacity(3, 0);
        let mut want = Vec::new();
        for node in 0..3usize {
            for (k, &a) in amounts.iter().enumerate().rev() {
                if (k + node) % 3 != 0 {
                    m.push(k as AssetId, a);
                    want.push((node, k as AssetId, a));
                }
            }
            m.end_node();
        }
        want.sort_by_key(|e| (e.0, e.1));
        assert_eq!(m.iter().collect::<Vec<_>>(), want);
        assert_eq!(m.len(), want.len());
        for node in 0..3 {
            let of: Vec<_> = m.of_node(node).collect();
            let expected: Vec<_> = want
                .iter()
                .filter(|e| e.0 == node)
                .map(|e| (e.1, e.2))
                .collect();
            assert_eq!(of, expected, "node {node}");
            assert_eq!(m.of_node(node).len(), expected.len());
        }
        assert_eq!(m.of_node(3).count(), 0, "past the last node");
        assert_eq!(std::mem::size_of::<NodeAmount>(), 16);
        assert_eq!(
            m.wide.len(),
            3 * 2,
            "only amounts from 2^96 - 2^64 on kept aside"
        );
    }
}
