//! `LiveTrace` (the watch's incremental taint) against fresh traces: after
//! every block, the live walk's result equals a sparse trace over the graph
//! so far, and its flows and books equal the sweep's, for every policy.

mod common;

use common::{addr, assert_same, edges, graph, limited};
use proptest::prelude::*;
use tripoint_chain::{
    AddrId, Address, AssetId, Label, TokenInfo, TransferGraph, TransferId, TransferRow, TxHash,
};
use tripoint_trace::{
    trace, trace_general, LiveTrace, MemGraph, TaintPolicy, TokenVerdicts, Traversal,
};

/// The first `n` transfers of a graph: the graph as it was when they were
/// the last ones (address and asset ids are the full graph's, as a store
/// keeps its ids while it grows).
struct Prefix<'a> {
    g: &'a MemGraph,
    n: u64,
}

impl TransferGraph for Prefix<'_> {
    fn address_count(&self) -> usize {
        self.g.address_count()
    }
    fn transfer_count(&self) -> u64 {
        self.n
    }
    fn transfer(&self, id: TransferId) -> TransferRow {
        assert!(id < self.n, "transfer {id} is beyond the prefix");
        self.g.transfer(id)
    }
    fn outgoing(&self, a: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.g.outgoing(a).take_while(|&id| id < self.n)
    }
    fn incoming(&self, a: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.g.incoming(a).take_while(|&id| id < self.n)
    }
    fn address(&self, id: AddrId) -> Address {
        self.g.address(id)
    }
    fn lookup(&self, a: &Address) -> Option<AddrId> {
        self.g.lookup(a)
    }
    fn tx_hash(&self, id: TransferId) -> TxHash {
        self.g.tx_hash(id)
    }
    fn asset_count(&self) -> usize {
        self.g.asset_count()
    }
    fn token(&self, a: AssetId) -> Option<TokenInfo> {
        self.g.token(a)
    }
    fn labels(&self, a: AddrId) -> Vec<Label> {
        self.g.labels(a)
    }
}

