//! The general engine: a sparse priority-queue walk or a row-by-row sweep,
//! covering every policy and feature; the reference the kernels are tested
//! against.

use crate::arith::AddSaturating;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use tripoint_chain::{
    AddrId, Amount, AssetId, Category, TransferGraph, TransferId, TransferRow, NATIVE_ASSET,
};

use super::account::{swap_share, Account};
use super::flow_log::Flows;
use super::*;
use crate::fxhash::FxHashMap;
use crate::spam::{lookalike_key, SpamReason};

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
    /// Flows of a resumed walk found before it was parked, packed (the
    /// flows found since are in `flows`).
    flow_log: Flows,
    counterparties: Counterparties,
    totals: BTreeMap<AssetId, Totals>,
    received: FxHashMap<(AddrId, AssetId), Amount>,
    spam: Vec<SpamHit>,
    swaps: Vec<Swap>,
    heap: BinaryHeap<Reverse<TransferId>>,
    class: FxHashMap<AddrId, (Class, Option<Category>)>,
    /// Spam verdicts per asset: the engine's own, or a live watch's,
    /// computed once per graph and shared by its cases.
    token_spam: Cow<'a, [Option<SpamReason>]>,
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

/// How many transfers a sparse walk may pop. The error type says whether
/// a walk can stop short: [`Unlimited`]'s is uninhabited, so its callers
/// need no fallback for a case that cannot happen.
pub(crate) trait PopBudget {
    type Exceeded;
    /// Account for one more pop.
    fn pop(&mut self) -> Result<(), Self::Exceeded>;
}

/// No limit: the walk always finishes.
pub(crate) struct Unlimited;

impl PopBudget for Unlimited {
    type Exceeded = std::convert::Infallible;
    #[inline]
    fn pop(&mut self) -> Result<(), Self::Exceeded> {
        Ok(())
    }
}

/// At most this many pops ([`super::Traversal::Auto`]'s sparse start).
pub(crate) struct AtMost(pub u64);

/// A walk popped more transfers than its [`AtMost`] budget.
pub(crate) struct OverBudget;

impl PopBudget for AtMost {
    type Exceeded = OverBudget;
    #[inline]
    fn pop(&mut self) -> Result<(), OverBudget> {
        self.0 = self.0.checked_sub(1).ok_or(OverBudget)?;
        Ok(())
    }
}

/// The sparse walk: a priority queue of transfers that can carry taint.
pub(crate) fn run_sparse<G: TransferGraph, B: PopBudget>(
    g: &G,
    cfg: &TraceConfig,
    mut budget: B,
) -> Result<TraceResult, B::Exceeded> {
    let mut e = Engine::start(g, cfg, true);
    e.drain(&mut budget)?;
    Ok(e.finish())
}

