//! Address clustering.
//!
//! * Bitcoin multi-input heuristic: all addresses spending in one transaction
//!   belong to one wallet — except in CoinJoins, where several wallets pay
//!   together. A transaction is treated as a CoinJoin when at least
//!   [`CoinJoinRules::min_equal_outputs`] outputs carry the same value and it
//!   has at least two distinct input addresses (Wasabi/Whirlpool/JoinMarket
//!   shape); its inputs are not merged. Union-find over dense address ids.
//! * Ethereum deposit-address heuristic: an unlabelled address whose every
//!   non-zero payment goes to one exchange hot wallet is that exchange's
//!   deposit address for a customer. It is not merged into the hot wallet
//!   (the deposit address identifies the customer to the exchange); it
//!   inherits an `exchange` label, so traces end there and list it as a
//!   freeze candidate.

use tripoint_chain::{
    AddrId, Address, Amount, AssetId, Category, Label, TokenInfo, TransferGraph, TransferId,
    TransferRow, TxHash,
};

use crate::fxhash::{FxHashMap, FxHashSet};

/// Disjoint sets over dense ids, union by size with path halving.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }
    /// Root without path compression (for shared references).
    pub fn root(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        true
    }
    pub fn len(&self) -> usize {
        self.parent.len()
    }
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }
    /// Number of clusters (roots).
    pub fn clusters(&self) -> usize {
        (0..self.parent.len())
            .filter(|&i| self.parent[i] == i as u32)
            .count()
    }
}

#[derive(Debug, Clone)]
pub struct CoinJoinRules {
    pub min_equal_outputs: usize,
}