/// Ends of blocks: the prefix lengths a watch sees, one block at a time
/// (every `stride`-th block boundary, so several blocks may come at once).
fn block_ends(g: &MemGraph, stride: usize) -> Vec<u64> {
    let n = g.transfer_count();
    let mut ends: Vec<u64> = (1..n)
        .filter(|&id| g.transfer(id).block != g.transfer(id - 1).block)
        .collect();
    ends.push(n);
    let mut out: Vec<u64> = ends.iter().copied().step_by(stride.max(1)).collect();
    if out.last() != Some(&n) {
        out.push(n);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn live_trace_equals_a_fresh_trace_after_every_block(
        edges in edges(),
        seeds in prop::collection::vec(0u8..40, 1..3),
        terminals in prop::collection::vec(0u8..40, 0..4),
        from_block in 0u8..30,
        until_block in prop::option::of(20u8..70),
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
        lookalike in any::<bool>(),
        stride in 1usize..4,
    ) {
        let g = graph(&edges, &terminals);
        let seeds: Vec<u32> = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
        if seeds.is_empty() { return Ok(()); }
        let ends = block_ends(&g, stride);
        for policy in TaintPolicy::ALL {
            let mut cfg = limited(policy, seeds.clone(), from_block, until_block, max_hops, dust);
            cfg.spam.lookalike = lookalike;
            let mut live = LiveTrace::new(cfg.clone()).unwrap();
            let mut flows_seen = 0;
            for &n in &ends {
                let p = Prefix { g: &g, n };
                let step = live.advance(&p).unwrap();
                // Each step reports exactly the flows it added, all in the new transfers.
                prop_assert_eq!(step.flows.start, flows_seen);
                for f in live.flows_of(&step).iter() {
                    prop_assert!(step.transfers.contains(&f.id), "{policy:?}: old flow {} reported again", f.id);
                }
                flows_seen = step.flows.end;
                let got = live.result(&p);
                let sparse = trace_general(&p, &cfg, true).unwrap();
                assert_same(&got, &sparse, &format!("{policy:?} live vs sparse at {n}"))?;
                prop_assert_eq!(got.visited, sparse.visited);
                let mut sweep_cfg = cfg.clone();
                sweep_cfg.traversal = Traversal::Sweep;
                let sweep = trace(&p, &sweep_cfg).unwrap();
                prop_assert_eq!(&got.flows, &sweep.flows, "{:?} flows vs sweep at {}", policy, n);
                prop_assert_eq!(&got.totals, &sweep.totals, "{:?} totals vs sweep at {}", policy, n);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The watch's path: each block's rows read once, a walk given only
    /// the rows whose payer or payee it reached (from an index kept
    /// beside it, as `tripoint watch`'s), the token verdicts computed once
    /// per graph. After every block it equals a fresh trace: a row left
    /// out or a walk left parked that should have moved would show.
    #[test]
    fn live_trace_given_only_the_rows_of_its_reached_addresses_equals_a_fresh_trace(
        edges in edges(),
        seeds in prop::collection::vec(0u8..40, 1..3),
        terminals in prop::collection::vec(0u8..40, 0..4),
        from_block in 0u8..30,
        until_block in prop::option::of(20u8..70),
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        lookalike in any::<bool>(),
        stride in 1usize..4,
    ) {
        let g = graph(&edges, &terminals);
        let seeds: Vec<u32> = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
        if seeds.is_empty() { return Ok(()); }
        let ends = block_ends(&g, stride);
        for policy in TaintPolicy::ALL {
            let mut cfg = limited(policy, seeds.clone(), from_block, until_block, max_hops, 0);
            cfg.spam.lookalike = lookalike;
            let mut live = LiveTrace::new(cfg.clone()).unwrap();
            let mut begin = 0u64;
            for &n in &ends {
                let p = Prefix { g: &g, n };
                let rows: Vec<TransferRow> = (begin..n).map(|id| p.transfer(id)).collect();
                let reached: std::collections::HashSet<AddrId> =
                    live.nodes().iter().map(|x| x.addr).collect();
                let among: Vec<u32> = (0..rows.len() as u32)
                    .filter(|&k| {
                        let r = &rows[k as usize];
                        reached.contains(&r.src) || reached.contains(&r.dst)
                    })
                    .collect();
                let verdicts = TokenVerdicts::new(&p, &cfg.spam);
                let step = if live.next() == begin && begin > 0 {
                    live.advance_rows_among(&p, &rows, Some(&among), Some(&verdicts)).unwrap()
                } else {
                    live.advance(&p).unwrap()
                };
                prop_assert_eq!(step.transfers.clone(), begin..n);
                begin = n;
                // The step's flows, before and after they are packed.
                let new = live.flows_of(&step).into_owned();
                if n % 2 == 0 {
                    live.pack_flows();
                }
                let got = live.result(&p);
                let got_flows = got.flows.to_vec();
                prop_assert_eq!(&got_flows[step.flows.clone()], &new[..]);
                prop_assert_eq!(&got_flows[step.flows.clone()], &live.flows_of(&step)[..]);
                prop_assert_eq!(&got_flows, &live.flows());
                let sparse = trace_general(&p, &cfg, true).unwrap();
                assert_same(&got, &sparse, &format!("{policy:?} live (rows among) vs sparse at {n}"))?;
                prop_assert_eq!(got.visited, sparse.visited);
            }
        }
    }
}

#[test]
fn a_graph_that_shrank_is_refused() {
    let g = graph(&[(1, 2, 10, 0, 1, false), (2, 3, 5, 0, 2, false)], &[]);
    let seed = g.lookup(&addr(1)).unwrap();
    let mut live = LiveTrace::new(tripoint_trace::TraceConfig::new(
        TaintPolicy::Haircut,
        vec![seed],
    ))
    .unwrap();
    live.advance(&g).unwrap();
    assert_eq!(live.flows().len(), 2);
    let err = live.advance(&Prefix { g: &g, n: 1 }).unwrap_err();
    assert!(err.to_string().contains("shrank"), "{err}");
}