/// The general engine's row-by-row sweep from the start time on.
pub(crate) fn run_sweep<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> TraceResult {
    let mut e = Engine::start(g, cfg, false);
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
    e.finish()
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
    /// The flows: the older ones packed, then those of the last walk
    /// (until [`Parked::pack_flows`]).
    flow_log: Flows,
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
    /// Flows found so far.
    pub(crate) fn flow_count(&self) -> usize {
        self.flow_log.len() + self.flows.len()
    }
    /// Flows `range` (indices into every flow found so far): borrowed
    /// when they are the last walk's, else unpacked.
    pub(crate) fn flows_in(&self, range: std::ops::Range<usize>) -> std::borrow::Cow<'_, [Flow]> {
        let packed = self.flow_log.len();
        if range.start >= packed {
            return Cow::Borrowed(&self.flows[range.start - packed..range.end - packed]);
        }
        Cow::Owned(
            self.flow_log
                .iter()
                .chain(self.flows.iter().copied())
                .skip(range.start)
                .take(range.len())
                .collect(),
        )
    }
    /// Pack the last walk's flows with the older ones.
    pub(crate) fn pack_flows(&mut self) {
        self.flow_log.extend(&self.flows);
        self.flows = Vec::new();
    }
    pub(crate) fn totals(&self) -> &BTreeMap<AssetId, Totals> {
        &self.totals
    }
    pub(crate) fn node_index(&self, a: AddrId) -> Option<u32> {
        self.index.get(a)
    }

    /// Estimated heap bytes of each part of the parked walk (capacities,
    /// not lengths: what the allocator holds), for `tripoint bench watch`.
    pub(crate) fn heap_bytes(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        fn map<K, V, S>(m: &std::collections::HashMap<K, V, S>) -> usize {
            // hashbrown: buckets (a power of two, 7/8 full at most), one
            // control byte each.
            let buckets = if m.capacity() == 0 {
                0
            } else {
                (m.capacity() * 8 / 7).next_power_of_two()
            };
            buckets * (size_of::<(K, V)>() + 1)
        }
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * size_of::<T>()
        }
        let index = match &self.index {
            NodeIndex::Dense(v) => vec(v),
            NodeIndex::Sparse(m) => map(m),
        };
        let lots: usize = self
            .accounts
            .values()
            .map(|a| a.lots.capacity() * size_of::<super::account::Lot>())
            .sum();
        let categories: usize = self
            .nodes
            .iter()
            .filter_map(|n| match n.category.as_deref() {
                Some(Category::Other(s)) => Some(size_of::<Category>() + s.capacity()),
                Some(_) => Some(size_of::<Category>()),
                None => None,
            })
            .sum();
        vec![
            ("index", index),
            ("nodes", vec(&self.nodes) + categories),
            ("accounts", map(&self.accounts) + lots),
            ("carried", map(&self.carried)),
            ("flows", self.flow_log.heap_bytes() + vec(&self.flows)),
            ("preset", map(&self.preset)),
            ("counterparties", self.counterparties.heap_bytes()),
            ("received", map(&self.received)),
            ("spam", vec(&self.spam)),
            (
                "swaps",
                vec(&self.swaps) + self.swaps.iter().map(|s| vec(&s.outputs)).sum::<usize>(),
            ),
            ("class", map(&self.class)),
        ]
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
    pub(crate) fn finish(self, policy: TaintPolicy, engine: EngineKind) -> TraceResult {
        let mut totals = self.totals;
        let mut held: FxHashMap<(AddrId, AssetId), Amount> = FxHashMap::default();
        for (&(addr, asset), acct) in &self.accounts {
            if acct.taint > Amount::ZERO {
                held.insert((addr, asset), acct.taint);
                if policy != TaintPolicy::Poison {
                    totals.entry(asset).or_default().held.add_sat(acct.taint);
                }
            }
        }
        let received = NodeAmounts::from_map(&self.received, &self.index, self.nodes.len());
        let held = NodeAmounts::from_map(&held, &self.index, self.nodes.len());
        let mut flows = self.flow_log;
        flows.extend(&self.flows);
        TraceResult {
            policy,
            nodes: self.nodes,
            node_of: self.index,
            flows,
            received,
            held,
            spam: self.spam,
            swaps: self.swaps,
            totals,
            visited: self.visited,
            engine,
        }
    }
}

/// Start a sparse walk over `g` (seeds registered, the heap drained), or
/// continue a parked one with the transfers `ids` (ascending, all later
/// than any the walk has seen); `false` when a transfer lies past
/// `cfg.until` (the walk is over for good). `verdicts`: the token verdicts
/// of `g` under `cfg.spam` when the caller has them (else computed).
pub(crate) fn walk_on<G: TransferGraph>(
    g: &G,
    cfg: &TraceConfig,
    parked: Option<Parked>,
    ids: &[TransferId],
    verdicts: Option<&[Option<SpamReason>]>,
) -> (Parked, bool) {
    let mut e = match parked {
        None => Engine::start(g, cfg, true),
        Some(p) => Engine::resume(g, cfg, p, verdicts),
    };
    e.heap.extend(ids.iter().map(|&id| Reverse(id)));
    let Ok(go) = e.drain(&mut Unlimited);
    (e.park(), go)
}

