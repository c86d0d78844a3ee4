//! Hand-computed examples of each policy, spam, limits and the swap rule.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, TokenInfo, TransferGraph,
    TransferRecord, TxHash,
};
use tripoint_trace::{trace, MemGraph, SpamReason, TaintPolicy, TraceConfig, Traversal};

fn a(name: &str) -> Address {
    // Distinct, readable test addresses: the name's bytes, zero-padded.
    let mut b = [0u8; 20];
    for (i, c) in name.bytes().enumerate().take(20) {
        b[i] = c;
    }
    Address::Eth(b)
}

fn eth(from: &str, to: &str, amount: u64, block: u64) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp: block as i64 * 100,
        tx_hash: TxHash([block as u8; 32]),
        tx_index: 0,
        position: Position::NativeValue,
        from: a(from),
        to: a(to),
        asset: Asset::Native(Chain::Ethereum),
        amount: Amount::from(amount),
    }
}

fn tok(
    token: &Address,
    from: &Address,
    to: &Address,
    amount: u64,
    block: u64,
    log: u32,
) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp: block as i64 * 100,
        tx_hash: TxHash([block as u8; 32]),
        tx_index: 0,
        position: Position::Log(log),
        from: from.clone(),
        to: to.clone(),
        asset: Asset::Token(token.clone()),
        amount: Amount::from(amount),
    }
}

fn carried_to(g: &MemGraph, r: &tripoint_trace::TraceResult, to: &str) -> Vec<u64> {
    let id = g.lookup(&a(to)).unwrap();
    r.flows
        .iter()
        .filter(|f| g.transfer(f.id).dst == id)
        .map(|f| f.carried.as_u64())
        .collect()
}

fn mixed_account() -> MemGraph {
    MemGraph::build(
        vec![
            eth("clean", "A", 100, 1),
            eth("S", "early", 10, 2),
            eth("S", "A", 100, 3),
            eth("A", "B", 50, 4),
            eth("A", "D", 150, 5),
        ],
        vec![],
        vec![],
    )
}

fn run(g: &MemGraph, policy: TaintPolicy, from: i64) -> tripoint_trace::TraceResult {
    let mut cfg = TraceConfig::new(policy, vec![g.lookup(&a("S")).unwrap()]);
    cfg.from = from;
    trace(g, &cfg).unwrap()
}

#[test]
fn each_policy_splits_a_mixed_balance_as_defined() {
    let g = mixed_account();
    let expect = [
        (TaintPolicy::Poison, 50, 150),
        (TaintPolicy::Haircut, 25, 75),
        (TaintPolicy::Fifo, 0, 100),
        (TaintPolicy::Lifo, 50, 50),
        (TaintPolicy::Tiho, 50, 50),
    ];
    for (policy, to_b, to_d) in expect {
        let r = run(&g, policy, 250);
        let nonzero = |v: u64| if v == 0 { vec![] } else { vec![v] };
        assert_eq!(carried_to(&g, &r, "B"), nonzero(to_b), "{policy:?} to B");
        assert_eq!(carried_to(&g, &r, "D"), vec![to_d], "{policy:?} to D");
        // The payment before the start time is not tainted.
        assert!(
            r.node(g.lookup(&a("early")).unwrap()).is_none(),
            "{policy:?}"
        );
        if policy != TaintPolicy::Poison {
            let t = &r.totals[&0];
            assert_eq!(t.seeded, Amount::from(100u8));
            assert!(t.reconciles(), "{policy:?} {t:?}");
        }
    }
    // Without a start time the early payment is tainted too.
    let r = run(&g, TaintPolicy::Haircut, i64::MIN);
    assert_eq!(carried_to(&g, &r, "early"), vec![10]);
}

