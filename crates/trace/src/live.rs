//! A trace that follows a growing graph: the sparse walk of the general
//! engine, parked between blocks and continued with only the new
//! transfers. After every [`LiveTrace::advance`] its result equals a fresh
//! [`crate::trace`] over the same graph (`tests/live.rs` checks this block
//! by block on random graphs, for every policy).
//!
//! Why this is exact: a sparse walk processes, in id order, every transfer
//! of a walked address from the moment it is walked. Transfer ids grow with
//! the chain, so the transfers of a new block come after everything the
//! parked walk has seen; queuing those of them that touch a walked address
//! (by the rule the walk queues by) and draining the queue continues the
//! very same walk.

use std::ops::Range;

use tripoint_chain::{AddrId, Amount, AssetId, TransferGraph, TransferId, TransferRow};

use crate::taint::EngineKind;
use crate::taint::{first_at_or_after, walk_on, Parked};
use crate::{Flow, Node, TraceConfig, TraceError, TraceResult};

/// One case's taint, advanced block by block.
#[derive(Debug, Clone)]
pub struct LiveTrace {
    cfg: TraceConfig,
    /// `None` until a transfer at or after the start time exists.
    walk: Option<Parked>,
    /// Transfers `0..next` have been taken into account.
    next: TransferId,
    /// A transfer past `cfg.until` was reached: nothing more is followed.
    ended: bool,
}

/// What one [`LiveTrace::advance`] added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// Indices into [`LiveTrace::flows`] of the flows this step found.
    pub flows: Range<usize>,
    /// Indices into [`LiveTrace::nodes`] of the addresses this step reached.
    pub nodes: Range<usize>,
    /// Transfers of the graph this step looked at (the new ones).
    pub transfers: Range<TransferId>,
}

impl LiveTrace {
    pub fn new(cfg: TraceConfig) -> Result<Self, TraceError> {
        if cfg.seeds.is_empty() {
            return Err(TraceError::NoSeeds);
        }
        Ok(LiveTrace {
            cfg,
            walk: None,
            next: 0,
            ended: false,
        })
    }

    pub fn config(&self) -> &TraceConfig {
        &self.cfg
    }

    /// Transfers already taken into account: ids `0..next()`.
    pub fn next(&self) -> TransferId {
        self.next
    }

    /// Take the transfers `next()..g.transfer_count()` into account. `g`
    /// must be the graph of the earlier calls, grown at its end (a store
    /// reopened after appending blocks in chain order); a graph with fewer
    /// transfers is refused.
    pub fn advance<G: TransferGraph>(&mut self, g: &G) -> Result<Advanced, TraceError> {
        let end = g.transfer_count();
        let begin = self.next;
        if end < begin {
            return Err(TraceError::GraphShrank {
                had: begin,
                now: end,
            });
        }
        let (flows0, nodes0) = (self.flows().len(), self.nodes().len());
        if end > begin && !self.ended {
            match self.walk.take() {
                // Nothing can be tainted before the start time: the walk
                // starts (over the whole graph, as a batch trace would) at
                // the first block that reaches it.
                None if first_at_or_after(g, self.cfg.from) >= end => {}
                None => {
                    let (p, go) = walk_on(g, &self.cfg, None, &[]);
                    self.walk = Some(p);
                    self.ended = !go;
                }
                Some(p) => {
                    let ids: Vec<TransferId> = (begin..end)
                        .filter(|&id| p.wants(&self.cfg, &g.transfer(id)))
                        .collect();
                    let (p, go) = walk_on(g, &self.cfg, Some(p), &ids);
                    self.walk = Some(p);
                    self.ended = !go;
                }
            }
        }
        self.next = end;
        Ok(Advanced {
            flows: flows0..self.flows().len(),
            nodes: nodes0..self.nodes().len(),
            transfers: begin..end,
        })
    }

    /// Like [`Self::advance`], with the new rows already read by the caller
    /// (one read of a block for many cases): `rows[k]` is transfer
    /// `next() + k`, and `rows` must reach the end of `g`.
    pub fn advance_rows<G: TransferGraph>(
        &mut self,
        g: &G,
        rows: &[TransferRow],
    ) -> Result<Advanced, TraceError> {
        let end = g.transfer_count();
        if self.next + rows.len() as u64 != end {
            return self.advance(g);
        }
        let begin = self.next;
        let (flows0, nodes0) = (self.flows().len(), self.nodes().len());
        match self.walk.take() {
            Some(p) if !self.ended => {
                let ids: Vec<TransferId> = rows
                    .iter()
                    .zip(begin..)
                    .filter(|(r, _)| p.wants(&self.cfg, r))
                    .map(|(_, id)| id)
                    .collect();
                let (p, go) = walk_on(g, &self.cfg, Some(p), &ids);
                self.walk = Some(p);
                self.ended = !go;
            }
            other => {
                self.walk = other;
                return self.advance(g);
            }
        }
        self.next = end;
        Ok(Advanced {
            flows: flows0..self.flows().len(),
            nodes: nodes0..self.nodes().len(),
            transfers: begin..end,
        })
    }

    /// Every transfer that carried taint so far, in chain order.
    pub fn flows(&self) -> &[Flow] {
        self.walk.as_ref().map_or(&[], |p| p.flows())
    }

    /// Every address reached so far, in discovery order.
    pub fn nodes(&self) -> &[Node] {
        self.walk.as_ref().map_or(&[], |p| p.nodes())
    }

    /// Taint the seeds have created so far in `asset` (the books' `seeded`).
    pub fn seeded(&self, asset: AssetId) -> Amount {
        self.walk
            .as_ref()
            .and_then(|p| p.totals().get(&asset))
            .map_or(Amount::ZERO, |t| t.seeded)
    }

    pub fn node(&self, addr: AddrId) -> Option<&Node> {
        let p = self.walk.as_ref()?;
        p.node_index(addr).map(|i| &p.nodes()[i as usize])
    }

    /// The full result, as [`crate::trace`] would report it over `g`, the
    /// graph of the last [`Self::advance`].
    pub fn result<G: TransferGraph>(&self, g: &G) -> TraceResult {
        match &self.walk {
            Some(p) => p.clone().finish(self.cfg.policy, EngineKind::SparseWalk),
            // Not started: only the seeds, with nothing sent.
            None => walk_on(g, &self.cfg, None, &[])
                .0
                .finish(self.cfg.policy, EngineKind::SparseWalk),
        }
    }
}