/// What a trader gave and got in one transaction, seen from its payment
/// `input` (row `r`, trader `r.src`): the swap rule's legs.
#[derive(Debug, Default)]
pub(crate) struct SwapLegs {
    /// Transfers of another asset to the trader in the same transaction
    /// (non-zero, not a spam token, not from the trader itself).
    pub(crate) outputs: Vec<(TransferId, TransferRow)>,
    /// Everything the trader paid in the input's asset in that transaction
    /// (the input included; not to itself): the weight of the input.
    pub(crate) paid: Amount,
}

/// The swap legs of the trader's payment `input` (row `r`). A transaction's
/// transfers are a contiguous id range (ids are chain order), so only that
/// range is decoded: a single-transfer transaction costs its two neighbours.
pub(crate) fn swap_legs<G: TransferGraph>(
    g: &G,
    input: TransferId,
    r: &TransferRow,
    token_spam: &[Option<crate::spam::SpamReason>],
) -> SwapLegs {
    let trader = r.src;
    let mut legs = SwapLegs::default();
    let mut see = |id: TransferId, o: &TransferRow| {
        if o.src == o.dst {
            return;
        }
        if o.src == trader && o.asset == r.asset {
            legs.paid.add_sat(o.amount);
        } else if o.dst == trader
            && o.asset != r.asset
            && o.amount > Amount::ZERO
            && token_spam.get(o.asset as usize).is_none_or(|v| v.is_none())
        {
            legs.outputs.push((id, *o));
        }
    };
    let same_tx = |o: &TransferRow| (o.block, o.tx_index) == (r.block, r.tx_index);
    let mut before = Vec::new();
    let mut id = input;
    while id > 0 {
        let o = g.transfer(id - 1);
        if !same_tx(&o) {
            break;
        }
        id -= 1;
        before.push((id, o));
    }
    for (id, o) in before.iter().rev() {
        see(*id, o);
    }
    see(input, r);
    let mut id = input + 1;
    while id < g.transfer_count() {
        let o = g.transfer(id);
        if !same_tx(&o) {
            break;
        }
        see(id, &o);
        id += 1;
    }
    legs
}