#[test]
fn terminals_stop_the_walk_and_count_as_exited() {
    let records = vec![
        eth("S", "X", 100, 1),
        eth("X", "exch", 60, 2),
        eth("exch", "Y", 60, 3),
        eth("X", "Z", 40, 4),
    ];
    let labels = vec![Label {
        address: a("exch"),
        label: "Exchange hot wallet".into(),
        category: Category::Exchange,
        source: "test".into(),
        attribution: Default::default(),
    }];
    let g = MemGraph::build(records, vec![], labels);
    let mut cfg = TraceConfig::new(TaintPolicy::Haircut, vec![g.lookup(&a("S")).unwrap()]);
    let r = trace(&g, &cfg).unwrap();
    let t = &r.totals[&0];
    assert_eq!(t.exited, Amount::from(60u8));
    assert_eq!(t.held, Amount::from(40u8));
    assert!(r.node(g.lookup(&a("Y")).unwrap()).is_none());
    cfg.walk_terminals = true;
    let r = trace(&g, &cfg).unwrap();
    assert!(r.node(g.lookup(&a("Y")).unwrap()).is_some());
    // Hop limit: Z is two hops away.
    cfg.walk_terminals = false;
    cfg.max_hops = 1;
    let r = trace(&g, &cfg).unwrap();
    let t = &r.totals[&0];
    assert_eq!(t.beyond_hops, Amount::from(100u8));
    assert!(t.reconciles());
}

#[test]
fn spam_never_carries_taint() {
    let usdt = Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap();
    let fake_usdt = a("fakeusdt");
    let fake_eth = a("fakeeth");
    // Look-alike of "dest": same first two and last two bytes.
    let dest = a("dest");
    let mut look = match dest.clone() {
        Address::Eth(b) => b,
        _ => unreachable!(),
    };
    look[5] = 0xee;
    let look = Address::Eth(look);
    let seed = a("S");
    let x = a("X");
    let records = vec![
        tok(&usdt, &seed, &x, 1_000, 1, 0),
        tok(&usdt, &x, &dest, 400, 2, 0),
        tok(&usdt, &x, &look, 0, 3, 0),
        tok(&fake_usdt, &x, &look, 500, 4, 0),
        tok(&fake_eth, &x, &a("other"), 500, 5, 0),
        tok(&usdt, &x, &look, 100, 6, 0),
    ];
    let tokens = vec![
        TokenInfo {
            address: usdt.clone(),
            symbol: "USDT".into(),
            name: "Tether".into(),
            decimals: Some(6),
        },
        TokenInfo {
            address: fake_usdt,
            symbol: "UЅDT".into(),
            name: "Tether".into(),
            decimals: Some(6),
        },
        TokenInfo {
            address: fake_eth,
            symbol: "ETH".into(),
            name: "Ether".into(),
            decimals: Some(18),
        },
    ];
    let g = MemGraph::build(records, tokens, vec![]);
    for policy in TaintPolicy::ALL {
        let r = trace(
            &g,
            &TraceConfig::new(policy, vec![g.lookup(&seed).unwrap()]),
        )
        .unwrap();
        let reasons: Vec<_> = r.spam.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![
                SpamReason::ZeroValue,
                SpamReason::NonAsciiSymbol,
                SpamReason::FakeNative,
                SpamReason::LookAlikeAddress
            ],
            "{policy:?}"
        );
        assert!(r.node(g.lookup(&look).unwrap()).is_none(), "{policy:?}");
        assert!(
            r.node(g.lookup(&a("other")).unwrap()).is_none(),
            "{policy:?}"
        );
        assert!(r.node(g.lookup(&dest).unwrap()).is_some(), "{policy:?}");
        if policy != TaintPolicy::Poison {
            for t in r.totals.values() {
                assert!(t.reconciles(), "{policy:?} {t:?}");
            }
        }
    }
}

