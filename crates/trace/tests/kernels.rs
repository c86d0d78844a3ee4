//! The fast sweep kernels (`Traversal::Sweep`, `Traversal::Auto`) against the
//! general engine (`trace_general`): same result content, for every policy,
//! on random graphs with tokens, spam tokens, DEX swaps, terminals,
//! look-alike addresses, dust, hop and time limits.

mod common;

use common::{
    addr, assert_same, block_time, edges, fake_ether, graph_with, hash, limited, numbered, record,
    staked_token, token, xorshift, Edge,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, OutPoint, Position, TransferGraph,
    TransferRecord, TxHash, U256,
};
use tripoint_store::TempFileSpills;
use tripoint_trace::arith::{haircut_share, mul_div_floor};
use tripoint_trace::{
    reached, trace, trace_general, EngineKind, MemGraph, SpillSink, SpillSinks, TaintPolicy,
    TraceConfig, TraceResult, Traversal,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn sweep_kernels_match_the_general_engine(
        edges in edges(),
        seeds in prop::collection::vec(0u8..40, 1..3),
        terminals in prop::collection::vec(0u8..40, 0..4),
        from_block in 0u8..30,
        until_block in prop::option::of(20u8..70),
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
        lookalike in any::<bool>(),
        budget in 0u64..40,
        dex in any::<bool>(),
        spill_appends in 0usize..4,
    ) {
        // Without the label, address 5's swaps are found from the
        // transaction, and a later payment outside a swap walks it.
        let g = graph_with(&edges, &terminals, dex);
        let seeds: Vec<u32> = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
        if seeds.is_empty() { return Ok(()); }
        for policy in TaintPolicy::ALL {
            let mut cfg = limited(policy, seeds.clone(), from_block, until_block, max_hops, dust);
            cfg.spam.lookalike = lookalike;
            let reference = trace_general(&g, &cfg, false).unwrap();
            cfg.traversal = Traversal::Sweep;
            let fast = trace(&g, &cfg).unwrap();
            // Account chain: the kernel covers every policy but FIFO/LIFO,
            // as long as native sums fit its 96-bit accounts.
            let native_fits = (0..g.transfer_count())
                .map(|id| g.transfer(id))
                .filter(|r| r.asset == tripoint_chain::NATIVE_ASSET)
                .try_fold(Amount::ZERO, |acc, r| acc.checked_add(r.amount))
                .is_some_and(|sum| sum < Amount::from(1u128 << 96));
            let covered = native_fits && !matches!(policy, TaintPolicy::Fifo | TaintPolicy::Lifo);
            if covered {
                prop_assert_eq!(fast.engine, EngineKind::SweepKernel);
            }
            assert_same(&fast, &reference, &format!("{policy:?} sweep"))?;
            prop_assert_eq!(fast.visited, reference.visited);
            // The compact per-address state (for huge graphs) gives the
            // same result, on the kernel too, and so do flows spilled to
            // temporary files every few flows, and to sinks that refuse
            // an append after a few (the rest stays in memory).
            cfg.compact_state = Some(true);
            cfg.spill_flows_above = Some(20);
            cfg.spill = Some(Arc::new(TempFileSpills));
            let compact = trace(&g, &cfg).unwrap();
            if covered {
                prop_assert_eq!(compact.engine, EngineKind::SweepKernel);
            }
            assert_same(&compact, &reference, &format!("{policy:?} compact sweep"))?;
            prop_assert_eq!(compact.visited, reference.visited);
            cfg.spill = Some(Arc::new(RefusingSpills::after(spill_appends)));
            let refused = trace(&g, &cfg).unwrap();
            assert_same(&refused, &reference, &format!("{policy:?} refused spill"))?;
            prop_assert_eq!(refused.visited, reference.visited);
            cfg.compact_state = None;
            cfg.spill_flows_above = None;
            cfg.spill = None;
            // Auto past its budget restarts as the sweep; within it, it is
            // the sparse walk.
            cfg.traversal = Traversal::Auto;
            cfg.sparse_budget = Some(budget);
            let auto = trace(&g, &cfg).unwrap();
            let sparse = trace_general(&g, &cfg, true).unwrap();
            prop_assert!(
                assert_same(&auto, &reference, "").is_ok() || assert_same(&auto, &sparse, "").is_ok(),
                "{policy:?} auto is neither the sweep nor the sparse walk"
            );
            // Either way the taint is the same as the sweep's.
            prop_assert_eq!(&auto.flows, &reference.flows);
            prop_assert_eq!(&auto.totals, &reference.totals);
        }
    }

    #[test]
    fn reach_gives_the_poison_traces_nodes(
        edges in edges(),
        seeds in prop::collection::vec(0u8..40, 1..3),
        terminals in prop::collection::vec(0u8..40, 0..4),
        from_block in 0u8..30,
        until_block in prop::option::of(20u8..70),
        max_hops in prop_oneof![Just(u32::MAX), Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
        walk_terminals in any::<bool>(),
        dex in any::<bool>(),
        lookalike in prop::bool::weighted(0.2),
    ) {
        let g = graph_with(&edges, &terminals, dex);
        let seeds: Vec<u32> = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
        if seeds.is_empty() { return Ok(()); }
        let mut cfg = limited(TaintPolicy::Poison, seeds, from_block, until_block, max_hops, dust);
        cfg.walk_terminals = walk_terminals;
        cfg.spam.lookalike = lookalike;
        let nodes = |r: &TraceResult| {
            r.nodes
                .iter()
                .map(|n| (n.addr, n.role, n.hops, n.first, n.category.as_deref().cloned()))
                .collect::<Vec<_>>()
        };
        let reference = trace_general(&g, &cfg, false).unwrap();
        let sparse = trace_general(&g, &cfg, true).unwrap();
        prop_assert_eq!(nodes(&reference), nodes(&sparse));
        // A DEX node, or a swap read at a walked payee (poison takes both
        // readings there).
        let has_dex = reference.nodes.iter().any(|n| n.role == tripoint_trace::Role::Dex)
            || !reference.swaps.is_empty();
        let r = reached(&g, &cfg).unwrap();
        prop_assert_eq!(r.len(), reference.nodes.len());
        let got: Vec<_> = r
            .iter()
            .map(|n| (n.addr, n.role, n.hops, n.first, n.category.clone()))
            .collect();
        prop_assert_eq!(got, nodes(&reference));
        // The kernel declines only where the full trace is needed.
        if r.engine == EngineKind::ReachKernel {
            prop_assert!(!lookalike && !has_dex);
        } else {
            prop_assert!(lookalike || has_dex, "reach gave up without a reason");
        }
    }

    #[test]
    fn haircut_share_is_mul_div_floor(
        a in prop_oneof![any::<u128>(), any::<u64>().prop_map(u128::from)],
        t in prop_oneof![any::<u128>(), any::<u64>().prop_map(u128::from), Just(0u128)],
        extra in any::<u128>(),
        wide in 0u8..4,
    ) {
        // b > a as the haircut path requires; sometimes beyond 128 bits.
        let a = Amount::from(a);
        let b = match wide {
            0 => a + Amount::ONE,
            1 => a.saturating_add(Amount::from(extra)).max(a + Amount::ONE),
            2 => Amount::from_words(extra % 7, extra) .max(a + Amount::ONE),
            _ => U256::MAX,
        };
        let t = match wide { 3 => Amount::from_words(extra, t), _ => Amount::from(t) };
        prop_assert_eq!(haircut_share(a, t, b), mul_div_floor(a, t, b, t));
    }
}

#[test]
fn haircut_share_edge_cases() {
    let m = Amount::from(u128::MAX);
    for (a, t, b) in [
        (m - Amount::ONE, m, m),
        (Amount::ONE, m, m),
        (m - Amount::ONE, m - Amount::ONE, m),
        (Amount::from(1u128 << 100), Amount::from(1u128 << 127), m),
        (Amount::from(3u8), Amount::from(7u8), Amount::from(10u8)),
    ] {
        assert_eq!(
            haircut_share(a, t, b),
            mul_div_floor(a, t, b, t),
            "{a} {t} {b}"
        );
    }
}

/// Real temporary files ([`TempFileSpills`]), counting the bytes they took.
#[derive(Debug, Default)]
struct CountedFiles {
    taken: Arc<AtomicU64>,
}

struct CountedFile {
    file: Box<dyn SpillSink>,
    taken: Arc<AtomicU64>,
}

impl SpillSinks for CountedFiles {
    fn sink(&self) -> Box<dyn SpillSink> {
        Box::new(CountedFile {
            file: TempFileSpills.sink(),
            taken: Arc::clone(&self.taken),
        })
    }
}

impl SpillSink for CountedFile {
    fn append(&mut self, bytes: &[u8]) -> bool {
        let written = self.file.append(bytes);
        if written {
            self.taken.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        written
    }
    fn len(&self) -> u64 {
        self.file.len()
    }
    fn read_pieces(self: Box<Self>, piece: usize, f: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        self.file.read_pieces(piece, f)
    }
}

/// Sinks (in memory) that take the first `appends` appends between them and
/// refuse every later one, as a full disk would.
#[derive(Debug)]
struct RefusingSpills {
    appends_left: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

struct RefusingSink {
    bytes: Vec<u8>,
    appends_left: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl RefusingSpills {
    fn after(appends: usize) -> Self {
        RefusingSpills {
            appends_left: Arc::new(AtomicUsize::new(appends)),
            refused: Arc::default(),
        }
    }
}

impl SpillSinks for RefusingSpills {
    fn sink(&self) -> Box<dyn SpillSink> {
        Box::new(RefusingSink {
            bytes: Vec::new(),
            appends_left: Arc::clone(&self.appends_left),
            refused: Arc::clone(&self.refused),
        })
    }
}

impl SpillSink for RefusingSink {
    fn append(&mut self, bytes: &[u8]) -> bool {
        let take = |n: usize| n.checked_sub(1);
        if self
            .appends_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, take)
            .is_ok()
        {
            self.bytes.extend_from_slice(bytes);
            true
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_pieces(self: Box<Self>, piece: usize, f: &mut dyn FnMut(&[u8])) -> std::io::Result<()> {
        self.bytes.chunks(piece.max(1)).for_each(f);
        Ok(())
    }
}

/// Flows spilled every few flows to temporary files, or to sinks that
/// refuse an append after 0, 1, 2, … of them (the flows' sink or their
/// payees', part of the way through): the result is the one with every flow
/// in memory, for every policy and both layouts.
#[test]
fn spilled_and_refused_flows_give_the_same_result() {
    // A chain 0 → 1 → … → 39 in ETH and the token, then back to the start.
    let mut edges: Vec<Edge> = Vec::new();
    for i in 0..39u8 {
        edges.push((i, i + 1, 1_000_000 + u128::from(i), 0, i, false));
        edges.push((i, i + 1, 7_000 + u128::from(i), 1, i, false));
    }
    edges.push((39, 0, 123_456, 0, 50, false));
    edges.push((20, 3, 999, 1, 51, false));
    let g = graph_with(&edges, &[], false);
    let seed = g.lookup(&addr(0)).unwrap();
    for policy in TaintPolicy::ALL {
        for compact in [false, true] {
            let mut cfg = TraceConfig::new(policy, vec![seed]);
            cfg.spam.lookalike = false;
            cfg.traversal = Traversal::Sweep;
            cfg.compact_state = Some(compact);
            let what = format!("{policy:?} compact {compact}");
            let in_memory = trace(&g, &cfg).unwrap();
            let kernel = in_memory.engine == EngineKind::SweepKernel;
            assert_eq!(
                kernel,
                !matches!(policy, TaintPolicy::Fifo | TaintPolicy::Lifo),
                "{what}"
            );
            assert!(
                in_memory.flows.len() >= 78,
                "{what}: {}",
                in_memory.flows.len()
            );
            cfg.spill_flows_above = Some(40);

            let files = Arc::new(CountedFiles::default());
            cfg.spill = Some(files.clone());
            let spilled = trace(&g, &cfg).unwrap();
            assert_same(&spilled, &in_memory, &format!("{what} spilled")).unwrap();
            assert_eq!(spilled.visited, in_memory.visited, "{what}");
            // Most of the flows went through the files (10+ bytes a flow
            // and 8 a payee).
            let taken = files.taken.load(Ordering::Relaxed);
            if kernel {
                assert!(taken >= 78 * 8, "{what}: {taken} bytes spilled");
            } else {
                assert_eq!(taken, 0, "{what}: the general engine does not spill");
            }

            for appends in 0..8 {
                let refusing = Arc::new(RefusingSpills::after(appends));
                cfg.spill = Some(refusing.clone());
                let refused = trace(&g, &cfg).unwrap();
                let what = format!("{what}, refused after {appends} appends");
                assert_same(&refused, &in_memory, &what).unwrap();
                assert_eq!(refused.visited, in_memory.visited, "{what}");
                if kernel {
                    assert_eq!(refusing.appends_left.load(Ordering::Relaxed), 0, "{what}");
                    // One refusal stops the spilling: no append is tried after it.
                    assert_eq!(refusing.refused.load(Ordering::Relaxed), 1, "{what}");
                }
            }
        }
    }
}

/// Token balances beyond 128 bits: the kernel keeps token accounts in 128
/// bits and moves an account's amounts to a side table once they outgrow
/// them; the results stay the general engine's.
#[test]
fn sweep_token_accounts_beyond_128_bits_match_the_general_engine() {
    let (half, max) = (u128::MAX / 2 + 1, u128::MAX);
    // (src, dst, amount, asset 1 = token, block, same tx)
    let edges: Vec<Edge> = vec![
        (1, 2, half, 1, 1, false),
        (3, 2, half, 1, 2, false),
        (3, 2, max, 1, 3, false),
        (2, 4, max / 3, 1, 4, false),
        (2, 4, max, 1, 5, false),
        (1, 4, 7, 0, 6, false),
        (4, 6, max, 1, 7, false),
        (2, 6, 12_345, 1, 8, false),
        (6, 1, 5, 1, 9, false),
    ];
    let g = graph_with(&edges, &[], false);
    let seed = g.lookup(&addr(1)).unwrap();
    for policy in [TaintPolicy::Haircut, TaintPolicy::Poison] {
        let mut cfg = TraceConfig::new(policy, vec![seed]);
        cfg.spam.lookalike = false;
        let reference = trace_general(&g, &cfg, false).unwrap();
        cfg.traversal = Traversal::Sweep;
        for compact in [false, true] {
            cfg.compact_state = Some(compact);
            let fast = trace(&g, &cfg).unwrap();
            assert_eq!(
                fast.engine,
                EngineKind::SweepKernel,
                "the kernel covers this graph"
            );
            let what = format!("{policy:?} compact {compact}");
            assert_same(&fast, &reference, &what).unwrap();
            assert_eq!(fast.visited, reference.visited, "{what}");
            assert!(fast.nodes.len() >= 4, "{what}: {}", fast.nodes.len());
        }
    }
}

/// On a UTXO chain the kernel gives up at the first transaction node and the
/// general engine answers: same result as asking it directly.
#[test]
fn utxo_sweep_falls_back_to_the_general_engine() {
    let btc = |i: u8| Address::parse_btc(&format!("1Seed{i:02}xxxxxxxxxxxxxxxx")).unwrap();
    let (h0, h1) = (hash(1), hash(2));
    let rec = |tx: TxHash, ts: i64, position, from, to, amt: u64| TransferRecord {
        chain: Chain::Bitcoin,
        block: ts as u64,
        timestamp: ts,
        tx_hash: tx,
        tx_index: 0,
        position,
        from,
        to,
        asset: Asset::Native(Chain::Bitcoin),
        amount: Amount::from(amt),
    };
    let records = vec![
        rec(h0, 1, Position::Output(0), Address::Tx(h0), btc(0), 50_000),
        rec(h0, 1, Position::Output(1), Address::Tx(h0), btc(1), 30_000),
        rec(
            h1,
            2,
            Position::Input {
                index: 0,
                spends: OutPoint { tx: h0, index: 0 },
            },
            btc(0),
            Address::Tx(h1),
            50_000,
        ),
        rec(h1, 2, Position::Output(0), Address::Tx(h1), btc(2), 20_000),
        rec(h1, 2, Position::Output(1), Address::Tx(h1), btc(3), 30_000),
    ];
    let g = MemGraph::build(records, vec![], vec![]);
    let seed = g.lookup(&btc(0)).unwrap();
    for policy in TaintPolicy::ALL {
        let mut cfg = TraceConfig::new(policy, vec![seed]);
        let reference = trace_general(&g, &cfg, false).unwrap();
        cfg.traversal = Traversal::Sweep;
        let fast = trace(&g, &cfg).unwrap();
        assert_eq!(fast.flows, reference.flows, "{policy:?}");
        assert_eq!(fast.totals, reference.totals, "{policy:?}");
        assert!(fast.reached().count() >= 3, "{policy:?}");
        assert!(g.transfer_count() == 5);
    }
}

/// Past four batches `reach` reads on a second thread: on a graph of
/// 150,000 pseudo-random transfers (tokens, a spam token, zero values,
/// dust, a start time, and an `until` that ends the pass early) it still
/// gives the general engine's poison nodes.
#[test]
fn reach_on_a_large_graph_matches_the_poison_trace() {
    let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
    let wide = |i: u64| numbered(0xb0, i);
    let mut records = Vec::new();
    for i in 0..150_000u64 {
        let asset = match rnd(10) {
            0..=6 => Asset::Native(Chain::Ethereum),
            7 | 8 => Asset::Token(token(1)),
            _ => Asset::Token(token(2)),
        };
        let native = matches!(asset, Asset::Native(_));
        let (fa, ta) = (rnd(20_000), rnd(20_000));
        let (from, to) = (rnd(1 + fa), rnd(1 + ta));
        records.push(TransferRecord {
            chain: Chain::Ethereum,
            block: i / 4,
            timestamp: block_time(i / 4),
            tx_hash: hash(i),
            tx_index: (i % 4) as u32,
            position: if native {
                Position::NativeValue
            } else {
                Position::Log(1)
            },
            // A skewed choice of addresses, so that some are busy.
            from: wide(from),
            to: wide(to),
            asset,
            amount: Amount::from(if rnd(20) == 0 { 0 } else { rnd(1_000_000) }),
        });
    }
    let tokens = vec![staked_token(token(1)), fake_ether(token(2))];
    let g = MemGraph::build(records, tokens, vec![]);
    let seed = g.lookup(&wide(0)).unwrap();
    let nodes = |r: &TraceResult| {
        r.nodes
            .iter()
            .map(|n| {
                (
                    n.addr,
                    n.role,
                    n.hops,
                    n.first,
                    n.category.as_deref().cloned(),
                )
            })
            .collect::<Vec<_>>()
    };
    for (until, dust) in [(None, 0u64), (Some(block_time(30_000)), 1_000)] {
        let mut cfg = TraceConfig::new(TaintPolicy::Poison, vec![seed]);
        cfg.from = block_time(2_000);
        cfg.until = until;
        cfg.dust = Amount::from(dust);
        cfg.max_hops = 40;
        cfg.spam.lookalike = false;
        let reference = trace_general(&g, &cfg, false).unwrap();
        let r = reached(&g, &cfg).unwrap();
        assert_eq!(
            r.engine,
            EngineKind::ReachKernel,
            "no DEX, no look-alike rule"
        );
        let got: Vec<_> = r
            .iter()
            .map(|n| (n.addr, n.role, n.hops, n.first, n.category.clone()))
            .collect();
        assert!(got.len() > 1_000, "the taint spreads: {}", got.len());
        assert_eq!(got, nodes(&reference), "until {until:?} dust {dust}");
        // The sweep kernel's compact state (with its second-stage
        // prefetches over many batches) against the dense one, under both
        // balance-free poison and haircut.
        for policy in [TaintPolicy::Poison, TaintPolicy::Haircut] {
            cfg.policy = policy;
            cfg.traversal = Traversal::Sweep;
            let what = format!("{policy:?} until {until:?} dust {dust}");
            cfg.compact_state = Some(false);
            let dense = trace(&g, &cfg).unwrap();
            cfg.compact_state = Some(true);
            let compact = trace(&g, &cfg).unwrap();
            assert_eq!(dense.engine, EngineKind::SweepKernel, "{what}");
            assert_eq!(compact.engine, EngineKind::SweepKernel, "{what}");
            assert!(
                compact.flows.len() > 1_000,
                "{what}: {}",
                compact.flows.len()
            );
            assert_same(&compact, &dense, &what).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Up to nine tokens, so that some have no state bit of their own in
    /// `reach` (asset ids past five: a chain per address) and one is spam:
    /// still the general engine's poison nodes.
    #[test]
    fn reach_with_many_tokens_gives_the_poison_traces_nodes(
        edges in prop::collection::vec(
            (0u8..30, 0u8..30, prop_oneof![1 => Just(0u64), 6 => 1u64..1000], 0u8..10, 0u8..60),
            1..250,
        ),
        seeds in prop::collection::vec(0u8..30, 1..3),
        from_block in 0u8..20,
        until_block in prop::option::of(30u8..70),
        dust in prop_oneof![Just(0u64), 1u64..300],
    ) {
        let records: Vec<TransferRecord> = edges
            .iter()
            .enumerate()
            .map(|(i, &(s, d, amt, asset, blk))| record(i as u64, s, d, amt, asset, blk, 1))
            .collect();
        let g = MemGraph::build(records, vec![fake_ether(token(9))], vec![]);
        let seeds: Vec<u32> = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
        if seeds.is_empty() { return Ok(()); }
        let mut cfg = limited(TaintPolicy::Poison, seeds, from_block, until_block, u32::MAX, dust);
        cfg.spam.lookalike = false;
        let reference = trace_general(&g, &cfg, false).unwrap();
        let want: Vec<_> = reference
            .nodes
            .iter()
            .map(|n| (n.addr, n.role, n.hops, n.first, n.category.as_deref().cloned()))
            .collect();
        let r = reached(&g, &cfg).unwrap();
        assert_eq!(r.engine, EngineKind::ReachKernel, "no DEX, no look-alike rule");
        let got: Vec<_> = r
            .iter()
            .map(|n| (n.addr, n.role, n.hops, n.first, n.category.clone()))
            .collect();
        prop_assert_eq!(got, want);
    }
}

/// On a graph large enough for `reach`'s reader thread, reaching a DEX
/// (the swap rule: the full trace's job) mid-pass stops both threads and
/// gives `None`, as does a pass cut short by `until`; neither hangs.
#[test]
fn reach_stops_its_reader_thread_when_it_gives_up() {
    let mut rnd = xorshift(0x2545_f491_4f6c_dd1d);
    let wide = |i: u64| numbered(0xd0, i);
    // The DEX (address 7) is paid only from transfer 90,000 on.
    let records: Vec<TransferRecord> = (0..120_000u64)
        .map(|i| {
            let to = if i >= 90_000 && rnd(50) == 0 {
                7
            } else {
                8 + rnd(5_000)
            };
            TransferRecord {
                chain: Chain::Ethereum,
                block: i / 4,
                timestamp: block_time(i / 4),
                tx_hash: hash(i),
                tx_index: (i % 4) as u32,
                position: Position::NativeValue,
                from: wide(if i == 0 { 0 } else { 8 + rnd(5_000) }),
                to: wide(if i == 0 { 8 } else { to }),
                asset: Asset::Native(Chain::Ethereum),
                amount: Amount::from(1 + rnd(1_000)),
            }
        })
        .collect();
    let dex = Label {
        address: wide(7),
        label: "router".into(),
        category: Category::Dex,
        source: "test".into(),
        attribution: Default::default(),
    };
    let g = MemGraph::build(records, vec![], vec![dex]);
    let mut cfg = TraceConfig::new(TaintPolicy::Poison, vec![g.lookup(&wide(0)).unwrap()]);
    cfg.spam.lookalike = false;
    let reference = trace_general(&g, &cfg, false).unwrap();
    assert!(reference
        .nodes
        .iter()
        .any(|n| n.role == tripoint_trace::Role::Dex));
    let r = reached(&g, &cfg).unwrap();
    assert_ne!(r.engine, EngineKind::ReachKernel, "a DEX is reached");
    assert_eq!(r.len(), reference.nodes.len());
    // Cut before the DEX is paid: the pass ends early, and is exact.
    cfg.until = Some(block_time(60_000 / 4));
    let reference = trace_general(&g, &cfg, false).unwrap();
    let r = reached(&g, &cfg).unwrap();
    assert_eq!(r.engine, EngineKind::ReachKernel, "no DEX before the cut");
    assert!(r.len() > 1_000, "the taint spreads: {}", r.len());
    assert_eq!(r.len(), reference.nodes.len());
    assert!(r
        .iter()
        .zip(&reference.nodes)
        .all(|(a, b)| (a.addr, a.hops, a.first) == (b.addr, b.hops, b.first)));
}
