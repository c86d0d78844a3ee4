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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use serde::Serialize;
use thiserror::Error;
use tripoint_chain::{
    AddrId, Amount, AssetId, Category, TransferGraph, TransferId, TransferRow, NATIVE_ASSET,
};

use crate::fxhash::FxHashMap;
use crate::spam::{lookalike_key, SpamReason, SpamRules};

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
}

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
    /// Terminal category, for endpoints.
    pub category: Option<Category>,
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
#[derive(Debug, Default, Clone)]
pub(crate) struct Counterparties(FxHashMap<(u32, u32), AddrId>);

impl Counterparties {
    pub(crate) fn get(&self, node: u32, key: u32) -> Option<AddrId> {
        self.0.get(&(node, key)).copied()
    }
    /// Keep the first real counterparty seen for a key.
    pub(crate) fn note(&mut self, nodes: &mut [Node], node: u32, key: u32, other: AddrId) {
        self.0.entry((node, key)).or_insert(other);
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
    /// Every transfer that carried taint, in processing (chain) order.
    pub flows: Vec<Flow>,
    /// Cumulative taint received per (address, asset); for seeds, taint created.
    pub received: NodeAmounts,
    /// Taint still held per (address, asset) at the end.
    pub held: NodeAmounts,
    pub spam: Vec<SpamHit>,
    pub swaps: Vec<Swap>,
    pub totals: BTreeMap<AssetId, Totals>,
    /// Transfers the engine looked at.
    pub visited: u64,
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
    pub fn received_of(&self, addr: AddrId) -> &[(AssetId, Amount)] {
        self.node_of
            .get(addr)
            .map_or(&[], |i| self.received.of_node(i as usize))
    }
    /// Taint `addr` still holds per asset, ascending asset.
    pub fn held_of(&self, addr: AddrId) -> &[(AssetId, Amount)] {
        self.node_of
            .get(addr)
            .map_or(&[], |i| self.held.of_node(i as usize))
    }
}

/// Amounts per (node, asset) of a trace, grouped by node in node order and
/// ascending asset within a node. The sweep kernel writes it in one pass
/// over its dense state; a hash map of (address, asset) keys cost it more
/// than the pass itself at 10^7 transfers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeAmounts {
    /// Node `i`'s entries are `items[start[i]..start[i + 1]]`.
    start: Vec<u32>,
    items: Vec<(AssetId, Amount)>,
}

