//! Property tests of the taint engine over random in-memory graphs.

mod common;

use common::{hash, staked_token, terminal_labels};
use proptest::prelude::*;
use tripoint_chain::{
    Address, Amount, Asset, Chain, OutPoint, Position, TransferGraph, TransferRecord, TxHash,
};
use tripoint_trace::{trace, MemGraph, TaintPolicy, TraceConfig, Traversal};

fn addr(i: u8) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xa0;
    b[19] = i;
    b[10] = i.wrapping_mul(37);
    Address::Eth(b)
}

fn token() -> Address {
    let mut b = [0u8; 20];
    b[0] = 0x70;
    Address::Eth(b)
}

/// (src, dst, amount, token?, block) tuples into an Ethereum graph where
/// address 0..3 may be exchanges/mixers and one address is a DEX.
fn eth_graph(edges: &[(u8, u8, u64, bool, u8)], terminals: &[u8]) -> MemGraph {
    let records = edges
        .iter()
        .enumerate()
        .map(|(i, &(s, d, amt, tok, blk))| TransferRecord {
            chain: Chain::Ethereum,
            block: blk as u64,
            timestamp: 1_000 + blk as i64 * 12,
            tx_hash: hash(i as u64),
            tx_index: i as u32,
            position: if tok {
                Position::Log(0)
            } else {
                Position::NativeValue
            },
            from: addr(s),
            to: addr(d),
            asset: if tok {
                Asset::Token(token())
            } else {
                Asset::Native(Chain::Ethereum)
            },
            amount: Amount::from(amt),
        })
        .collect();
    let labels = terminal_labels(terminals, addr);
    let tokens = vec![staked_token(token())];
    MemGraph::build(records, tokens, labels)
}

fn edges() -> impl Strategy<Value = Vec<(u8, u8, u64, bool, u8)>> {
    prop::collection::vec(
        (
            0u8..24,
            0u8..24,
            prop_oneof![1u64..1_000, Just(1_000_000u64), 1u64..u64::MAX / 4],
            prop::bool::weighted(0.2),
            0u8..60,
        ),
        1..160,
    )
}

fn config(
    g: &MemGraph,
    policy: TaintPolicy,
    seeds: &[u8],
    from_block: u8,
    max_hops: u32,
    dust: u64,
    traversal: Traversal,
) -> TraceConfig {
    let seeds = seeds.iter().filter_map(|&s| g.lookup(&addr(s))).collect();
    let mut cfg = TraceConfig::new(policy, seeds);
    cfg.from = 1_000 + from_block as i64 * 12;
    cfg.max_hops = max_hops;
    cfg.dust = Amount::from(dust);
    cfg.traversal = traversal;
    cfg
}

/// One leg of a transaction: (src, dst, amount, token?).
type Leg = (u8, u8, u64, bool);

/// Transactions of several legs each, as contracts make them: the first
/// ether leg is the transaction's own value, later ether legs are internal
/// transfers (`Position::internal`, from traces), token legs are logs. With
/// `pays_back` the second leg returns the other asset from the first leg's
/// payee to its payer in the same transaction: a swap found from the
/// transaction (a pool paying tokens, a router paying out ether).
fn contract_graph(txs: &[(u8, bool, Vec<Leg>)], terminals: &[u8]) -> MemGraph {
    let mut records = Vec::new();
    for (i, (blk, pays_back, legs)) in txs.iter().enumerate() {
        let mut legs = legs.clone();
        if *pays_back && legs.len() >= 2 {
            let first = legs[0];
            legs[1] = (first.1, first.0, legs[1].2, !first.3);
        }
        let (mut eth_rank, mut log) = (0u32, 0u32);
        for &(s, d, amt, tok) in &legs {
            let position = if tok {
                log += 1;
                Position::Log(log - 1)
            } else {
                eth_rank += 1;
                if eth_rank == 1 {
                    Position::NativeValue
                } else {
                    Position::internal(eth_rank - 1).expect("few frames")
                }
            };
            records.push(TransferRecord {
                chain: Chain::Ethereum,
                block: *blk as u64,
                timestamp: 1_000 + *blk as i64 * 12,
                tx_hash: hash(i as u64),
                tx_index: i as u32,
                position,
                from: addr(s),
                to: addr(d),
                asset: if tok {
                    Asset::Token(token())
                } else {
                    Asset::Native(Chain::Ethereum)
                },
                amount: Amount::from(amt),
            });
        }
    }
    let labels = terminal_labels(terminals, addr);
    MemGraph::build(records, vec![staked_token(token())], labels)
}