#[test]
fn spam_tokens_the_thief_pays_out_are_never_seeded() {
    let fake_eth = a("fakeeth");
    let usdt = Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap();
    let seed = a("S");
    let records = vec![
        tok(&fake_eth, &a("poisoner"), &seed, 5_000, 1, 0),
        tok(&fake_eth, &seed, &a("X"), 5_000, 2, 0),
        tok(&usdt, &seed, &a("X"), 700, 3, 0),
        eth("S", "X", 300, 4),
    ];
    let tokens = vec![
        TokenInfo {
            address: fake_eth.clone(),
            symbol: "ETH".into(),
            name: "Ether".into(),
            decimals: Some(18),
        },
        TokenInfo {
            address: usdt.clone(),
            symbol: "USDT".into(),
            name: "Tether".into(),
            decimals: Some(6),
        },
    ];
    let g = MemGraph::build(records, tokens, vec![]);
    let fake_id = (0..g.asset_count() as u32)
        .find(|&i| g.token(i).is_some_and(|t| t.address == fake_eth))
        .unwrap();
    for policy in TaintPolicy::ALL {
        for traversal in [Traversal::Sparse, Traversal::Sweep] {
            let mut cfg = TraceConfig::new(policy, vec![g.lookup(&seed).unwrap()]);
            cfg.traversal = traversal;
            let r = trace(&g, &cfg).unwrap();
            let what = format!("{policy:?} {traversal:?}");
            assert!(
                r.totals
                    .get(&fake_id)
                    .is_none_or(|t| t.seeded == Amount::ZERO),
                "{what}: {:?}",
                r.totals.get(&fake_id)
            );
            let seeded: Vec<u64> = r.totals.values().map(|t| t.seeded.as_u64()).collect();
            assert_eq!(seeded.iter().sum::<u64>(), 1_000, "{what}: {seeded:?}");
            assert!(
                r.spam.iter().any(|s| s.reason == SpamReason::FakeNative),
                "{what}"
            );
            if policy != TaintPolicy::Poison {
                assert!(r.totals.values().all(|t| t.reconciles()), "{what}");
            }
        }
    }
}

#[test]
fn dex_swap_carries_taint_across_assets_value_weighted() {
    let stk = a("stk-token");
    let weth = Address::parse("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2").unwrap();
    let (seed, x, router) = (a("S"), a("X"), a("router"));
    let records = vec![
        tok(&stk, &seed, &x, 600, 1, 0),
        tok(&stk, &a("clean"), &x, 400, 2, 0),
        // One swap transaction: 1000 STK in (60% tainted), 2000 WETH out.
        tok(&stk, &x, &router, 1_000, 3, 0),
        tok(&weth, &router, &x, 2_000, 3, 1),
        tok(&weth, &x, &a("Y"), 2_000, 4, 0),
    ];
    let labels = vec![Label {
        address: router.clone(),
        label: "Uniswap router".into(),
        category: Category::Dex,
        source: "test".into(),
        attribution: Default::default(),
    }];
    let g = MemGraph::build(records, vec![], labels);
    let r = trace(
        &g,
        &TraceConfig::new(TaintPolicy::Haircut, vec![g.lookup(&seed).unwrap()]),
    )
    .unwrap();
    assert_eq!(r.swaps.len(), 1);
    assert_eq!(carried_to(&g, &r, "Y"), vec![1_200]);
    let stk_id = (0..g.asset_count() as u32)
        .find(|&i| g.token(i).is_some_and(|t| t.address == stk))
        .unwrap();
    let weth_id = (0..g.asset_count() as u32)
        .find(|&i| g.token(i).is_some_and(|t| t.address == weth))
        .unwrap();
    assert_eq!(r.totals[&stk_id].swapped_out, Amount::from(600u16));
    assert_eq!(r.totals[&weth_id].swapped_in, Amount::from(1_200u16));
    assert!(r.totals.values().all(|t| t.reconciles()));
}

/// Fake tokens mint amounts near 2^256: a balance that would pass 2^256
/// saturates at the largest amount instead of wrapping (release builds) or
/// panicking (debug builds), in every policy and traversal.
#[test]
fn token_balances_past_2_pow_256_saturate_instead_of_wrapping() {
    let t = a("FAKE");
    let (clean, s, b, c) = (a("clean"), a("S"), a("B"), a("C"));
    let mut records = vec![
        tok(&t, &clean, &b, 0, 1, 0),
        tok(&t, &s, &b, 0, 2, 0),
        tok(&t, &s, &b, 0, 3, 0),
        tok(&t, &b, &c, 0, 4, 0),
    ];
    for r in &mut records {
        r.amount = Amount::MAX;
    }
    let token = TokenInfo {
        address: t,
        symbol: "HUGE".into(),
        name: "huge supply".into(),
        decimals: Some(18),
    };
    let g = MemGraph::build(records, vec![token], vec![]);
    for policy in TaintPolicy::ALL {
        for traversal in [Traversal::Sparse, Traversal::Sweep, Traversal::Auto] {
            let mut cfg = TraceConfig::new(policy, vec![g.lookup(&s).unwrap()]);
            cfg.traversal = traversal;
            let r = trace(&g, &cfg).unwrap();
            let to_c: Vec<Amount> = r
                .flows
                .iter()
                .filter(|f| g.transfer(f.id).dst == g.lookup(&c).unwrap())
                .map(|f| f.carried)
                .collect();
            // B holds the largest amount, tainted at least by one payment of
            // S: its whole payment to C is tainted in every policy (FIFO takes
            // the clean lot first, so C gets none of S's under FIFO).
            let expected = if policy == TaintPolicy::Fifo {
                vec![]
            } else {
                vec![Amount::MAX]
            };
            assert_eq!(to_c, expected, "{policy:?} {traversal:?}");
            // The report sums the same amounts (paths, balances).
            let report = tripoint_trace::build_report(&g, &r, &Default::default());
            assert!(!report.totals.is_empty(), "{policy:?} {traversal:?}");
        }
    }
}

