//! Calibration figures: the real-chain targets (GraphSense, 2021-11-17; see
//! `docs/gen.md`) and their measurement on a generated transaction graph.
//!
//! Measured over `transactions.csv` (from → to), as GraphSense builds its
//! Ethereum address graph from transactions:
//! - transactions per block = transactions / blocks present;
//! - edges per address = distinct (from, to) relations / distinct addresses;
//! - supernode skew = the largest of [`PARTITIONS`] partition groups of
//!   relations (grouped by destination address, as GraphSense's
//!   `address_rel_partition_size` is) divided by the median group.

use std::collections::HashSet;

use crate::{Addr, GenError, ScenarioSink, TokenRow, TokenTransferRow, TxRow};
use tripoint_chain::Label;

/// Ethereum: 1,363,654,174 transactions / 13,636,022 blocks.
pub const TARGET_TX_PER_BLOCK: f64 = 1_363_654_174.0 / 13_636_022.0;
/// Ethereum: 417,920,614 address relations / 199,761,657 addresses.
pub const TARGET_EDGES_PER_ADDRESS: f64 = 417_920_614.0 / 199_761_657.0;
/// Max/median partition size of the address-relation table: BTC 14.05,
/// BCH 16.97, LTC 19.36 (250 partition groups each).
pub const TARGET_SKEW_RANGE: (f64, f64) = (14.05, 19.36);
/// Partition groups, as many as GraphSense's published sample per currency.
pub const PARTITIONS: usize = 250;

/// Measured figures.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationFigures {
    pub transactions: u64,
    pub blocks: u64,
    pub addresses: u64,
    pub relations: u64,
    pub tx_per_block: f64,
    pub edges_per_address: f64,
    pub supernode_skew: f64,
}

/// Accumulates the transaction graph. Memory is O(relations): for tests and
/// `docs` figures, not for 10^8-row scenarios.
#[derive(Default)]
pub struct Calibration {
    transactions: u64,
    blocks: u64,
    last_block: Option<u64>,
    addresses: HashSet<Addr>,
    relations: HashSet<(Addr, Addr)>,
}

impl Calibration {
    pub fn new() -> Self {
        Self::default()
    }

    /// One transaction. Blocks must arrive in order (they do from the
    /// generator and from its files).
    pub fn observe(&mut self, block: u64, from: &Addr, to: &Addr) {
        self.transactions += 1;
        if self.last_block != Some(block) {
            self.blocks += 1;
            self.last_block = Some(block);
        }
        self.addresses.insert(*from);
        self.addresses.insert(*to);
        self.relations.insert((*from, *to));
    }

    pub fn figures(&self) -> CalibrationFigures {
        let mut groups = vec![0u64; PARTITIONS];
        for (_, dst) in &self.relations {
            groups[partition(dst)] += 1;
        }
        groups.sort_unstable();
        let median = (groups[(PARTITIONS - 1) / 2] + groups[PARTITIONS / 2]) as f64 / 2.0;
        let max = *groups.last().unwrap_or(&0) as f64;
        CalibrationFigures {
            transactions: self.transactions,
            blocks: self.blocks,
            addresses: self.addresses.len() as u64,
            relations: self.relations.len() as u64,
            tx_per_block: ratio(self.transactions as f64, self.blocks as f64),
            edges_per_address: ratio(self.relations.len() as f64, self.addresses.len() as f64),
            supernode_skew: ratio(max, median),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Partition group of a destination address. Addresses are uniformly random
/// bytes, so their low bytes are as good as a hash.
fn partition(a: &Addr) -> usize {
    let mut x = [0u8; 8];
    x.copy_from_slice(&a[12..20]);
    (u64::from_be_bytes(x) % PARTITIONS as u64) as usize
}

impl ScenarioSink for Calibration {
    fn token(&mut self, _: &TokenRow) -> Result<(), GenError> {
        Ok(())
    }
    fn label(&mut self, _: &Label) -> Result<(), GenError> {
        Ok(())
    }
    fn transaction(&mut self, tx: &TxRow) -> Result<(), GenError> {
        self.observe(tx.block_number, &tx.from, &tx.to);
        Ok(())
    }
    fn token_transfer(&mut self, _: &TokenTransferRow) -> Result<(), GenError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_the_published_figures() {
        assert!((TARGET_TX_PER_BLOCK - 100.0).abs() < 0.1);
        assert!((TARGET_EDGES_PER_ADDRESS - 2.092).abs() < 0.001);
    }

    #[test]
    fn measures_a_tiny_graph() {
        let a = [1u8; 20];
        let b = [2u8; 20];
        let mut c = Calibration::new();
        c.observe(1, &a, &b);
        c.observe(1, &a, &b);
        c.observe(2, &b, &a);
        let f = c.figures();
        assert_eq!(f.blocks, 2);
        assert_eq!(f.relations, 2);
        assert_eq!(f.addresses, 2);
        assert_eq!(f.tx_per_block, 1.5);
        assert_eq!(f.edges_per_address, 1.0);
    }
}