impl Default for CoinJoinRules {
    fn default() -> Self {
        CoinJoinRules {
            min_equal_outputs: 3,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStats {
    pub transactions: u64,
    pub coinjoins_skipped: u64,
    pub merges: u64,
}

/// Every Bitcoin transaction of `g` with inputs and outputs, in chain
/// order: its distinct input addresses (ascending) and whether the CoinJoin
/// rule holds for it (at least two inputs, and at least
/// [`CoinJoinRules::min_equal_outputs`] outputs of one value).
pub fn for_each_transaction<G: TransferGraph>(
    g: &G,
    rules: &CoinJoinRules,
    mut f: impl FnMut(&[AddrId], bool),
) {
    let mut inputs: Vec<AddrId> = Vec::new();
    let mut outputs: Vec<Amount> = Vec::new();
    let mut key = None;
    let mut flush = |inputs: &mut Vec<AddrId>, outputs: &mut Vec<Amount>| {
        if !outputs.is_empty() && !inputs.is_empty() {
            inputs.sort_unstable();
            inputs.dedup();
            let coinjoin = inputs.len() >= 2 && {
                outputs.sort_unstable();
                let mut best = 0;
                let mut run = 0;
                for i in 0..outputs.len() {
                    run = if i > 0 && outputs[i] == outputs[i - 1] {
                        run + 1
                    } else {
                        1
                    };
                    best = best.max(run);
                }
                best >= rules.min_equal_outputs
            };
            f(inputs, coinjoin);
        }
        inputs.clear();
        outputs.clear();
    };
    for id in 0..g.transfer_count() {
        let r = g.transfer(id);
        let k = (r.block, r.tx_index);
        if key != Some(k) {
            flush(&mut inputs, &mut outputs);
            key = Some(k);
        }
        if r.output_index().is_some() {
            outputs.push(r.amount);
        } else {
            inputs.push(r.src);
        }
    }
    flush(&mut inputs, &mut outputs);
}

/// Multi-input clustering over every Bitcoin transaction of the graph.
pub fn multi_input<G: TransferGraph>(g: &G, rules: &CoinJoinRules) -> (UnionFind, ClusterStats) {
    let mut uf = UnionFind::new(g.address_count());
    let mut stats = ClusterStats::default();
    for_each_transaction(g, rules, |inputs, coinjoin| {
        stats.transactions += 1;
        if coinjoin {
            stats.coinjoins_skipped += 1;
        } else {
            for w in inputs.windows(2) {
                if uf.union(w[0], w[1]) {
                    stats.merges += 1;
                }
            }
        }
    });
    (uf, stats)
}

/// Deposit addresses found by the heuristic: deposit address -> hot wallet.
pub fn deposit_addresses<G: TransferGraph>(
    g: &G,
    hot_wallets: &[AddrId],
) -> FxHashMap<AddrId, AddrId> {
    let hot: FxHashSet<AddrId> = hot_wallets.iter().copied().collect();
    let mut out = FxHashMap::default();
    for &h in hot_wallets {
        let mut candidates: Vec<AddrId> = g.incoming(h).map(|id| g.transfer(id).src).collect();
        candidates.sort_unstable();
        candidates.dedup();
        for d in candidates {
            if hot.contains(&d) || out.contains_key(&d) {
                continue;
            }
            let forwards_only_to_h = g
                .outgoing(d)
                .map(|id| g.transfer(id))
                .filter(|r| r.amount > Amount::ZERO)
                .all(|r| r.dst == h);
            if forwards_only_to_h && g.labels(d).is_empty() {
                out.insert(d, h);
            }
        }
    }
    out
}

/// A [`TransferGraph`] over clusters: Bitcoin multi-input clusters are
/// merged into one node (the root's address stands for the cluster), and
/// Ethereum deposit addresses carry an inherited exchange label.
pub struct ClusteredGraph<'g, G: TransferGraph> {
    g: &'g G,
    uf: UnionFind,
    members: FxHashMap<AddrId, Vec<AddrId>>,
    inherited: FxHashMap<AddrId, Vec<Label>>,
    pub stats: ClusterStats,
    pub deposit_count: usize,
}

impl<'g, G: TransferGraph> ClusteredGraph<'g, G> {
    /// Cluster with both heuristics; `labels` are the store's labels, used
    /// to find exchange hot wallets.
    pub fn new(g: &'g G, labels: &[Label]) -> Self {
        let (mut uf, stats) = multi_input(g, &CoinJoinRules::default());
        let mut members: FxHashMap<AddrId, Vec<AddrId>> = FxHashMap::default();
        for a in 0..uf.len() as u32 {
            let r = uf.find(a);
            if r != a {
                members.entry(r).or_insert_with(|| vec![r]).push(a);
            }
        }
        let mut hot: Vec<AddrId> = labels
            .iter()
            .filter(|l| l.category == Category::Exchange)
            .filter_map(|l| g.lookup(&l.address))
            .collect();
        hot.sort_unstable();
        hot.dedup();
        let mut inherited: FxHashMap<AddrId, Vec<Label>> = FxHashMap::default();
        let deposits = deposit_addresses(g, &hot);
        for (&d, &h) in &deposits {
            let of = g
                .labels(h)
                .into_iter()
                .find(|l| l.category == Category::Exchange)
                .map(|l| l.label)
                .unwrap_or_else(|| "exchange".into());
            inherited.entry(d).or_default().push(Label {
                address: g.address(d),
                label: format!("deposit address of {of} ({})", g.address(h)),
                category: Category::Exchange,
                source: "tripoint deposit-address heuristic".into(),
                attribution: Default::default(),
            });
        }
        ClusteredGraph {
            g,
            uf,
            members,
            inherited,
            stats,
            deposit_count: deposits.len(),
        }
    }

    /// The cluster (root id) of an address.
    pub fn cluster_of(&self, a: AddrId) -> AddrId {
        self.uf.root(a)
    }

    fn adjacency(
        &self,
        a: AddrId,
        f: impl Fn(AddrId) -> Vec<TransferId>,
    ) -> std::vec::IntoIter<TransferId> {
        let root = self.uf.root(a);
        if root != a {
            return Vec::new().into_iter();
        }
        match self.members.get(&root) {
            None => f(root).into_iter(),
            Some(ms) => {
                let mut v: Vec<TransferId> = ms.iter().flat_map(|&m| f(m)).collect();
                v.sort_unstable();
                v.dedup();
                v.into_iter()
            }
        }
    }
}

impl<G: TransferGraph> TransferGraph for ClusteredGraph<'_, G> {
    fn address_count(&self) -> usize {
        self.g.address_count()
    }
    fn transfer_count(&self) -> u64 {
        self.g.transfer_count()
    }
    fn transfer(&self, id: TransferId) -> TransferRow {
        let mut r = self.g.transfer(id);
        r.src = self.uf.root(r.src);
        r.dst = self.uf.root(r.dst);
        r
    }
    fn outgoing(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.adjacency(addr, |m| self.g.outgoing(m).collect())
    }
    fn incoming(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.adjacency(addr, |m| self.g.incoming(m).collect())
    }
    fn address(&self, id: AddrId) -> Address {
        self.g.address(id)
    }
    fn lookup(&self, addr: &Address) -> Option<AddrId> {
        self.g.lookup(addr).map(|a| self.uf.root(a))
    }
    fn tx_hash(&self, id: TransferId) -> TxHash {
        self.g.tx_hash(id)
    }
    fn asset_count(&self) -> usize {
        self.g.asset_count()
    }
    fn token(&self, asset: AssetId) -> Option<TokenInfo> {
        self.g.token(asset)
    }
    fn labels(&self, addr: AddrId) -> Vec<Label> {
        let mut out = match self.members.get(&addr) {
            Some(ms) => ms.iter().flat_map(|&m| self.g.labels(m)).collect(),
            None => self.g.labels(addr),
        };
        if let Some(extra) = self.inherited.get(&addr) {
            out.extend(extra.iter().cloned());
        }
        out
    }
    fn spent_output(&self, input: TransferId) -> Option<TransferId> {
        self.g.spent_output(input)
    }
}