fn contract_txs() -> impl Strategy<Value = Vec<(u8, bool, Vec<Leg>)>> {
    prop::collection::vec(
        (
            0u8..60,
            prop::bool::weighted(0.4),
            prop::collection::vec(
                (
                    0u8..16,
                    0u8..16,
                    prop_oneof![1u64..1_000, 1u64..u64::MAX / 4],
                    prop::bool::weighted(0.4),
                ),
                1..4,
            ),
        ),
        1..80,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    /// Issue 17: with internal transfers and swaps found from the
    /// transaction, the conserving policies still reconcile to the unit,
    /// sparse and sweep alike.
    #[test]
    fn internal_transfers_and_swaps_conserve_to_the_unit(
        txs in contract_txs(),
        seeds in prop::collection::vec(0u8..16, 1..3),
        terminals in prop::collection::vec(0u8..16, 0..3),
        from_block in 0u8..30,
    ) {
        let g = contract_graph(&txs, &terminals);
        for policy in [TaintPolicy::Haircut, TaintPolicy::Fifo, TaintPolicy::Lifo, TaintPolicy::Tiho] {
            for traversal in [Traversal::Sparse, Traversal::Sweep] {
                let cfg = config(&g, policy, &seeds, from_block, 64, 0, traversal);
                if cfg.seeds.is_empty() { return Ok(()); }
                let r = trace(&g, &cfg).unwrap();
                for (asset, t) in &r.totals {
                    prop_assert!(t.reconciles(), "{policy:?} {traversal:?} asset {asset}: {t:?}");
                }
            }
        }
    }

    /// Issue 17: poison's reached set contains every other policy's on
    /// random multi-leg transactions (internal transfers, swaps found from
    /// the transaction, counterparties paid again later), with terminals,
    /// hop limits and dust, for every traversal; sparse and sweep give the
    /// same taint.
    #[test]
    fn poison_contains_every_policy_with_internal_transfers_and_swaps(
        txs in contract_txs(),
        seeds in prop::collection::vec(0u8..16, 1..3),
        terminals in prop::collection::vec(0u8..16, 0..3),
        from_block in 0u8..30,
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
    ) {
        let g = contract_graph(&txs, &terminals);
        assert_poison_contains_every_policy(&g, &seeds, from_block, max_hops, dust)?;
    }

    /// `--format summary` prints from [`build_summary_report`], which keeps
    /// neither the flows' rows nor the address rows: the text is the one
    /// the full report gives, for every policy, with terminals (endpoints,
    /// freeze candidates) and swaps.
    #[test]
    fn the_summary_report_prints_the_full_reports_summary(
        txs in contract_txs(),
        seeds in prop::collection::vec(0u8..16, 1..3),
        terminals in prop::collection::vec(0u8..16, 0..4),
        from_block in 0u8..30,
    ) {
        let g = contract_graph(&txs, &terminals);
        for policy in TaintPolicy::ALL {
            let cfg = config(&g, policy, &seeds, from_block, 64, 0, Traversal::Sweep);
            if cfg.seeds.is_empty() { return Ok(()); }
            let r = trace(&g, &cfg).unwrap();
            let opts = tripoint_trace::ReportOptions::default();
            let full = tripoint_trace::text::summary(&tripoint_trace::build_report(&g, &r, &opts));
            let short = tripoint_trace::text::summary(&tripoint_trace::build_summary_report(&g, &r, &opts));
            prop_assert_eq!(short, full, "{:?}", policy);
        }
    }

    #[test]
    fn conserving_policies_reconcile_to_the_unit(
        edges in edges(),
        seeds in prop::collection::vec(0u8..24, 1..3),
        terminals in prop::collection::vec(0u8..24, 0..4),
        from_block in 0u8..30,
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
    ) {
        let g = eth_graph(&edges, &terminals);
        for policy in [TaintPolicy::Haircut, TaintPolicy::Fifo, TaintPolicy::Lifo, TaintPolicy::Tiho] {
            let cfg = config(&g, policy, &seeds, from_block, max_hops, dust, Traversal::Sparse);
            if cfg.seeds.is_empty() { continue; }
            let r = trace(&g, &cfg).unwrap();
            for (asset, t) in &r.totals {
                prop_assert!(t.reconciles(), "{policy:?} asset {asset}: {t:?}");
            }
            // Held per address never exceeds what the address received.
            for (i, asset, h) in r.held.iter() {
                let got = r.received.of_node(i).find(|e| e.0 == asset).map(|e| e.1).unwrap_or_default();
                prop_assert!(h <= got, "{policy:?}: held {h} > received {got}");
            }
        }
    }

    #[test]
    fn poison_reaches_a_superset_and_nothing_before_start(
        edges in edges(),
        seeds in prop::collection::vec(0u8..24, 1..3),
        terminals in prop::collection::vec(0u8..24, 0..4),
        from_block in 0u8..30,
        max_hops in prop_oneof![Just(64u32), 1u32..4],
        dust in prop_oneof![Just(0u64), 1u64..500],
    ) {
        let g = eth_graph(&edges, &terminals);
        let cfg = config(&g, TaintPolicy::Poison, &seeds, from_block, max_hops, dust, Traversal::Sparse);
        if cfg.seeds.is_empty() { return Ok(()); }
        let poison = trace(&g, &cfg).unwrap();
        let reached: std::collections::HashSet<_> = poison.reached().collect();
        // Without look-alike detection poison skips receipts and balances;
        // these graphs have no look-alikes, so the reached set is the same.
        let mut lean = cfg.clone();
        lean.spam.lookalike = false;
        let lean: std::collections::HashSet<_> = trace(&g, &lean).unwrap().reached().collect();
        prop_assert_eq!(&lean, &reached);
        for policy in TaintPolicy::ALL {
            let cfg = config(&g, policy, &seeds, from_block, max_hops, dust, Traversal::Sparse);
            let r = trace(&g, &cfg).unwrap();
            for a in r.reached() {
                prop_assert!(reached.contains(&a), "{policy:?} reached {a} which poison did not");
            }
            for f in &r.flows {
                prop_assert!(g.transfer(f.id).timestamp >= cfg.from, "{policy:?}: taint moved before the start");
            }
        }
    }

    #[test]
    fn sweep_and_sparse_traversals_agree(
        edges in edges(),
        seeds in prop::collection::vec(0u8..24, 1..3),
        terminals in prop::collection::vec(0u8..24, 0..4),
        from_block in 0u8..30,
    ) {
        let g = eth_graph(&edges, &terminals);
        for policy in TaintPolicy::ALL {
            let a = trace(&g, &config(&g, policy, &seeds, from_block, 64, 0, Traversal::Sparse));
            let b = trace(&g, &config(&g, policy, &seeds, from_block, 64, 0, Traversal::Sweep));
            let (Ok(a), Ok(b)) = (a, b) else { continue };
            prop_assert_eq!(&a.flows, &b.flows, "{:?}", policy);
            prop_assert_eq!(&a.totals, &b.totals, "{:?}", policy);
        }
    }

    #[test]
    fn utxo_spends_carry_exactly_the_outputs_they_name(
        txs in prop::collection::vec((prop::collection::vec(0usize..64, 1..4), prop::collection::vec((0u8..12, 1u64..10_000), 1..4)), 1..40),
    ) {
        // A chain of Bitcoin transactions: tx 0 is a coinbase-like payment to
        // address 0 (the seed); later txs spend earlier unspent outputs.
        let mut records = Vec::new();
        let mut utxos: Vec<(TxHash, u32, Address, u64)> = Vec::new();
        let btc = |i: u8| Address::parse_btc(&format!("1Seed{i:02}xxxxxxxxxxxxxxxx")).unwrap();
        let funding = hash(9_999);
        for (n, amt) in [(0u32, 50_000u64), (1, 30_000)] {
            records.push(TransferRecord { chain: Chain::Bitcoin, block: 0, timestamp: 0, tx_hash: funding, tx_index: 0,
                position: Position::Output(n), from: Address::Tx(funding), to: btc(n as u8), asset: Asset::Native(Chain::Bitcoin), amount: Amount::from(amt) });
            utxos.push((funding, n, btc(n as u8), amt));
        }
        for (t, (spend, outs)) in txs.iter().enumerate() {
            let h = hash(t as u64 + 1);
            let mut total = 0u64;
            let mut picked = Vec::new();
            for &s in spend {
                if utxos.is_empty() { break; }
                let u = utxos.remove(s % utxos.len());
                total += u.3;
                picked.push(u);
            }
            if picked.is_empty() { break; }
            for (k, u) in picked.iter().enumerate() {
                records.push(TransferRecord { chain: Chain::Bitcoin, block: t as u64 + 1, timestamp: t as i64 + 1, tx_hash: h, tx_index: 0,
                    position: Position::Input { index: k as u32, spends: OutPoint { tx: u.0, index: u.1 } }, from: u.2.clone(), to: Address::Tx(h), asset: Asset::Native(Chain::Bitcoin), amount: Amount::from(u.3) });
            }
            let weight: u64 = outs.iter().map(|o| o.1).sum();
            let mut left = total;
            for (k, &(to, w)) in outs.iter().enumerate() {
                let amt = if k + 1 == outs.len() { left } else { total / weight * w };
                left -= amt;
                records.push(TransferRecord { chain: Chain::Bitcoin, block: t as u64 + 1, timestamp: t as i64 + 1, tx_hash: h, tx_index: 0,
                    position: Position::Output(k as u32), from: Address::Tx(h), to: btc(to), asset: Asset::Native(Chain::Bitcoin), amount: Amount::from(amt) });
                utxos.push((h, k as u32, btc(to), amt));
            }
        }
        let g = MemGraph::build(records, vec![], vec![]);
        let seed = g.lookup(&Address::Tx(funding)).unwrap();
        for policy in TaintPolicy::ALL {
            let r = trace(&g, &TraceConfig::new(policy, vec![seed])).unwrap();
            let carried = r.carried();
            for id in 0..g.transfer_count() {
                if let Some(o) = g.spent_output(id) {
                    // An input carries exactly the taint of the output it spends.
                    let want = carried.get(&o).copied().unwrap_or_default();
                    let got = carried.get(&id).copied().unwrap_or_default();
                    if policy == TaintPolicy::Poison {
                        prop_assert_eq!(want > Amount::ZERO, got > Amount::ZERO);
                    } else {
                        prop_assert_eq!(want, got, "{:?} input {}", policy, id);
                    }
                }
            }
            if policy != TaintPolicy::Poison {
                for t in r.totals.values() { prop_assert!(t.reconciles(), "{policy:?} {t:?}"); }
            }
        }
    }
}

/// Poison's reached set (every traversal gives the same) contains the
/// reached set of every policy under every traversal, and sparse and sweep
/// carry the same taint.
fn assert_poison_contains_every_policy(
    g: &MemGraph,
    seeds: &[u8],
    from_block: u8,
    max_hops: u32,
    dust: u64,
) -> Result<(), TestCaseError> {
    use std::collections::BTreeSet;
    let traversals = [Traversal::Sparse, Traversal::Sweep, Traversal::Auto];
    let cfg = |policy, traversal| config(g, policy, seeds, from_block, max_hops, dust, traversal);
    if cfg(TaintPolicy::Poison, Traversal::Sparse).seeds.is_empty() {
        return Ok(());
    }
    let reached = |policy, traversal| -> BTreeSet<_> {
        trace(g, &cfg(policy, traversal))
            .expect("trace")
            .reached()
            .collect()
    };
    let poison = reached(TaintPolicy::Poison, Traversal::Sparse);
    for policy in TaintPolicy::ALL {
        for traversal in traversals {
            let r = reached(policy, traversal);
            let missing: Vec<_> = r.difference(&poison).collect();
            prop_assert!(
                missing.is_empty(),
                "{policy:?} {traversal:?} reached {missing:?}, which poison did not"
            );
            if policy == TaintPolicy::Poison {
                prop_assert_eq!(&r, &poison, "poison {:?}", traversal);
            }
        }
        let sparse = trace(g, &cfg(policy, Traversal::Sparse)).expect("trace");
        let sweep = trace(g, &cfg(policy, Traversal::Sweep)).expect("trace");
        prop_assert_eq!(&sparse.flows, &sweep.flows, "{:?}", policy);
        prop_assert_eq!(&sparse.totals, &sweep.totals, "{:?}", policy);
    }
    Ok(())
}

/// The minimal case the property test found (docs/trace.md, swap rule):
/// the seed pays 11 a token, 11 pays it on to 4; in one transaction 3
/// pays 11 ether and 11 pays 3 a token; later the seed pays 3 ether and 3
/// pays 6. Poison sees 11's token payment as a swap and makes 3 its
/// counterparty; haircut sees no taint there and walks 3 when the seed
/// pays it. 3 must be walked under poison too (it is a counterparty in
/// that transaction only), so poison reaches 6.
#[test]
fn poison_walks_a_swap_counterparty_paid_again_outside_a_swap() {
    let txs: Vec<(u8, bool, Vec<Leg>)> = vec![
        (53, false, vec![(3, 6, 1, false)]),
        (19, false, vec![(5, 11, 1, true)]),
        (0, false, vec![(0, 0, 1, false)]),
        (51, false, vec![(5, 3, 1, false)]),
        (19, false, vec![(11, 4, 1, true)]),
        (19, true, vec![(3, 11, 1, false), (0, 0, 1, false)]),
    ];
    let g = contract_graph(&txs, &[]);
    let six = g.lookup(&addr(6)).expect("in the graph");
    for policy in TaintPolicy::ALL {
        let r = trace(&g, &config(&g, policy, &[5], 0, 64, 0, Traversal::Sparse)).unwrap();
        assert!(r.node(six).is_some(), "{policy:?} does not reach 6");
    }
    assert_poison_contains_every_policy(&g, &[5], 0, 64, 0).unwrap();
}

/// The other half of the rule: a walked payee takes a payment as a plain
/// transfer under the conserving policies, and poison also takes the swap
/// reading. Here 7 is walked under poison only (3's ether payment carries
/// no haircut taint), and 2 swaps tainted ether with 7 for a token, which
/// it then pays to 9: haircut reaches 9 through the swap, so poison must
/// too, although 7's token is clean under poison.
#[test]
fn poison_takes_the_swap_reading_of_a_payment_to_a_walked_address() {
    let txs: Vec<(u8, bool, Vec<Leg>)> = vec![
        // The seed 1 pays 2 ether (tainted in every policy).
        (1, false, vec![(1, 2, 100, false)]),
        // 1 pays 3 ether; 3 pays it all on to 4.
        (2, false, vec![(1, 3, 5, false)]),
        (3, false, vec![(3, 4, 5, false)]),
        // 3 gets clean ether and pays 7: tainted only under poison.
        (4, false, vec![(8, 3, 5, false)]),
        (5, false, vec![(3, 7, 5, false)]),
        // 2 pays 7 ether and 7 pays 2 a token in one transaction.
        (6, true, vec![(2, 7, 100, false), (0, 0, 50, true)]),
        // 2 pays the token on to 9.
        (7, false, vec![(2, 9, 50, true)]),
    ];
    let g = contract_graph(&txs, &[]);
    let nine = g.lookup(&addr(9)).expect("in the graph");
    let seven = g.lookup(&addr(7)).expect("in the graph");
    let haircut = trace(
        &g,
        &config(&g, TaintPolicy::Haircut, &[1], 0, 64, 0, Traversal::Sparse),
    )
    .unwrap();
    assert!(
        haircut.node(nine).is_some(),
        "haircut crosses the swap to 9"
    );
    let poison = trace(
        &g,
        &config(&g, TaintPolicy::Poison, &[1], 0, 64, 0, Traversal::Sparse),
    )
    .unwrap();
    assert_eq!(
        poison.node(seven).map(|n| n.role),
        Some(tripoint_trace::Role::Walked),
        "poison walks 7 before the swap"
    );
    assert!(
        poison.node(nine).is_some(),
        "poison takes the swap reading too"
    );
    assert_poison_contains_every_policy(&g, &[1], 0, 64, 0).unwrap();
}

/// The third case (found by CI, seed in props.proptest-regressions): the
/// counterparty of a swap is walked under poison but never held the asset
/// it pays back, and its own hops are one short of the limit. The payment
/// back still carries the swap's taint, at the trader's hops, as haircut's
/// does (where the counterparty is a `dex` node).
#[test]
fn poison_swap_output_from_a_walked_counterparty_carries_the_swap_at_the_traders_hops() {
    let txs: Vec<(u8, bool, Vec<Leg>)> = vec![
        // The seed 9 pays 3 two ether; 3 pays 14 one.
        (20, false, vec![(9, 3, 2, false)]),
        (21, false, vec![(3, 14, 1, false)]),
        // 9 swaps a token for 14's ether: 14 is tainted under poison only.
        (21, true, vec![(9, 14, 1, true), (0, 0, 1, false)]),
        // 14 pays 1 ether (poison walks 1 at hop 2, the limit).
        (29, false, vec![(14, 1, 1, false)]),
        // 3 pays 1 ether and gets a token back: a swap, 1 the counterparty.
        (29, true, vec![(1, 3, 1, true), (0, 0, 1, false)]),
        // 3 pays the token on to 4 (hop 2 from 3).
        (44, false, vec![(3, 4, 1, true)]),
    ];
    let g = contract_graph(&txs, &[]);
    let four = g.lookup(&addr(4)).expect("in the graph");
    let one = g.lookup(&addr(1)).expect("in the graph");
    for policy in [TaintPolicy::Haircut, TaintPolicy::Poison] {
        for traversal in [Traversal::Sparse, Traversal::Sweep] {
            let r = trace(&g, &config(&g, policy, &[9], 0, 2, 0, traversal)).unwrap();
            assert_eq!(
                r.node(four).map(|n| n.hops),
                Some(2),
                "{policy:?} {traversal:?} reaches 4 through the swap"
            );
            let want = if policy == TaintPolicy::Poison {
                tripoint_trace::Role::Walked
            } else {
                tripoint_trace::Role::Dex
            };
            assert_eq!(r.node(one).map(|n| n.role), Some(want), "{policy:?}");
        }
    }
    assert_poison_contains_every_policy(&g, &[9], 0, 2, 0).unwrap();
}
