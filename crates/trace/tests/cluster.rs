//! Clustering heuristics on small hand-built graphs.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, OutPoint, Position, TransferGraph,
    TransferRecord, TxHash,
};
use tripoint_trace::cluster::{multi_input, ClusteredGraph, CoinJoinRules};
use tripoint_trace::{trace, MemGraph, Role, TaintPolicy, TraceConfig};

fn btc(i: u32) -> Address {
    Address::parse_btc(&format!("1Addr{i:04}xxxxxxxxxxxxxxxx")).unwrap()
}

fn h(i: u8) -> TxHash {
    TxHash([i; 32])
}

/// A Bitcoin transaction `tx` spending `(address, prev tx, prev index, amount)`
/// and paying `(address, amount)`.
fn tx(block: u64, id: u8, ins: &[(u32, u8, u32, u64)], outs: &[(u32, u64)]) -> Vec<TransferRecord> {
    let mut v = Vec::new();
    for (k, &(a, prev, idx, amt)) in ins.iter().enumerate() {
        v.push(TransferRecord {
            chain: Chain::Bitcoin,
            block,
            timestamp: block as i64 * 600,
            tx_hash: h(id),
            tx_index: 0,
            position: Position::Input {
                index: k as u32,
                spends: OutPoint {
                    tx: h(prev),
                    index: idx,
                },
            },
            from: btc(a),
            to: Address::Tx(h(id)),
            asset: Asset::Native(Chain::Bitcoin),
            amount: Amount::from(amt),
        });
    }
    for (k, &(a, amt)) in outs.iter().enumerate() {
        v.push(TransferRecord {
            chain: Chain::Bitcoin,
            block,
            timestamp: block as i64 * 600,
            tx_hash: h(id),
            tx_index: 0,
            position: Position::Output(k as u32),
            from: Address::Tx(h(id)),
            to: btc(a),
            asset: Asset::Native(Chain::Bitcoin),
            amount: Amount::from(amt),
        });
    }
    v
}

#[test]
fn multi_input_merges_co_spenders_but_not_coinjoins() {
    let mut r = Vec::new();
    r.extend(tx(
        1,
        1,
        &[],
        &[(1, 50), (2, 50), (3, 50), (4, 50), (5, 50), (6, 50)],
    ));
    // Wallet A: addresses 1 and 2 spend together.
    r.extend(tx(
        2,
        2,
        &[(1, 1, 0, 50), (2, 1, 1, 50)],
        &[(7, 90), (1, 10)],
    ));
    // A CoinJoin: 3, 4, 5 pay three equal outputs.
    r.extend(tx(
        3,
        3,
        &[(3, 1, 2, 50), (4, 1, 3, 50), (5, 1, 4, 50)],
        &[(8, 40), (9, 40), (10, 40), (3, 30)],
    ));
    let g = MemGraph::build(r, vec![], vec![]);
    let (mut uf, stats) = multi_input(&g, &CoinJoinRules::default());
    assert_eq!(stats.coinjoins_skipped, 1);
    let id = |a: u32| g.lookup(&btc(a)).unwrap();
    assert_eq!(uf.find(id(1)), uf.find(id(2)));
    assert_ne!(uf.find(id(3)), uf.find(id(4)));
    assert_ne!(uf.find(id(4)), uf.find(id(5)));
    // A trace over clusters starts from the whole wallet.
    let cg = ClusteredGraph::new(&g, &[]);
    let seed = cg.lookup(&btc(2)).unwrap();
    assert_eq!(seed, cg.lookup(&btc(1)).unwrap());
    let res = trace(&cg, &TraceConfig::new(TaintPolicy::Haircut, vec![seed])).unwrap();
    assert!(res.node(cg.lookup(&btc(7)).unwrap()).is_some());
}

fn eth(i: u8) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xe0;
    b[19] = i;
    Address::Eth(b)
}

fn pay(block: u64, from: &Address, to: &Address, amount: u64) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp: block as i64 * 12,
        tx_hash: TxHash([block as u8; 32]),
        tx_index: 0,
        position: Position::NativeValue,
        from: from.clone(),
        to: to.clone(),
        asset: Asset::Native(Chain::Ethereum),
        amount: Amount::from(amount),
    }
}

#[test]
fn deposit_addresses_inherit_the_exchange_label_and_end_traces() {
    let (thief, dep, hot, other) = (eth(1), eth(2), eth(3), eth(4));
    let records = vec![
        pay(1, &other, &dep, 5),
        pay(2, &dep, &hot, 5),
        pay(3, &thief, &dep, 100),
        pay(4, &dep, &hot, 100),
    ];
    let labels = vec![Label {
        address: hot.clone(),
        label: "Exchange 1 hot wallet".into(),
        category: Category::Exchange,
        source: "test".into(),
        attribution: Default::default(),
    }];
    let g = MemGraph::build(records, vec![], labels.clone());
    let cg = ClusteredGraph::new(&g, &labels);
    assert_eq!(cg.deposit_count, 1);
    let d = cg.lookup(&dep).unwrap();
    assert!(cg
        .labels(d)
        .iter()
        .any(|l| l.category == Category::Exchange));
    let r = trace(
        &cg,
        &TraceConfig::new(TaintPolicy::Haircut, vec![cg.lookup(&thief).unwrap()]),
    )
    .unwrap();
    assert_eq!(r.node(d).unwrap().role, Role::Endpoint);
    assert!(r.node(cg.lookup(&hot).unwrap()).is_none());
    // Without clustering the deposit address is walked and the hot wallet is the endpoint.
    let r = trace(
        &g,
        &TraceConfig::new(TaintPolicy::Haircut, vec![g.lookup(&thief).unwrap()]),
    )
    .unwrap();
    assert_eq!(r.node(g.lookup(&dep).unwrap()).unwrap().role, Role::Walked);
}
