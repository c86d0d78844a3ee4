//! A synthetic Bitcoin chain for clustering benchmarks: no laundering
//! story, just the shape multi-input clustering works on (wallets spending
//! several of their own coins together, and CoinJoins that must not merge).

use tripoint_chain::{Address, Amount, Asset, Chain, OutPoint, Position, TransferRecord, TxHash};

/// A deterministic xorshift: the UTXO chain's randomness, and cheap
/// reproducible draws for benchmarks.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value; zero is avoided).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A draw in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A synthetic Bitcoin chain of about `transfers` records: wallets spend
/// 1–4 of their UTXOs to 1–3 outputs; 3% of transactions are 5×5 CoinJoins.
pub fn synthetic_utxo(transfers: u64, seed: u64) -> Vec<TransferRecord> {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let wallets = (transfers / 20).max(50);
    let addr = |w: u64, k: u64| {
        Address::parse_btc(&format!("1W{w:012}K{k:03}xxxxx")).expect("synthetic address")
    };
    let mut utxos: Vec<(TxHash, u32, u64, u64)> = Vec::new(); // (tx, index, wallet, amount)
    let mut recs = Vec::with_capacity(transfers as usize + 16);
    let mut n_tx = 0u64;
    let hash = |n: u64| {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_be_bytes());
        h[8] = 0xb7;
        TxHash(h)
    };
    let push = |recs: &mut Vec<TransferRecord>,
                h: TxHash,
                n: u64,
                pos: Position,
                from: Address,
                to: Address,
                amt: u64| {
        recs.push(TransferRecord {
            chain: Chain::Bitcoin,
            block: n / 2_000,
            timestamp: (n / 2_000) as i64 * 600,
            tx_hash: h,
            tx_index: (n % 2_000) as u32,
            position: pos,
            from,
            to,
            asset: Asset::Native(Chain::Bitcoin),
            amount: Amount::from(amt),
        })
    };
    while (recs.len() as u64) < transfers {
        let h = hash(n_tx);
        let coinjoin = utxos.len() > 100 && rng.below(100) < 3;
        let n_in = if utxos.len() < 10 {
            0
        } else if coinjoin {
            5
        } else {
            1 + rng.below(4) as usize
        };
        let mut total = 0u64;
        let mut payer = rng.below(wallets);
        for k in 0..n_in {
            let i = rng.below(utxos.len() as u64) as usize;
            let (ptx, pidx, w, amt) = utxos.swap_remove(i);
            if k == 0 {
                payer = w;
            }
            // Outside CoinJoins a wallet spends its own coins: re-own them to the payer.
            let owner = if coinjoin { w } else { payer };
            total += amt;
            push(
                &mut recs,
                h,
                n_tx,
                Position::Input {
                    index: k as u32,
                    spends: OutPoint {
                        tx: ptx,
                        index: pidx,
                    },
                },
                addr(owner, rng.below(4)),
                Address::Tx(h),
                amt,
            );
        }
        if n_in == 0 {
            total = 5_000_000_000;
        }
        let n_out = if coinjoin {
            6
        } else {
            1 + rng.below(3) as usize
        };
        for k in 0..n_out {
            let (w, amt) = if coinjoin && k < 5 {
                (rng.below(wallets), total / 6)
            } else if k + 1 == n_out {
                (
                    if n_out > 1 { payer } else { rng.below(wallets) },
                    total
                        - (total / 6) * if coinjoin { 5 } else { 0 }
                        - if coinjoin {
                            0
                        } else {
                            (total / n_out as u64) * (n_out as u64 - 1)
                        },
                )
            } else {
                (rng.below(wallets), total / n_out as u64)
            };
            push(
                &mut recs,
                h,
                n_tx,
                Position::Output(k as u32),
                Address::Tx(h),
                addr(w, rng.below(4)),
                amt,
            );
            utxos.push((h, k as u32, w, amt));
        }
        n_tx += 1;
    }
    recs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_chain_of_balanced_multi_input_transactions() {
        let a = synthetic_utxo(5_000, 3);
        assert_eq!(a, synthetic_utxo(5_000, 3));
        assert!(a.len() >= 5_000 && a.len() < 5_016, "{}", a.len());
        // Every spending transaction pays out exactly what its inputs hold.
        let mut sums: std::collections::BTreeMap<TxHash, (u128, u128)> = Default::default();
        for r in &a {
            let e = sums.entry(r.tx_hash).or_default();
            match r.position {
                Position::Input { .. } => e.0 += r.amount.as_u128(),
                _ => e.1 += r.amount.as_u128(),
            }
        }
        assert!(sums.values().all(|&(i, o)| i == 0 || i == o));
        let multi_input = sums.len()
            - a.iter()
                .filter(|r| r.position == Position::Output(0))
                .count()
                .min(sums.len());
        let inputs = a
            .iter()
            .filter(|r| matches!(r.position, Position::Input { index: 1, .. }))
            .count();
        assert!(inputs > 0, "transactions with several inputs appear");
        assert_eq!(multi_input, 0, "every transaction has outputs");
    }
}