/// A swap found from the transaction alone (no label on the pool): the
/// trader pays tokens and gets ether back by an internal transfer in the
/// same transaction; then ether is wrapped 1:1 (WETH minted to the payer
/// in the transaction that paid the ether in). Every policy carries the
/// input's taint across, value-weighted, and the books reconcile.
#[test]
fn swaps_found_from_the_transaction_carry_taint_in_every_policy() {
    let stk = a("stk-token");
    let weth = Address::parse("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2").unwrap();
    let (seed, x, pool, router) = (a("S"), a("X"), a("pool"), a("router"));
    let internal =
        |from: &Address, to: &Address, amount: u64, block: u64, rank: u32| TransferRecord {
            position: Position::internal(rank).unwrap(),
            from: from.clone(),
            to: to.clone(),
            ..eth("S", "X", amount, block)
        };
    let records = vec![
        tok(&stk, &seed, &x, 600, 1, 0),
        tok(&stk, &a("clean"), &x, 400, 2, 0),
        // Tx 3: 1000 STK to the pool (60 % tainted under haircut), 2000
        // wei back from the router by an internal call.
        tok(&stk, &x, &pool, 1_000, 3, 0),
        internal(&router, &x, 2_000, 3, 2),
        // Tx 4: 2000 wei into WETH, 2000 WETH minted to the payer.
        eth("X", "weth-contract", 2_000, 4),
        TransferRecord {
            position: Position::wrapped(0).unwrap(),
            ..tok(&weth, &weth, &x, 2_000, 4, 0)
        },
        tok(&weth, &x, &a("Y"), 2_000, 5, 0),
    ];
    // The WETH contract's address as the ether's payee, too.
    let records: Vec<TransferRecord> = records
        .into_iter()
        .map(|mut r| {
            if r.to == a("weth-contract") {
                r.to = weth.clone();
            }
            r
        })
        .collect();
    let g = MemGraph::build(records, vec![], vec![]);
    let expect = |p: TaintPolicy| match p {
        // Every payment of an address that ever got taint is tainted.
        TaintPolicy::Poison => 2_000,
        TaintPolicy::Haircut => 1_200,
        // FIFO: the 600 tainted came first and leave first: 600 of 1000.
        TaintPolicy::Fifo => 1_200,
        // LIFO: the clean 400 leave first, then 600 tainted.
        TaintPolicy::Lifo => 1_200,
        TaintPolicy::Tiho => 1_200,
    };
    for policy in TaintPolicy::ALL {
        for traversal in [Traversal::Sparse, Traversal::Sweep] {
            let mut cfg = TraceConfig::new(policy, vec![g.lookup(&seed).unwrap()]);
            cfg.traversal = traversal;
            let r = trace(&g, &cfg).unwrap();
            assert_eq!(
                carried_to(&g, &r, "Y"),
                vec![expect(policy)],
                "{policy:?} {traversal:?}"
            );
            assert_eq!(r.swaps.len(), 2, "{policy:?}: the swap and the wrap");
            let roles: Vec<_> = [&pool, &weth]
                .iter()
                .map(|p| r.node(g.lookup(p).unwrap()).map(|n| n.role))
                .collect();
            assert_eq!(
                roles,
                [
                    Some(tripoint_trace::Role::Dex),
                    Some(tripoint_trace::Role::Dex)
                ],
                "{policy:?}: the counterparties are not walked"
            );
            if policy != TaintPolicy::Poison {
                assert!(r.totals.values().all(|t| t.reconciles()), "{policy:?}");
            }
        }
    }
}
