//! Fixtures shared by the trace crate's test binaries (each binary uses a
//! subset, hence `dead_code`).
#![allow(dead_code)]

use proptest::prelude::*;
use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, TokenInfo, TransferRecord, TxHash,
};
use tripoint_trace::{MemGraph, TaintPolicy, TraceConfig, TraceResult};

/// A distinct, deterministic tx hash per number.
pub fn hash(i: u64) -> TxHash {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&i.to_be_bytes());
    TxHash(h)
}

/// Labels making each of `terminals` an exchange (even) or a mixer (odd).
pub fn terminal_labels<T: Copy + std::fmt::Display + Into<u64>>(
    terminals: &[T],
    addr: impl Fn(T) -> Address,
) -> Vec<Label> {
    terminals
        .iter()
        .map(|&t| Label {
            address: addr(t),
            label: format!("terminal {t}"),
            category: if t.into() % 2 == 0 {
                Category::Exchange
            } else {
                Category::Mixer
            },
            source: "test".into(),
            attribution: Default::default(),
        })
        .collect()
}

/// A plain trusted token ("STK").
pub fn staked_token(address: Address) -> TokenInfo {
    TokenInfo {
        address,
        symbol: "STK".into(),
        name: "staked".into(),
        decimals: Some(18),
    }
}

/// A token imitating the native coin's symbol: spam.
pub fn fake_ether(address: Address) -> TokenInfo {
    TokenInfo {
        address,
        symbol: "ETH".into(),
        name: "fake ether".into(),
        decimals: Some(18),
    }
}

/// A small deterministic generator (xorshift64): `rnd(n)` is in `0..n`.
pub fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}

/// The `i`-th address of a family told apart by its first byte `tag`.
pub fn numbered(tag: u8, i: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = tag;
    b[12..20].copy_from_slice(&i.to_be_bytes());
    Address::Eth(b)
}

/// Addresses `i` and `i + 20` share the look-alike key (first and last two bytes).
pub fn addr(i: u8) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xa0;
    b[1] = 0x01;
    b[19] = i % 20;
    b[10] = i.wrapping_mul(37).wrapping_add(1);
    Address::Eth(b)
}

pub fn token(i: u8) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0x70;
    b[19] = i;
    Address::Eth(b)
}

pub type Edge = (u8, u8, u128, u8, u8, bool);

/// Edges `(src, dst, amount, asset, block, same tx as the previous edge)`;
/// asset 0 is ETH, 1 a plain token, 2 a fake "ETH" token (spam). Address 5
/// is a DEX; `terminals` are exchanges or mixers.
pub fn graph(edges: &[Edge], terminals: &[u8]) -> MemGraph {
    graph_with(edges, terminals, true)
}

/// Time of block `b` in the test graphs.
pub fn block_time(b: u64) -> i64 {
    1_000 + b as i64 * 12
}

/// A trace from `seeds` over blocks `from_block..=until_block`, within
/// `max_hops`, dropping taint below `dust`.
pub fn limited(
    policy: TaintPolicy,
    seeds: Vec<u32>,
    from_block: u8,
    until_block: Option<u8>,
    max_hops: u32,
    dust: u64,
) -> TraceConfig {
    let mut cfg = TraceConfig::new(policy, seeds);
    cfg.from = block_time(from_block.into());
    cfg.until = until_block.map(|b| block_time(b.into()));
    cfg.max_hops = max_hops;
    cfg.dust = Amount::from(dust);
    cfg
}

/// Transfer `s -> d` in transaction `tx` of block `blk`: asset 0 is ETH
/// (the transaction's value), others the token `token(asset)` (log `log`).
pub fn record(
    tx: u64,
    s: u8,
    d: u8,
    amt: impl Into<Amount>,
    asset: u8,
    blk: u8,
    log: u32,
) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block: blk as u64,
        timestamp: block_time(blk.into()),
        tx_hash: hash(tx),
        tx_index: tx as u32,
        position: if asset == 0 {
            Position::NativeValue
        } else {
            Position::Log(log)
        },
        from: addr(s),
        to: addr(d),
        asset: if asset == 0 {
            Asset::Native(Chain::Ethereum)
        } else {
            Asset::Token(token(asset))
        },
        amount: amt.into(),
    }
}

/// [`graph`], with address 5 labelled a DEX or not.
pub fn graph_with(edges: &[Edge], terminals: &[u8], dex: bool) -> MemGraph {
    let mut records = Vec::new();
    let (mut tx, mut blk_prev, mut log) = (0u64, 0u8, 0u32);
    let mut prev: Option<(u8, u8, u8)> = None;
    for (i, &(s, d, amt, asset, blk, same)) in edges.iter().enumerate() {
        // In the transaction of a deposit to the DEX, pay the trader back
        // in another asset: a swap.
        let (s, d, asset) = match prev {
            Some((ps, 5, pa)) if same => (5, ps, if pa == 0 { 1 + asset % 2 } else { 0 }),
            _ => (s, d, asset),
        };
        prev = Some((s, d, asset));
        let blk = if same && i > 0 { blk_prev } else { blk };
        if !(same && i > 0) {
            tx = i as u64;
            log = 0;
        }
        blk_prev = blk;
        log += 1;
        records.push(record(tx, s, d, amt, asset, blk, log));
    }
    let mut labels: Vec<Label> = terminal_labels(terminals, addr);
    if dex {
        labels.push(Label {
            address: addr(5),
            label: "router".into(),
            category: Category::Dex,
            source: "test".into(),
            attribution: Default::default(),
        });
    }
    let tokens = vec![staked_token(token(1)), fake_ether(token(2))];
    MemGraph::build(records, tokens, labels)
}

pub fn edges() -> impl Strategy<Value = Vec<Edge>> {
    prop::collection::vec(
        (
            0u8..40,
            prop_oneof![4 => 0u8..40, 1 => Just(5u8)],
            // Amounts as large as all the ether there is (87 bits), and
            // rarely beyond the kernel's 96-bit native accounts (a graph
            // with one such native amount goes to the general engine).
            prop_oneof![
                20 => Just(0u128),
                20 => 1u128..1_000,
                20 => Just(1_000_000u128),
                20 => 1u128..u64::MAX as u128,
                20 => 1u128..1 << 88,
                1 => 1u128..u128::MAX / 4,
            ],
            prop_oneof![6 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
            0u8..60,
            prop::bool::weighted(0.25),
        ),
        1..200,
    )
}

/// Everything a report reads, compared field by field.
pub fn assert_same(a: &TraceResult, b: &TraceResult, what: &str) -> Result<(), TestCaseError> {
    let nodes = |r: &TraceResult| {
        r.nodes
            .iter()
            .map(|n| (n.addr, n.role, n.hops, n.first, n.category.clone()))
            .collect::<Vec<_>>()
    };
    prop_assert_eq!(nodes(a), nodes(b), "nodes {}", what);
    prop_assert_eq!(&a.flows, &b.flows, "flows {}", what);
    prop_assert_eq!(&a.received, &b.received, "received {}", what);
    prop_assert_eq!(&a.held, &b.held, "held {}", what);
    prop_assert_eq!(&a.spam, &b.spam, "spam {}", what);
    prop_assert_eq!(&a.swaps, &b.swaps, "swaps {}", what);
    prop_assert_eq!(&a.totals, &b.totals, "totals {}", what);
    for n in &a.nodes {
        prop_assert_eq!(a.node(n.addr).map(|x| x.addr), Some(n.addr));
    }
    Ok(())
}
