//! An in-memory [`TransferGraph`]: built from [`TransferRecord`]s, labels and
//! token metadata. Used by tests, benchmarks and callers that hold a small
//! graph; the on-disk store is the production implementation of the trait.

use std::collections::HashMap;

use tripoint_chain::{
    AddrId, Address, Asset, AssetId, Label, Position, TokenInfo, TransferGraph, TransferId,
    TransferRecord, TransferRow, TxHash,
};

use crate::fxhash::FxBuild;

/// Compressed adjacency: `ids[offsets[a]..offsets[a + 1]]` are address `a`'s
/// transfers in ascending (chain) order.
#[derive(Debug, Default, Clone)]
struct Csr {
    offsets: Vec<u64>,
    ids: Vec<TransferId>,
}

impl Csr {
    fn build(n: usize, rows: &[TransferRow], key: impl Fn(&TransferRow) -> AddrId) -> Self {
        let mut offsets = vec![0u64; n + 1];
        for r in rows {
            offsets[key(r) as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut ids = vec![0; rows.len()];
        // Rows are visited in id order, so each address's slice ends up ascending.
        for (id, r) in rows.iter().enumerate() {
            let slot = &mut fill[key(r) as usize];
            ids[*slot as usize] = id as TransferId;
            *slot += 1;
        }
        Csr { offsets, ids }
    }

    fn get(&self, a: AddrId) -> &[TransferId] {
        let a = a as usize;
        if a + 1 >= self.offsets.len() {
            return &[];
        }
        &self.ids[self.offsets[a] as usize..self.offsets[a + 1] as usize]
    }
}

/// A transfer graph held in memory.
#[derive(Debug, Default, Clone)]
pub struct MemGraph {
    addresses: Vec<Address>,
    index: HashMap<Address, AddrId, FxBuild>,
    rows: Vec<TransferRow>,
    hashes: Vec<TxHash>,
    out: Csr,
    inc: Csr,
    tokens: Vec<Option<TokenInfo>>,
    labels: HashMap<AddrId, Vec<Label>, FxBuild>,
    spent: HashMap<TransferId, TransferId, FxBuild>,
}

impl MemGraph {
    /// Build from records in any order: they are sorted into chain order
    /// (block, tx index, position) and de-duplicated on (tx hash, position),
    /// exactly as the store does. Labels on addresses absent from the
    /// transfers still get an id, so screening finds them.
    pub fn build(
        mut records: Vec<TransferRecord>,
        tokens: Vec<TokenInfo>,
        labels: Vec<Label>,
    ) -> Self {
        records.sort_by_key(|r| r.order_key());
        let mut seen =
            std::collections::HashSet::with_capacity_and_hasher(records.len(), FxBuild::default());
        records.retain(|r| seen.insert(r.dedup_key()));

        let mut g = MemGraph {
            tokens: vec![None],
            ..Default::default()
        };
        let mut asset_ids: HashMap<Asset, AssetId> = HashMap::new();
        let token_meta: HashMap<Address, TokenInfo> =
            tokens.into_iter().map(|t| (t.address.clone(), t)).collect();
        let mut outputs: HashMap<(TxHash, u32), TransferId, FxBuild> = HashMap::default();
        let mut inputs: Vec<(TransferId, (TxHash, u32))> = Vec::new();
        g.rows.reserve(records.len());
        g.hashes.reserve(records.len());
        for (i, r) in records.iter().enumerate() {
            let id = i as TransferId;
            let src = g.intern(&r.from);
            let dst = g.intern(&r.to);
            let asset = match &r.asset {
                Asset::Native(_) => tripoint_chain::NATIVE_ASSET,
                Asset::Token(a) => *asset_ids.entry(r.asset.clone()).or_insert_with(|| {
                    g.tokens
                        .push(Some(token_meta.get(a).cloned().unwrap_or(TokenInfo {
                            address: a.clone(),
                            symbol: String::new(),
                            name: String::new(),
                            decimals: None,
                        })));
                    (g.tokens.len() - 1) as AssetId
                }),
            };
            match r.position {
                Position::Output(n) => {
                    outputs.insert((r.tx_hash, n), id);
                }
                Position::Input { spends, .. } => inputs.push((id, (spends.tx, spends.index))),
                _ => {}
            }
            g.rows.push(TransferRow {
                src,
                dst,
                asset,
                amount: r.amount,
                block: r.block,
                timestamp: r.timestamp,
                tx_index: r.tx_index,
                sub_index: r.position.sub_index(),
            });
            g.hashes.push(r.tx_hash);
        }
        for (input, key) in inputs {
            if let Some(&o) = outputs.get(&key) {
                g.spent.insert(input, o);
            }
        }
        for l in labels {
            let id = g.intern(&l.address);
            g.labels.entry(id).or_default().push(l);
        }
        let n = g.addresses.len();
        g.out = Csr::build(n, &g.rows, |r| r.src);
        g.inc = Csr::build(n, &g.rows, |r| r.dst);
        g
    }

    fn intern(&mut self, a: &Address) -> AddrId {
        if let Some(&id) = self.index.get(a) {
            return id;
        }
        let id = self.addresses.len() as AddrId;
        self.addresses.push(a.clone());
        self.index.insert(a.clone(), id);
        id
    }

    /// Every label held, for building a screening index.
    pub fn all_labels(&self) -> impl Iterator<Item = &Label> + '_ {
        self.labels.values().flatten()
    }
}

impl TransferGraph for MemGraph {
    fn address_count(&self) -> usize {
        self.addresses.len()
    }
    fn transfer_count(&self) -> u64 {
        self.rows.len() as u64
    }
    fn transfer(&self, id: TransferId) -> TransferRow {
        self.rows[id as usize]
    }
    fn may_share_tx(&self, id: TransferId) -> bool {
        let i = id as usize;
        let tx = |r: &TransferRow| (r.block, r.tx_index);
        let me = tx(&self.rows[i]);
        (i > 0 && tx(&self.rows[i - 1]) == me) || self.rows.get(i + 1).is_some_and(|r| tx(r) == me)
    }
    fn outgoing(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.out.get(addr).iter().copied()
    }
    fn incoming(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.inc.get(addr).iter().copied()
    }
    fn address(&self, id: AddrId) -> Address {
        self.addresses[id as usize].clone()
    }
    fn lookup(&self, addr: &Address) -> Option<AddrId> {
        self.index.get(addr).copied()
    }
    fn tx_hash(&self, id: TransferId) -> TxHash {
        self.hashes[id as usize]
    }
    fn asset_count(&self) -> usize {
        self.tokens.len()
    }
    fn token(&self, asset: AssetId) -> Option<TokenInfo> {
        self.tokens.get(asset as usize).cloned().flatten()
    }
    fn labels(&self, addr: AddrId) -> Vec<Label> {
        self.labels.get(&addr).cloned().unwrap_or_default()
    }
    fn spent_output(&self, input: TransferId) -> Option<TransferId> {
        self.spent.get(&input).copied()
    }
}
