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
    /// sparse and sweep alike. (Poison containing every other policy is
    /// checked on the generated scenario with contract flows in
    /// tests/it/contracts.rs; on these random graphs it does not hold yet:
    /// docs/trace.md, Limits.)
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
                let got = r.received.of_node(i).iter().find(|e| e.0 == asset).map(|e| e.1).unwrap_or_default();
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