impl NodeAmounts {
    /// Entries of node `i` (index into [`TraceResult::nodes`]).
    pub fn of_node(&self, i: usize) -> &[(AssetId, Amount)] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
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
                .map(move |&(a, v)| (i, a, v))
        })
    }
    pub(crate) fn with_capacity(nodes: usize, items: usize) -> Self {
        let mut start = Vec::with_capacity(nodes + 1);
        start.push(0);
        NodeAmounts {
            start,
            items: Vec::with_capacity(items),
        }
    }
    /// Append an entry of the node being built (see [`Self::end_node`]).
    #[inline]
    pub(crate) fn push(&mut self, asset: AssetId, amount: Amount) {
        self.items.push((asset, amount));
    }
    /// Close the current node: its entries are sorted by asset.
    #[inline]
    pub(crate) fn end_node(&mut self) {
        let a = *self.start.last().expect("start has a first entry") as usize;
        let slice = &mut self.items[a..];
        if slice.len() > 1 {
            slice.sort_unstable_by_key(|e| e.0);
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lot {
    amount: Amount,
    tainted: bool,
}

/// One (address, asset) balance as the engine sees it.
#[derive(Debug, Clone, Default)]
struct Account {
    balance: Amount,
    taint: Amount,
    /// FIFO/LIFO only: front = oldest.
    lots: VecDeque<Lot>,
}

/// `floor(x·y/z)`, capped at `cap`. Callers guarantee the exact result fits
/// (`x ≤ z` or `y ≤ z`). When `x·y` overflows 256 bits (token amounts near
/// 2^128 and beyond) the operands are shifted down first: the split is then
/// approximate, but conservation is not affected because the remainder always
/// stays with the payer.
pub fn mul_div_floor(x: Amount, y: Amount, z: Amount, cap: Amount) -> Amount {
    if z == Amount::ZERO {
        return cap;
    }
    match x.checked_mul(y) {
        Some(p) => (p / z).min(cap),
        None => {
            let bits = (256 - x.leading_zeros()) + (256 - y.leading_zeros());
            let shift = bits.saturating_sub(255);
            let (x2, z2) = (x >> shift, (z >> shift).max(Amount::ONE));
            (x2.checked_mul(y).map(|p| p / z2).unwrap_or(cap)).min(cap)
        }
    }
}

impl Account {
    fn uses_lots(policy: TaintPolicy) -> bool {
        matches!(policy, TaintPolicy::Fifo | TaintPolicy::Lifo)
    }

    fn push_lot(&mut self, amount: Amount, tainted: bool) {
        if amount == Amount::ZERO {
            return;
        }
        match self.lots.back_mut() {
            Some(l) if l.tainted == tainted => l.amount += amount,
            _ => self.lots.push_back(Lot { amount, tainted }),
        }
    }

    fn credit(&mut self, policy: TaintPolicy, a: Amount, c: Amount) {
        self.balance += a;
        self.taint += c;
        if Self::uses_lots(policy) {
            // Within one receipt the tainted part is queued first.
            self.push_lot(c, true);
            self.push_lot(a - c, false);
        }
    }

    /// Take `a` from the lots at the front (FIFO) or back (LIFO); returns the tainted part.
    fn take_lots(&mut self, mut a: Amount, front: bool) -> Amount {
        let mut c = Amount::ZERO;
        while a > Amount::ZERO {
            let lot = if front {
                self.lots.front_mut()
            } else {
                self.lots.back_mut()
            };
            let Some(lot) = lot else { break };
            let take = lot.amount.min(a);
            lot.amount -= take;
            a -= take;
            if lot.tainted {
                c += take;
            }
            if lot.amount == Amount::ZERO {
                if front {
                    self.lots.pop_front();
                } else {
                    self.lots.pop_back();
                }
            }
        }
        c
    }

    /// Pay `a` out; returns the taint it carries under `policy`.
    fn debit(&mut self, policy: TaintPolicy, a: Amount) -> Amount {
        let c = match policy {
            TaintPolicy::Poison => {
                self.balance = self.balance.saturating_sub(a);
                return if self.taint > Amount::ZERO {
                    a
                } else {
                    Amount::ZERO
                };
            }
            TaintPolicy::Haircut => {
                if a >= self.balance {
                    self.taint
                } else {
                    mul_div_floor(a, self.taint, self.balance, self.taint)
                }
            }
            TaintPolicy::Tiho => a.min(self.taint),
            TaintPolicy::Fifo => self.take_lots(a, true),
            TaintPolicy::Lifo => self.take_lots(a, false),
        };
        self.taint -= c;
        self.balance = self.balance.saturating_sub(a);
        c
    }

    /// Pay `a` out of which exactly `c` is tainted (a Bitcoin input spending
    /// a known output, or a precomputed TIHO allocation).
    fn debit_exact(&mut self, policy: TaintPolicy, a: Amount, c: Amount) -> Amount {
        if policy == TaintPolicy::Poison {
            self.balance = self.balance.saturating_sub(a);
            return if c > Amount::ZERO { a } else { Amount::ZERO };
        }
        let c = c.min(self.taint).min(a);
        if Self::uses_lots(policy) {
            // Remove the tainted and the clean part from lots of their kind, oldest first.
            let mut rest = [(c, true), (a - c, false)];
            for (want, kind) in rest.iter_mut() {
                let mut i = 0;
                while *want > Amount::ZERO && i < self.lots.len() {
                    if self.lots[i].tainted == *kind {
                        let take = self.lots[i].amount.min(*want);
                        self.lots[i].amount -= take;
                        *want -= take;
                    }
                    i += 1;
                }
            }
            self.lots.retain(|l| l.amount > Amount::ZERO);
        }
        self.taint -= c;
        self.balance = self.balance.saturating_sub(a);
        c
    }

    /// Turn up to `c` of clean balance into taint (a swap output that was
    /// received before the swap input was seen); returns the amount moved.
    fn retaint(&mut self, policy: TaintPolicy, c: Amount) -> Amount {
        if policy == TaintPolicy::Poison {
            self.taint += c;
            return c;
        }
        let m = c.min(self.balance - self.taint.min(self.balance));
        if Self::uses_lots(policy) {
            let mut want = m;
            for l in self.lots.iter_mut().rev() {
                if want == Amount::ZERO {
                    break;
                }
                if !l.tainted {
                    let take = l.amount.min(want);
                    l.amount -= take;
                    want -= take;
                }
            }
            self.lots.retain(|l| l.amount > Amount::ZERO);
            self.push_lot(m, true);
        }
        self.taint += m;
        m
    }
}

/// Address id -> node index; dense for sweeps, hashed for sparse traces.
#[derive(Debug, Clone)]
pub(crate) enum NodeIndex {
    Dense(Vec<u32>),
    Sparse(FxHashMap<AddrId, u32>),
}

impl NodeIndex {
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
    fn insert(&mut self, a: AddrId, i: u32) {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Plain,
    Terminal,
    Dex,
}

struct Engine<'a, G: TransferGraph> {
    g: &'a G,
    cfg: &'a TraceConfig,
    /// Priority-queue walk (else a row-by-row sweep).
    sparse: bool,
    index: NodeIndex,
    nodes: Vec<Node>,
    accounts: FxHashMap<(AddrId, AssetId), Account>,
    carried: FxHashMap<TransferId, Amount>,
    flows: Vec<Flow>,
    /// Taint fixed in advance for a transfer: swap outputs, TIHO transaction splits.
    preset: FxHashMap<TransferId, Amount>,
    counterparties: Counterparties,
    totals: BTreeMap<AssetId, Totals>,
    received: FxHashMap<(AddrId, AssetId), Amount>,
    spam: Vec<SpamHit>,
    swaps: Vec<Swap>,
    heap: BinaryHeap<Reverse<TransferId>>,
    class: FxHashMap<AddrId, (Class, Option<Category>)>,
    token_spam: Vec<Option<SpamReason>>,
    visited: u64,
    /// Sweep only: clean balances of every not-yet-walked address, kept up
    /// to date as the pass goes, so walking an address needs no replay.
    pre: Option<PreBalances>,
}

/// Balances of addresses the sweep has not started to walk: dense for the
/// native coin, sparse for tokens.
struct PreBalances {
    native: Vec<Amount>,
    tokens: FxHashMap<AddrId, Vec<(AssetId, Amount)>>,
}

impl PreBalances {
    fn slot(&mut self, a: AddrId, asset: AssetId) -> &mut Amount {
        if asset == NATIVE_ASSET {
            return &mut self.native[a as usize];
        }
        let v = self.tokens.entry(a).or_default();
        let i = match v.iter().position(|(x, _)| *x == asset) {
            Some(i) => i,
            None => {
                v.push((asset, Amount::ZERO));
                v.len() - 1
            }
        };
        &mut v[i].1
    }
}

/// Run a trace. [`Traversal::Sweep`] uses the fast sweep kernels
/// ([`crate::sweep`]) when they cover the configuration and the general
/// engine otherwise; [`Traversal::Auto`] starts sparse and restarts as a
/// sweep once the sparse walk has done more work than a sweep would.
pub fn trace<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> Result<TraceResult, TraceError> {
    if cfg.seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    match cfg.traversal {
        Traversal::Sparse => Ok(run_general(g, cfg, true, None).expect("no budget")),
        Traversal::Sweep => Ok(sweep_or_general(g, cfg)),
        Traversal::Auto => {
            let budget = cfg
                .sparse_budget
                .unwrap_or_else(|| auto_sparse_budget(g.transfer_count()));
            match run_general(g, cfg, true, Some(budget)) {
                Some(r) => Ok(r),
                None => Ok(sweep_or_general(g, cfg)),
            }
        }
    }
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
    match crate::sweep::run(g, cfg) {
        Some(r) => r,
        None => run_general(g, cfg, false, None).expect("no budget"),
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
    Ok(run_general(g, cfg, sparse, None).expect("no budget"))
}

/// `None` when a sparse walk pops more than `budget` transfers.
fn run_general<G: TransferGraph>(
    g: &G,
    cfg: &TraceConfig,
    sparse: bool,
    budget: Option<u64>,
) -> Option<TraceResult> {
    let mut e = Engine::start(g, cfg, sparse);
    if sparse {
        e.drain(budget)?;
    } else {
        let start = first_at_or_after(g, cfg.from);
        e.pre = Some(PreBalances {
            native: vec![Amount::ZERO; g.address_count()],
            tokens: FxHashMap::default(),
        });
        // Before the start only balances move (seeds were replayed up to it).
        for id in 0..start {
            let r = g.transfer(id);
            e.pre_update(&r);
        }
        for id in start..g.transfer_count() {
            let r = g.transfer(id);
            let go = e.step(id, &r);
            e.pre_update(&r);
            if !go {
                break;
            }
        }
    }
    Some(e.finish())
}

/// The state of a sparse walk between two calls, without the graph: what
/// [`crate::live::LiveTrace`] keeps from one block to the next. The heap is
/// empty whenever a walk is parked (every queued transfer was processed).
#[derive(Debug, Clone)]
pub(crate) struct Parked {
    index: NodeIndex,
    nodes: Vec<Node>,
    accounts: FxHashMap<(AddrId, AssetId), Account>,
    carried: FxHashMap<TransferId, Amount>,
    flows: Vec<Flow>,
    preset: FxHashMap<TransferId, Amount>,
    counterparties: Counterparties,
    totals: BTreeMap<AssetId, Totals>,
    received: FxHashMap<(AddrId, AssetId), Amount>,
    spam: Vec<SpamHit>,
    swaps: Vec<Swap>,
    class: FxHashMap<AddrId, (Class, Option<Category>)>,
    visited: u64,
}

impl Parked {
    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    pub(crate) fn flows(&self) -> &[Flow] {
        &self.flows
    }
    pub(crate) fn totals(&self) -> &BTreeMap<AssetId, Totals> {
        &self.totals
    }
    pub(crate) fn node_index(&self, a: AddrId) -> Option<u32> {
        self.index.get(a)
    }

    /// Whether the walk would look at transfer `r` (the same rule by which a
    /// sparse walk queues the later transfers of an address it walks).
    pub(crate) fn wants(&self, cfg: &TraceConfig, r: &TransferRow) -> bool {
        let active = |a: AddrId| {
            self.index
                .get(a)
                .is_some_and(|i| matches!(self.nodes[i as usize].role, Role::Seed | Role::Walked))
        };
        active(r.src)
            || ((cfg.policy != TaintPolicy::Poison || cfg.spam.lookalike) && active(r.dst))
    }

    /// The result as the batch engine would report it.
    pub(crate) fn finish(self, policy: TaintPolicy) -> TraceResult {
        let mut totals = self.totals;
        let mut held: FxHashMap<(AddrId, AssetId), Amount> = FxHashMap::default();
        for (&(addr, asset), acct) in &self.accounts {
            if acct.taint > Amount::ZERO {
                held.insert((addr, asset), acct.taint);
                if policy != TaintPolicy::Poison {
                    totals.entry(asset).or_default().held += acct.taint;
                }
            }
        }
        let received = NodeAmounts::from_map(&self.received, &self.index, self.nodes.len());
        let held = NodeAmounts::from_map(&held, &self.index, self.nodes.len());
        TraceResult {
            policy,
            nodes: self.nodes,
            node_of: self.index,
            flows: self.flows,
            received,
            held,
            spam: self.spam,
            swaps: self.swaps,
            totals,
            visited: self.visited,
        }
    }
}

/// Start a sparse walk over `g` (seeds registered, the heap drained), or
/// continue a parked one with the transfers `ids` (ascending, all later
/// than any the walk has seen); `None` when a transfer lies past
/// `cfg.until` (the walk is over for good).
pub(crate) fn walk_on<G: TransferGraph>(
    g: &G,
    cfg: &TraceConfig,
    parked: Option<Parked>,
    ids: &[TransferId],
) -> (Parked, bool) {
    let mut e = match parked {
        None => Engine::start(g, cfg, true),
        Some(p) => Engine::resume(g, cfg, p),
    };
    e.heap.extend(ids.iter().map(|&id| Reverse(id)));
    let go = e.drain(None).expect("no budget");
    (e.park(), go)
}

/// The swap rule's taint on one output of `b` in another asset, for taint
/// `c` on an input of `a`: `⌊b·c/a⌋` (value-weighted, exact), or all of `b`
/// under poison. Both engines book swaps through it.
pub(crate) fn swap_share(policy: TaintPolicy, b: Amount, c: Amount, a: Amount) -> Amount {
    if policy == TaintPolicy::Poison {
        b
    } else {
        mul_div_floor(b, c, a.max(c), b)
    }
}

/// Candidate swap outputs for a DEX deposit `input` (row `r`): transfers of
/// another asset (non-zero, not a spam token) to the trader in the same
/// transaction. A transaction's transfers are a contiguous id range (ids
/// are chain order), so only that range of the trader's incoming ids is
/// decoded, not its whole history.
pub(crate) fn swap_outputs<G: TransferGraph>(
    g: &G,
    input: TransferId,
    r: &TransferRow,
    token_spam: &[Option<crate::spam::SpamReason>],
) -> Vec<(TransferId, TransferRow)> {
    let same_tx = |id: TransferId| {
        let o = g.transfer(id);
        (o.block, o.tx_index) == (r.block, r.tx_index)
    };
    let mut first = input;
    while first > 0 && same_tx(first - 1) {
        first -= 1;
    }
    let mut end = input + 1;
    while end < g.transfer_count() && same_tx(end) {
        end += 1;
    }
    g.incoming(r.src)
        .skip_while(|&id| id < first)
        .take_while(|&id| id < end)
        .map(|id| (id, g.transfer(id)))
        .filter(|(_, o)| o.asset != r.asset && o.amount > Amount::ZERO)
        .filter(|(_, o)| token_spam.get(o.asset as usize).is_none_or(|v| v.is_none()))
        .collect()
}

/// Why taint on one transfer stops before it reaches the payee. Both the
/// general engine and the sweep kernel decide it here, so they cannot drift.
#[derive(Clone, Copy)]
pub(crate) enum Dropped {
    Spam,
    Dust,
    BeyondHops,
}

impl Dropped {
    pub(crate) fn check(
        cfg: &TraceConfig,
        spam: bool,
        amount: Amount,
        carried: Amount,
        new_hops: u32,
    ) -> Option<Dropped> {
        let poison = cfg.policy == TaintPolicy::Poison;
        if carried == Amount::ZERO {
            None
        } else if spam {
            Some(Dropped::Spam)
        } else if cfg.dust > Amount::ZERO && (if poison { amount } else { carried }) < cfg.dust {
            Some(Dropped::Dust)
        } else if new_hops > cfg.max_hops {
            Some(Dropped::BeyondHops)
        } else {
            None
        }
    }

    /// The `Totals` line the dropped taint is booked to.
    pub(crate) fn bucket(self, t: &mut Totals) -> &mut Amount {
        match self {
            Dropped::Spam => &mut t.spam,
            Dropped::Dust => &mut t.dust,
            Dropped::BeyondHops => &mut t.beyond_hops,
        }
    }
}

/// How labels decide an address's part in a trace: a DEX (swap rule), a
/// terminal (endpoint) or plain.
pub(crate) fn classify_labels(
    labels: &[tripoint_chain::Label],
    cfg: &TraceConfig,
) -> (Class, Option<Category>) {
    let mut out = (Class::Plain, None);
    if let Some(l) = labels.iter().find(|l| cfg.terminal.contains(&l.category)) {
        out = (Class::Terminal, Some(l.category.clone()));
    }
    if labels.iter().any(|l| l.category == Category::Dex) {
        out = (Class::Dex, Some(Category::Dex));
    }
    out
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

impl<'a, G: TransferGraph> Engine<'a, G> {
    /// A fresh engine with the seeds registered (for a sparse walk: their
    /// transfers from the start time on queued).
    fn start(g: &'a G, cfg: &'a TraceConfig, sparse: bool) -> Self {
        let index = if sparse {
            NodeIndex::Sparse(FxHashMap::default())
        } else {
            NodeIndex::Dense(vec![u32::MAX; g.address_count()])
        };
        let mut e = Engine {
            g,
            cfg,
            sparse,
            index,
            nodes: Vec::new(),
            accounts: FxHashMap::default(),
            carried: FxHashMap::default(),
            flows: Vec::new(),
            preset: FxHashMap::default(),
            counterparties: Counterparties::default(),
            totals: BTreeMap::new(),
            received: FxHashMap::default(),
            spam: Vec::new(),
            swaps: Vec::new(),
            heap: BinaryHeap::new(),
            class: FxHashMap::default(),
            token_spam: cfg.spam.token_verdicts(g),
            visited: 0,
            pre: None,
        };
        let start = first_at_or_after(g, cfg.from);
        let mut seeds = cfg.seeds.clone();
        seeds.sort_unstable();
        seeds.dedup();
        for &s in &seeds {
            if e.index.get(s).is_none() {
                e.add_node(s, Role::Seed, 0, None, None, start);
            }
        }
        e
    }

    /// A parked sparse walk over a (possibly grown) graph. Token verdicts
    /// are recomputed: the graph may know tokens it did not know before.
    fn resume(g: &'a G, cfg: &'a TraceConfig, p: Parked) -> Self {
        Engine {
            g,
            cfg,
            sparse: true,
            index: p.index,
            nodes: p.nodes,
            accounts: p.accounts,
            carried: p.carried,
            flows: p.flows,
            preset: p.preset,
            counterparties: p.counterparties,
            totals: p.totals,
            received: p.received,
            spam: p.spam,
            swaps: p.swaps,
            heap: BinaryHeap::new(),
            class: p.class,
            token_spam: cfg.spam.token_verdicts(g),
            visited: p.visited,
            pre: None,
        }
    }

    fn park(self) -> Parked {
        debug_assert!(self.heap.is_empty(), "parked with queued transfers");
        Parked {
            index: self.index,
            nodes: self.nodes,
            accounts: self.accounts,
            carried: self.carried,
            flows: self.flows,
            preset: self.preset,
            counterparties: self.counterparties,
            totals: self.totals,
            received: self.received,
            spam: self.spam,
            swaps: self.swaps,
            class: self.class,
            visited: self.visited,
        }
    }

    /// Sparse walk: process queued transfers in id order. `None` when more
    /// than `budget` were popped; `Some(false)` when the time window ended.
    fn drain(&mut self, budget: Option<u64>) -> Option<bool> {
        let g = self.g;
        let mut last = None;
        let mut popped = 0u64;
        while let Some(Reverse(id)) = self.heap.pop() {
            popped += 1;
            if budget.is_some_and(|b| popped > b) {
                return None;
            }
            if last == Some(id) {
                continue;
            }
            last = Some(id);
            if !self.step(id, &g.transfer(id)) {
                self.heap.clear();
                return Some(false);
            }
        }
        Some(true)
    }

    fn classify(&mut self, a: AddrId) -> (Class, Option<Category>) {
        if let Some(c) = self.class.get(&a) {
            return c.clone();
        }
        let out = if self.g.may_have_labels(a) {
            classify_labels(&self.g.labels(a), self.cfg)
        } else {
            (Class::Plain, None)
        };
        self.class.insert(a, out.clone());
        out
    }

    fn totals(&mut self, asset: AssetId) -> &mut Totals {
        self.totals.entry(asset).or_default()
    }

    /// Register an address; for walked ones, rebuild its balances from its
    /// history before `at` and queue its later transfers.
    fn add_node(
        &mut self,
        addr: AddrId,
        role: Role,
        hops: u32,
        first: Option<TransferId>,
        category: Option<Category>,
        at: TransferId,
    ) -> u32 {
        let i = self.nodes.len() as u32;
        self.index.insert(addr, i);
        let is_tx = matches!(role, Role::Walked | Role::Seed) && self.g.is_tx_node(addr);
        self.nodes.push(Node {
            addr,
            role,
            hops,
            first,
            category,
            is_tx,
            tiho_allocated: false,
            has_counterparties: false,
        });
        if matches!(role, Role::Walked | Role::Seed) {
            if self.pre.is_some() && role == Role::Walked {
                self.adopt_pre(addr);
            } else if self.cfg.policy != TaintPolicy::Poison {
                self.replay(addr, at);
            }
            if self.sparse {
                let g = self.g;
                let later = |id: &TransferId| *id >= at;
                for id in g.outgoing(addr).filter(later) {
                    self.heap.push(Reverse(id));
                }
                // Poison needs no balances: only tainted payments (queued by
                // their payer) and swap outputs (queued by the swap) matter,
                // unless receipts are needed to learn real counterparties
                // for look-alike detection.
                if self.cfg.policy != TaintPolicy::Poison || self.cfg.spam.lookalike {
                    for id in g.incoming(addr).filter(later) {
                        self.heap.push(Reverse(id));
                    }
                }
            }
        }
        i
    }

    /// Sweep: move an address's running clean balances into its accounts.
    fn adopt_pre(&mut self, addr: AddrId) {
        let pre = self.pre.as_mut().expect("sweep");
        let mut bal = vec![(NATIVE_ASSET, std::mem::take(&mut pre.native[addr as usize]))];
        bal.extend(pre.tokens.remove(&addr).unwrap_or_default());
        for (asset, b) in bal {
            if b > Amount::ZERO {
                let acct = self.accounts.entry((addr, asset)).or_default();
                acct.credit(self.cfg.policy, b, Amount::ZERO);
            }
        }
    }

    /// Sweep: apply a transfer to the running balances of the sides not walked.
    fn pre_update(&mut self, r: &TransferRow) {
        if r.src == r.dst {
            return;
        }
        let src_walked = self.is_active(self.index.get(r.src));
        let dst_walked = self.is_active(self.index.get(r.dst));
        let pre = self.pre.as_mut().expect("sweep");
        if !src_walked {
            let b = pre.slot(r.src, r.asset);
            *b = b.saturating_sub(r.amount);
        }
        if !dst_walked {
            *pre.slot(r.dst, r.asset) += r.amount;
        }
    }

    /// Clean balances of `addr` from every transfer before `before`, in chain
    /// order (payments beyond the known balance floor it at zero).
    fn replay(&mut self, addr: AddrId, before: TransferId) {
        let g = self.g;
        let mut ins = g.incoming(addr).take_while(|&id| id < before).peekable();
        let mut outs = g.outgoing(addr).take_while(|&id| id < before).peekable();
        let mut bal: FxHashMap<AssetId, Amount> = FxHashMap::default();
        loop {
            let next_in = ins.peek().copied();
            let next_out = outs.peek().copied();
            let (id, incoming) = match (next_in, next_out) {
                (None, None) => break,
                (Some(i), Some(o)) if i <= o => (ins.next().expect("peeked"), true),
                (Some(_), None) => (ins.next().expect("peeked"), true),
                _ => (outs.next().expect("peeked"), false),
            };
            let r = g.transfer(id);
            let b = bal.entry(r.asset).or_default();
            if r.src == r.dst {
                continue;
            }
            if incoming {
                *b += r.amount;
            } else {
                *b = b.saturating_sub(r.amount);
            }
        }
        for (asset, b) in bal {
            let acct = self.accounts.entry((addr, asset)).or_default();
            acct.credit(self.cfg.policy, b, Amount::ZERO);
        }
    }

    fn spam_reason(
        &self,
        r: &TransferRow,
        src: Option<u32>,
        dst: Option<u32>,
    ) -> Option<SpamReason> {
        if r.asset != NATIVE_ASSET {
            if r.amount == Amount::ZERO {
                return Some(SpamReason::ZeroValue);
            }
            if let Some(Some(reason)) = self.token_spam.get(r.asset as usize) {
                return Some(reason.clone());
            }
        }
        if self.cfg.spam.lookalike {
            // A payment to, or a receipt from, a near-copy of a real counterparty.
            for (me, other) in [(src, r.dst), (dst, r.src)] {
                let Some(me) = me else { continue };
                if !self.nodes[me as usize].has_counterparties {
                    continue;
                }
                if let Some(k) = lookalike_key(&self.g.address(other)) {
                    if matches!(self.counterparties.get(me, k), Some(real) if real != other) {
                        return Some(SpamReason::LookAlikeAddress);
                    }
                }
            }
        }
        None
    }

    fn note_counterparty(&mut self, me: u32, other: AddrId) {
        if !self.cfg.spam.lookalike {
            return;
        }
        if let Some(k) = lookalike_key(&self.g.address(other)) {
            self.counterparties.note(&mut self.nodes, me, k, other);
        }
    }

    fn is_active(&self, n: Option<u32>) -> bool {
        n.is_some_and(|i| matches!(self.nodes[i as usize].role, Role::Seed | Role::Walked))
    }

    /// TIHO in a Bitcoin transaction: taint fills the largest outputs first.
    fn allocate_tiho(&mut self, node: u32, asset: AssetId) {
        let addr = self.nodes[node as usize].addr;
        self.nodes[node as usize].tiho_allocated = true;
        let mut left = self
            .accounts
            .get(&(addr, asset))
            .map(|a| a.taint)
            .unwrap_or_default();
        let mut outs: Vec<(Amount, TransferId)> = self
            .g
            .outgoing(addr)
            .map(|id| (self.g.transfer(id), id))
            .filter(|(r, _)| r.asset == asset)
            .map(|(r, id)| (r.amount, id))
            .collect();
        outs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (amount, id) in outs {
            let c = amount.min(left);
            left -= c;
            self.preset.insert(id, c);
        }
    }

    /// Process one transfer; false when past the time window.
    fn step(&mut self, id: TransferId, r: &TransferRow) -> bool {
        let r = *r;
        if let Some(until) = self.cfg.until {
            if r.timestamp > until {
                return false;
            }
        }
        if r.timestamp < self.cfg.from {
            return true;
        }
        let src = self.index.get(r.src);
        let dst = self.index.get(r.dst);
        let src_active = self.is_active(src);
        let dst_active = self.is_active(dst);
        if !src_active && !dst_active {
            return true;
        }
        self.visited += 1;
        let policy = self.cfg.policy;
        let poison = policy == TaintPolicy::Poison;
        let spam = self.spam_reason(&r, src.filter(|_| src_active), dst.filter(|_| dst_active));
        if let Some(reason) = &spam {
            self.spam.push(SpamHit {
                id,
                reason: reason.clone(),
            });
        } else if r.amount > Amount::ZERO {
            if src_active {
                self.note_counterparty(src.expect("active"), r.dst);
            }
            if dst_active {
                self.note_counterparty(dst.expect("active"), r.src);
            }
        }

        // Taint leaving the payer.
        let mut carried = Amount::ZERO;
        let mut new_hops = 0;
        if r.src == r.dst {
            return true;
        }
        if src_active {
            let si = src.expect("active") as usize;
            new_hops = self.nodes[si].hops.saturating_add(1);
            if self.nodes[si].role == Role::Seed {
                let acct = self.accounts.entry((r.src, r.asset)).or_default();
                let from_received = acct.debit(policy, r.amount);
                // A spam token the thief pays out is not stolen value: it is
                // neither seeded nor carried.
                if !matches!(self.token_spam.get(r.asset as usize), Some(Some(_))) {
                    let minted = r.amount - from_received.min(r.amount);
                    carried = r.amount;
                    self.totals(r.asset).seeded += minted;
                    *self.received.entry((r.src, r.asset)).or_default() += minted;
                }
            } else {
                if self.nodes[si].is_tx
                    && policy == TaintPolicy::Tiho
                    && !self.nodes[si].tiho_allocated
                {
                    self.allocate_tiho(si as u32, r.asset);
                }
                let exact = match self.preset.remove(&id) {
                    Some(c) => Some(c),
                    None => self
                        .g
                        .spent_output(id)
                        .map(|o| self.carried.get(&o).copied().unwrap_or_default()),
                };
                let acct = self.accounts.entry((r.src, r.asset)).or_default();
                carried = match exact {
                    Some(c) => acct.debit_exact(policy, r.amount, c),
                    None => acct.debit(policy, r.amount),
                };
            }
        } else if let Some(c) = self.preset.remove(&id) {
            // A swap output: the DEX pays the trader back in another asset.
            carried = c;
            new_hops = self.nodes[dst.expect("active") as usize].hops;
            self.totals(r.asset).swapped_in += c;
        }

        if let Some(d) = Dropped::check(self.cfg, spam.is_some(), r.amount, carried, new_hops) {
            if !poison {
                *d.bucket(self.totals(r.asset)) += carried;
            }
            carried = Amount::ZERO;
        }

        // Taint arriving at the payee.
        if dst_active {
            let di = dst.expect("active") as usize;
            let acct = self.accounts.entry((r.dst, r.asset)).or_default();
            acct.credit(policy, r.amount, carried);
            if carried > Amount::ZERO {
                let n = &mut self.nodes[di];
                n.hops = n.hops.min(new_hops);
                if n.first.is_none() {
                    n.first = Some(id);
                }
            }
        } else if carried > Amount::ZERO {
            let node = match dst {
                Some(i) => i,
                None => {
                    let (class, cat) = self.classify(r.dst);
                    match class {
                        Class::Dex => self.add_node(r.dst, Role::Dex, new_hops, Some(id), cat, id),
                        Class::Terminal if !self.cfg.walk_terminals => {
                            self.add_node(r.dst, Role::Endpoint, new_hops, Some(id), cat, id)
                        }
                        _ => {
                            let i = self.add_node(r.dst, Role::Walked, new_hops, Some(id), cat, id);
                            let acct = self.accounts.entry((r.dst, r.asset)).or_default();
                            acct.credit(policy, r.amount, carried);
                            i
                        }
                    }
                }
            };
            let n = &mut self.nodes[node as usize];
            n.hops = n.hops.min(new_hops);
            match n.role {
                Role::Dex => self.swap(id, &r, carried),
                Role::Endpoint => {
                    self.totals(r.asset).exited += carried;
                }
                _ => {}
            }
        }

        if carried > Amount::ZERO {
            *self.received.entry((r.dst, r.asset)).or_default() += carried;
            // Only outputs of Bitcoin transaction nodes are ever looked up
            // again (by the inputs that spend them).
            if src.is_some_and(|i| self.nodes[i as usize].is_tx) {
                self.carried.insert(id, carried);
            }
            self.flows.push(Flow { id, carried });
        }
        true
    }

    /// Swap rule: taint `c` of asset A sent to a DEX by a trader comes back
    /// on every transfer of another asset to the trader in the same
    /// transaction, in proportion `b·c/a` (value-weighted by the share of
    /// the input that was tainted).
    fn swap(&mut self, input: TransferId, r: &TransferRow, c: Amount) {
        let trader = r.src;
        let g = self.g;
        let outs = swap_outputs(g, input, r, &self.token_spam);
        if outs.is_empty() {
            // Nothing came back in the same transaction: the DEX is where it ends.
            self.totals(r.asset).exited += c;
            return;
        }
        self.totals(r.asset).swapped_out += c;
        let mut outputs = Vec::new();
        for (id, o) in outs {
            let cb = swap_share(self.cfg.policy, o.amount, c, r.amount);
            if cb == Amount::ZERO {
                continue;
            }
            if id > input {
                self.preset.insert(id, cb);
                if self.sparse {
                    self.heap.push(Reverse(id));
                }
                outputs.push((id, cb));
            } else {
                // Already booked as clean: convert part of the balance now.
                let policy = self.cfg.policy;
                let acct = self.accounts.entry((trader, o.asset)).or_default();
                let moved = acct.retaint(policy, cb);
                self.totals(o.asset).swapped_in += moved;
                *self.received.entry((trader, o.asset)).or_default() += moved;
                outputs.push((id, moved));
            }
        }
        self.swaps.push(Swap {
            trader,
            input,
            input_taint: c,
            outputs,
        });
    }

    fn finish(self) -> TraceResult {
        let policy = self.cfg.policy;
        self.park().finish(policy)
    }
}
