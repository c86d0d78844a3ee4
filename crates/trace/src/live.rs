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

use std::borrow::Cow;
use std::ops::Range;

use tripoint_chain::{AddrId, Address, Amount, AssetId, TransferGraph, TransferId, TransferRow};

use crate::fxhash::FxHashSet;
use crate::spam::{SpamReason, SpamRules};
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

/// The spam verdicts of a graph's tokens under one set of token rules,
/// computed once per graph (a store reopened after a block) and shared by
/// every case advanced over it: each resumed walk would otherwise compute
/// them again. A case whose rules differ, or a graph with another number of
/// assets, computes its own.
#[derive(Debug, Clone)]
pub struct TokenVerdicts {
    trusted_tokens: FxHashSet<Address>,
    strict_tokens: bool,
    assets: usize,
    verdicts: Vec<Option<SpamReason>>,
}

impl TokenVerdicts {
    pub fn new<G: TransferGraph>(g: &G, rules: &SpamRules) -> Self {
        TokenVerdicts {
            trusted_tokens: rules.trusted_tokens.clone(),
            strict_tokens: rules.strict_tokens,
            assets: g.asset_count(),
            verdicts: rules.token_verdicts(g),
        }
    }

    /// The verdicts, if they were computed under `rules` for a graph of
    /// `g`'s size (the caller passes the graph they were computed over).
    fn for_graph<G: TransferGraph>(
        &self,
        g: &G,
        rules: &SpamRules,
    ) -> Option<&[Option<SpamReason>]> {
        (self.assets == g.asset_count()
            && self.strict_tokens == rules.strict_tokens
            && self.trusted_tokens == rules.trusted_tokens)
            .then_some(&self.verdicts[..])
    }
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
        let (flows0, nodes0) = (self.flow_count(), self.nodes().len());
        if end > begin && !self.ended {
            match self.walk.take() {
                // Nothing can be tainted before the start time: the walk
                // starts (over the whole graph, as a batch trace would) at
                // the first block that reaches it.
                None if first_at_or_after(g, self.cfg.from) >= end => {}
                None => {
                    let (p, go) = walk_on(g, &self.cfg, None, &[], None);
                    self.walk = Some(p);
                    self.ended = !go;
                }
                Some(p) => {
                    let ids: Vec<TransferId> = (begin..end)
                        .filter(|&id| p.wants(&self.cfg, &g.transfer(id)))
                        .collect();
                    let (p, go) = walk_on(g, &self.cfg, Some(p), &ids, None);
                    self.walk = Some(p);
                    self.ended = !go;
                }
            }
        }
        self.next = end;
        Ok(Advanced {
            flows: flows0..self.flow_count(),
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
        self.advance_rows_among(g, rows, None, None)
    }

    /// [`Self::advance_rows`] for a caller that knows more: `among`, when
    /// given, lists (ascending) the indices into `rows` of every row whose
    /// payer or payee is one of [`Self::nodes`]; no other row can concern
    /// the walk (it looks only at transfers of addresses it reached), so
    /// they are not looked at. A walk no listed row concerns is not even
    /// resumed. `verdicts`: the token verdicts of `g` (used when they fit
    /// this case's token rules).
    pub fn advance_rows_among<G: TransferGraph>(
        &mut self,
        g: &G,
        rows: &[TransferRow],
        among: Option<&[u32]>,
        verdicts: Option<&TokenVerdicts>,
    ) -> Result<Advanced, TraceError> {
        let end = g.transfer_count();
        if self.next + rows.len() as u64 != end {
            return self.advance(g);
        }
        let begin = self.next;
        let (flows0, nodes0) = (self.flow_count(), self.nodes().len());
        match self.walk.take() {
            Some(p) if !self.ended => {
                let wanted = |k: usize| p.wants(&self.cfg, &rows[k]);
                let ids: Vec<TransferId> = match among {
                    Some(among) => {
                        debug_assert!(
                            (0..rows.len())
                                .all(|k| among.binary_search(&(k as u32)).is_ok() || !wanted(k)),
                            "a row the walk wants is missing from `among`"
                        );
                        among
                            .iter()
                            .map(|&k| k as usize)
                            .filter(|&k| wanted(k))
                            .map(|k| begin + k as u64)
                            .collect()
                    }
                    None => (0..rows.len())
                        .filter(|&k| wanted(k))
                        .map(|k| begin + k as u64)
                        .collect(),
                };
                if ids.is_empty() {
                    // Nothing to walk: the parked state stays as it is.
                    self.walk = Some(p);
                } else {
                    let verdicts = verdicts.and_then(|v| v.for_graph(g, &self.cfg.spam));
                    let (p, go) = walk_on(g, &self.cfg, Some(p), &ids, verdicts);
                    self.walk = Some(p);
                    self.ended = !go;
                }
            }
            other => {
                self.walk = other;
                return self.advance(g);
            }
        }
        self.next = end;
        Ok(Advanced {
            flows: flows0..self.flow_count(),
            nodes: nodes0..self.nodes().len(),
            transfers: begin..end,
        })
    }

    /// Estimated heap bytes of the parked walk, by part (capacities: what
    /// the allocator holds).
    pub fn heap_bytes(&self) -> Vec<(&'static str, usize)> {
        self.walk.as_ref().map_or_else(Vec::new, |p| p.heap_bytes())
    }

    /// Every transfer that carried taint so far, in chain order (unpacked:
    /// see [`Self::pack_flows`]; a step's own are [`Self::flows_of`]).
    pub fn flows(&self) -> Vec<Flow> {
        self.walk
            .as_ref()
            .map_or_else(Vec::new, |p| p.flows_in(0..p.flow_count()).into_owned())
    }

    /// How many transfers carried taint so far.
    pub fn flow_count(&self) -> usize {
        self.walk.as_ref().map_or(0, |p| p.flow_count())
    }

    /// The flows a step found ([`Advanced::flows`]): borrowed until the
    /// walk's flows are packed ([`Self::pack_flows`], or the next step).
    pub fn flows_of(&self, step: &Advanced) -> Cow<'_, [Flow]> {
        match &self.walk {
            Some(p) => p.flows_in(step.flows.clone()),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Pack the flows found so far (exactly, about a quarter of their
    /// size): a walk parked between blocks keeps its old flows only for
    /// [`Self::result`]. The next step packs the last one's by itself.
    pub fn pack_flows(&mut self) {
        if let Some(p) = &mut self.walk {
            p.pack_flows();
        }
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
            None => walk_on(g, &self.cfg, None, &[], None)
                .0
                .finish(self.cfg.policy, EngineKind::SparseWalk),
        }
    }
}
