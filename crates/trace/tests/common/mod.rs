//! Fixtures shared by the trace crate's test binaries (each binary uses a
//! subset, hence `dead_code`).
#![allow(dead_code)]

use tripoint_chain::{Address, Category, Label, TokenInfo, TxHash};

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
