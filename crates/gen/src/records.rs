//! Adapter from generated rows to the shared [`TransferRecord`] shape, so a
//! scenario can go straight into any [`TransferSink`] (e.g. the graph store)
//! without CSV files in between — the same records an ethereum-etl import of
//! the written files produces: failed transactions move no value (no record),
//! zero-value transactions are kept, tokens are separate assets; call frames
//! that move ether are internal transfers keyed by their depth-first rank,
//! and ether paid into or out of WETH9 mints or burns WETH, as
//! `tripoint-ingest` stores them from `traces.csv`.

use tripoint_chain::{
    Address, Amount, Asset, Chain, Label, Position, TokenInfo, TransferRecord, TransferSink, TxHash,
};

use crate::world::WETH_ADDRESS;
use crate::{CallFrame, GenError, ScenarioSink, TokenRow, TokenTransferRow, TxRow};

/// Feeds a [`TransferSink`]; labels are collected for the caller (the sink
/// trait has no place for them).
pub struct RecordSink<'a, S: TransferSink> {
    sink: &'a mut S,
    pub labels: Vec<Label>,
    /// (hash, block, timestamp, index) of the last transaction, for its logs.
    last_tx: Option<(TxHash, u64, i64, u32)>,
}

impl<'a, S: TransferSink> RecordSink<'a, S> {
    pub fn new(sink: &'a mut S) -> Self {
        RecordSink {
            sink,
            labels: Vec::new(),
            last_tx: None,
        }
    }
}

fn sink_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> GenError {
    GenError::Sink(Box::new(e))
}

impl<S: TransferSink> ScenarioSink for RecordSink<'_, S> {
    fn token(&mut self, t: &TokenRow) -> Result<(), GenError> {
        self.sink
            .token(TokenInfo {
                address: Address::Eth(t.address),
                symbol: t.symbol.clone(),
                name: t.name.clone(),
                decimals: Some(t.decimals),
            })
            .map_err(sink_err)
    }

    fn label(&mut self, label: &Label) -> Result<(), GenError> {
        self.labels.push(label.clone());
        Ok(())
    }

    fn transaction(&mut self, tx: &TxRow) -> Result<(), GenError> {
        let hash = TxHash(tx.hash);
        self.last_tx = Some((
            hash,
            tx.block_number,
            tx.block_timestamp,
            tx.transaction_index,
        ));
        if !tx.success {
            return Ok(());
        }
        self.sink
            .transfer(TransferRecord {
                chain: Chain::Ethereum,
                block: tx.block_number,
                timestamp: tx.block_timestamp,
                tx_hash: hash,
                tx_index: tx.transaction_index,
                position: Position::NativeValue,
                from: Address::Eth(tx.from),
                to: Address::Eth(tx.to),
                asset: Asset::Native(Chain::Ethereum),
                amount: Amount::from(tx.value),
            })
            .map_err(sink_err)
    }

    fn token_transfer(&mut self, t: &TokenTransferRow) -> Result<(), GenError> {
        let Some((hash, block, timestamp, tx_index)) = self.last_tx else {
            return Err(sink_err(std::io::Error::other(
                "a token transfer arrived before any transaction",
            )));
        };
        debug_assert_eq!(hash.0, t.transaction_hash);
        self.sink
            .transfer(TransferRecord {
                chain: Chain::Ethereum,
                block,
                timestamp,
                tx_hash: hash,
                tx_index,
                position: Position::Log(t.log_index),
                from: Address::Eth(t.from),
                to: Address::Eth(t.to),
                asset: Asset::Token(Address::Eth(t.token)),
                amount: Amount::from(t.value),
            })
            .map_err(sink_err)
    }

    fn traces(&mut self, tx: &TxRow, frames: &[CallFrame]) -> Result<(), GenError> {
        if !tx.success {
            return Ok(());
        }
        let base = TransferRecord {
            chain: Chain::Ethereum,
            block: tx.block_number,
            timestamp: tx.block_timestamp,
            tx_hash: TxHash(tx.hash),
            tx_index: tx.transaction_index,
            position: Position::NativeValue,
            from: Address::Eth(tx.from),
            to: Address::Eth(tx.to),
            asset: Asset::Native(Chain::Ethereum),
            amount: Amount::from(tx.value),
        };
        // Ranks: the top-level call 0, the frames 1.. in depth-first order.
        let ether = std::iter::once((0u32, tx.from, tx.to, tx.value)).chain(
            frames
                .iter()
                .enumerate()
                .map(|(i, f)| (i as u32 + 1, f.from, f.to, f.value)),
        );
        let mut wrapped = Vec::new();
        for (rank, from, to, value) in ether.filter(|e| e.3 > 0) {
            if rank > 0 {
                self.sink
                    .transfer(TransferRecord {
                        position: Position::internal(rank).expect("a few frames per transaction"),
                        from: Address::Eth(from),
                        to: Address::Eth(to),
                        amount: Amount::from(value),
                        ..base.clone()
                    })
                    .map_err(sink_err)?;
            }
            // WETH9: ether in mints WETH to the payer, ether out burns the receiver's.
            let (mint_from, mint_to) = if to == WETH_ADDRESS {
                (WETH_ADDRESS, from)
            } else if from == WETH_ADDRESS {
                (to, WETH_ADDRESS)
            } else {
                continue;
            };
            wrapped.push(TransferRecord {
                position: Position::wrapped(rank).expect("a few frames per transaction"),
                from: Address::Eth(mint_from),
                to: Address::Eth(mint_to),
                asset: Asset::Token(Address::Eth(WETH_ADDRESS)),
                amount: Amount::from(value),
                ..base.clone()
            });
        }
        for r in wrapped {
            self.sink.transfer(r).map_err(sink_err)?;
        }
        Ok(())
    }
}