/// Whether the walked payer of `input` swapped in that transaction: it
/// got another asset back ([`swap_legs`]). The payee of such a payment is
/// the swap's counterparty (role `dex`), whatever its labels say.
pub(crate) fn swapped<G: TransferGraph>(
    g: &G,
    input: TransferId,
    r: &TransferRow,
    token_spam: &[Option<crate::spam::SpamReason>],
) -> Option<SwapLegs> {
    if !g.may_share_tx(input) {
        return None;
    }
    let legs = swap_legs(g, input, r, token_spam);
    (!legs.outputs.is_empty()).then_some(legs)
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
            flow_log: Flows::default(),
            counterparties: Counterparties::default(),
            totals: BTreeMap::new(),
            received: FxHashMap::default(),
            spam: Vec::new(),
            swaps: Vec::new(),
            heap: BinaryHeap::new(),
            class: FxHashMap::default(),
            token_spam: Cow::Owned(cfg.spam.token_verdicts(g)),
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

    /// A parked sparse walk over a (possibly grown) graph, with the token
    /// verdicts of that graph (it may know tokens it did not know before):
    /// `verdicts`, computed by the caller for `g` and `cfg.spam`, or
    /// computed here.
    fn resume(
        g: &'a G,
        cfg: &'a TraceConfig,
        p: Parked,
        verdicts: Option<&'a [Option<SpamReason>]>,
    ) -> Self {
        let mut flow_log = p.flow_log;
        flow_log.extend(&p.flows);
        Engine {
            g,
            cfg,
            sparse: true,
            index: p.index,
            nodes: p.nodes,
            accounts: p.accounts,
            carried: p.carried,
            flows: Vec::new(),
            flow_log,
            preset: p.preset,
            counterparties: p.counterparties,
            totals: p.totals,
            received: p.received,
            spam: p.spam,
            swaps: p.swaps,
            heap: BinaryHeap::new(),
            class: p.class,
            token_spam: match verdicts {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(cfg.spam.token_verdicts(g)),
            },
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
            flow_log: self.flow_log,
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

    /// Process queued transfers in id order until the heap is empty
    /// (`Ok(true)`) or the time window ended (`Ok(false)`); `Err` when the
    /// budget ran out first.
    fn drain<B: PopBudget>(&mut self, budget: &mut B) -> Result<bool, B::Exceeded> {
        let g = self.g;
        let mut last = None;
        while let Some(Reverse(id)) = self.heap.pop() {
            budget.pop()?;
            if last == Some(id) {
                continue;
            }
            last = Some(id);
            if !self.step(id, &g.transfer(id)) {
                self.heap.clear();
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn classify(&mut self, a: AddrId) -> (Class, Option<Category>) {
        // Only labelled addresses are kept: the others cost no label read,
        // and a parked walk keeps this cache for every address it met.
        if !self.g.may_have_labels(a) {
            return (Class::Plain, None);
        }
        if let Some(c) = self.class.get(&a) {
            return c.clone();
        }
        let out = classify_labels(&self.g.labels(a), self.cfg);
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
            category: category.map(Box::new),
            is_tx,
            tiho_allocated: false,
            has_counterparties: false,
        });
        if matches!(role, Role::Walked | Role::Seed) {
            self.start_walking(addr, role, at);
        }
        i
    }

    /// From transfer `at` on, `addr` is walked: its balances before `at`
    /// are known (sweep: adopted; sparse: replayed) and its later transfers
    /// queued.
    fn start_walking(&mut self, addr: AddrId, role: Role, at: TransferId) {
        if self.pre.is_some() && role == Role::Walked {
            self.adopt_pre(addr);
        } else if self.cfg.policy != TaintPolicy::Poison && !self.lazy_accounts() {
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

    /// A swap counterparty found from an earlier transaction (role `dex`,
    /// no `dex` label) is paid taint outside a swap: it is walked from
    /// transfer `at` on, with the category its labels give.
    fn promote(&mut self, node: u32, at: TransferId) {
        let addr = self.nodes[node as usize].addr;
        let (_, category) = self.classify(addr);
        let n = &mut self.nodes[node as usize];
        n.role = Role::Walked;
        n.category = category.map(Box::new);
        n.is_tx = self.g.is_tx_node(addr);
        self.start_walking(addr, Role::Walked, at);
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
            pre.slot(r.dst, r.asset).add_sat(r.amount);
        }
    }

    /// Whether only accounts that received taint are kept (a sparse walk
    /// under a policy with balances): an account that never held taint
    /// pays out none, whatever its balance, so its balance is needed only
    /// when taint first arrives, and is then replayed from the address's
    /// history, which the walk has followed in full since. Most of a
    /// walked address's assets never see taint, and a parked walk (one per
    /// open case in a watch) would keep an account for each.
    fn lazy_accounts(&self) -> bool {
        self.sparse && self.cfg.policy != TaintPolicy::Poison
    }

    /// The account of (`addr`, `asset`) to book a clean movement on:
    /// `None` in a lazy walk when it never received taint (nothing to book).
    fn kept_account(&mut self, addr: AddrId, asset: AssetId) -> Option<&mut Account> {
        if self.lazy_accounts() {
            self.accounts.get_mut(&(addr, asset))
        } else {
            Some(self.accounts.entry((addr, asset)).or_default())
        }
    }

    /// The account of (`addr`, `asset`) that taint arrives at with transfer
    /// `id`; in a lazy walk, made on first use from `addr`'s history in
    /// `asset` before `id` (every transfer of a walked address before the
    /// current one has been processed, so this is the balance an eager
    /// walk would hold).
    fn tainted_account(&mut self, addr: AddrId, asset: AssetId, id: TransferId) -> &mut Account {
        if self.lazy_accounts() && !self.accounts.contains_key(&(addr, asset)) {
            self.replay_asset(addr, Some(asset), id);
        }
        self.accounts.entry((addr, asset)).or_default()
    }

    /// Clean balances of `addr` from every transfer before `before`, in chain
    /// order (payments beyond the known balance floor it at zero).
    fn replay(&mut self, addr: AddrId, before: TransferId) {
        self.replay_asset(addr, None, before);
    }

    /// [`Self::replay`] of one asset (`Some`) or all.
    fn replay_asset(&mut self, addr: AddrId, only: Option<AssetId>, before: TransferId) {
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
            if only.is_some_and(|a| a != r.asset) {
                continue;
            }
            let b = bal.entry(r.asset).or_default();
            if r.src == r.dst {
                continue;
            }
            if incoming {
                b.add_sat(r.amount);
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
                let from_received = self
                    .kept_account(r.src, r.asset)
                    .map_or(Amount::ZERO, |acct| acct.debit(policy, r.amount));
                // A spam token the thief pays out is not stolen value: it is
                // neither seeded nor carried.
                if !matches!(self.token_spam.get(r.asset as usize), Some(Some(_))) {
                    let minted = r.amount - from_received.min(r.amount);
                    carried = r.amount;
                    self.totals(r.asset).seeded.add_sat(minted);
                    self.received
                        .entry((r.src, r.asset))
                        .or_default()
                        .add_sat(minted);
                }
            } else {
                if self.nodes[si].is_tx
                    && policy == TaintPolicy::Tiho
                    && !self.nodes[si].tiho_allocated
                {
                    self.allocate_tiho(si as u32, r.asset);
                }
                let preset = self.preset.remove(&id);
                if let Some(c) = preset.filter(|_| poison && !self.nodes[si].is_tx) {
                    // A swap output paid by a walked counterparty (poison
                    // takes the swap reading of a payment to a walked
                    // address too): tainted by the payer's own balance or
                    // by the swap, at the trader's hops when by the swap.
                    let own = self
                        .kept_account(r.src, r.asset)
                        .map_or(Amount::ZERO, |acct| acct.debit(policy, r.amount));
                    carried = own.max(c);
                    if c > Amount::ZERO {
                        if let Some(d) = dst.filter(|_| dst_active) {
                            new_hops = new_hops.min(self.nodes[d as usize].hops);
                        }
                        self.totals(r.asset).swapped_in.add_sat(c);
                    }
                } else {
                    let exact = match preset {
                        Some(c) => Some(c),
                        None => self
                            .g
                            .spent_output(id)
                            .map(|o| self.carried.get(&o).copied().unwrap_or_default()),
                    };
                    carried = match (self.kept_account(r.src, r.asset), exact) {
                        (Some(acct), Some(c)) => acct.debit_exact(policy, r.amount, c),
                        (Some(acct), None) => acct.debit(policy, r.amount),
                        // Never tainted: pays out nothing tainted.
                        (None, _) => Amount::ZERO,
                    };
                }
            }
        } else if let Some(c) = self.preset.remove(&id) {
            // A swap output: the DEX pays the trader back in another asset.
            carried = c;
            new_hops = self.nodes[dst.expect("active") as usize].hops;
            self.totals(r.asset).swapped_in.add_sat(c);
        }

        if let Some(d) = Dropped::check(self.cfg, spam.is_some(), r.amount, carried, new_hops) {
            if !poison {
                d.bucket(self.totals(r.asset)).add_sat(carried);
            }
            carried = Amount::ZERO;
        }

        // Taint arriving at the payee.
        if dst_active {
            let di = dst.expect("active") as usize;
            if carried > Amount::ZERO {
                self.tainted_account(r.dst, r.asset, id)
                    .credit(policy, r.amount, carried);
            } else if let Some(acct) = self.kept_account(r.dst, r.asset) {
                acct.credit(policy, r.amount, carried);
            }
            if carried > Amount::ZERO {
                let n = &mut self.nodes[di];
                n.hops = n.hops.min(new_hops);
                if n.first.is_none() {
                    n.first = Some(id);
                }
                // The payee is walked, so the payment is a plain transfer;
                // had it not been walked, the payer's other-asset receipts
                // in this transaction would carry the taint (swap rule).
                // Which one applies depends on the trace, so poison, the
                // union of every reading, takes both.
                if poison && src_active {
                    if let Some(legs) = swapped(self.g, id, &r, &self.token_spam) {
                        self.swap(id, &r, carried, Some(legs));
                    }
                }
            }
        } else if carried > Amount::ZERO {
            let mut legs = None;
            let node = match dst {
                Some(i)
                    if self.nodes[i as usize].role == Role::Dex
                        && src_active
                        && self.classify(r.dst).0 != Class::Dex =>
                {
                    // A counterparty found from an earlier transaction: a
                    // swap again only if this transaction is one.
                    legs = swapped(self.g, id, &r, &self.token_spam);
                    if legs.is_none() {
                        self.promote(i, id);
                        self.tainted_account(r.dst, r.asset, id)
                            .credit(policy, r.amount, carried);
                        let n = &mut self.nodes[i as usize];
                        if n.first.is_none() {
                            n.first = Some(id);
                        }
                    }
                    i
                }
                Some(i) => i,
                None => {
                    let (class, cat) = self.classify(r.dst);
                    match class {
                        Class::Dex => self.add_node(r.dst, Role::Dex, new_hops, Some(id), cat, id),
                        Class::Terminal if !self.cfg.walk_terminals => {
                            self.add_node(r.dst, Role::Endpoint, new_hops, Some(id), cat, id)
                        }
                        _ if src_active && {
                            legs = swapped(self.g, id, &r, &self.token_spam);
                            legs.is_some()
                        } =>
                        {
                            // The payer got another asset back in this
                            // transaction: a swap, found from the transaction.
                            let cat = cat.or(Some(Category::Dex));
                            self.add_node(r.dst, Role::Dex, new_hops, Some(id), cat, id)
                        }
                        _ => {
                            let i = self.add_node(r.dst, Role::Walked, new_hops, Some(id), cat, id);
                            self.tainted_account(r.dst, r.asset, id)
                                .credit(policy, r.amount, carried);
                            i
                        }
                    }
                }
            };
            let n = &mut self.nodes[node as usize];
            n.hops = n.hops.min(new_hops);
            match n.role {
                Role::Dex => self.swap(id, &r, carried, legs),
                Role::Endpoint => {
                    self.totals(r.asset).exited.add_sat(carried);
                }
                _ => {}
            }
        }

        if carried > Amount::ZERO {
            self.received
                .entry((r.dst, r.asset))
                .or_default()
                .add_sat(carried);
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
    fn swap(&mut self, input: TransferId, r: &TransferRow, c: Amount, legs: Option<SwapLegs>) {
        let trader = r.src;
        let g = self.g;
        let SwapLegs {
            outputs: outs,
            paid,
        } = legs.unwrap_or_else(|| swap_legs(g, input, r, &self.token_spam));
        if outs.is_empty() {
            // Nothing came back in the same transaction: the DEX is where it ends.
            self.totals(r.asset).exited.add_sat(c);
            return;
        }
        self.totals(r.asset).swapped_out.add_sat(c);
        let mut outputs = Vec::new();
        for (id, o) in outs {
            let cb = swap_share(self.cfg.policy, o.amount, c, paid);
            if cb == Amount::ZERO {
                continue;
            }
            if id > input {
                // Several inputs may pay for one output; weighted by `paid`,
                // their shares add up to at most the output (poison: capped).
                let p = self.preset.entry(id).or_default();
                *p = p.saturating_add(cb).min(o.amount);
                if self.sparse {
                    self.heap.push(Reverse(id));
                }
                outputs.push((id, cb));
            } else {
                // Already booked as clean: convert part of the balance now.
                let policy = self.cfg.policy;
                let moved = self
                    .tainted_account(trader, o.asset, input)
                    .retaint(policy, cb);
                self.totals(o.asset).swapped_in.add_sat(moved);
                self.received
                    .entry((trader, o.asset))
                    .or_default()
                    .add_sat(moved);
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
        let engine = if self.sparse {
            EngineKind::SparseWalk
        } else {
            EngineKind::GeneralSweep
        };
        self.park().finish(policy, engine)
    }
}
