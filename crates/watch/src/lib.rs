//! `tripoint watch`: follow an Ethereum node over JSON-RPC, append each new
//! block to the store (continuing the `eth-rpc:<url>` cursor of `tripoint
//! ingest eth-rpc`), advance every open case's taint incrementally
//! ([`tripoint_trace::LiveTrace`]: only the new block's transfers are
//! touched) and raise alerts, stored before they are printed on stdout and
//! POSTed, signed, to webhooks at least once. See `docs/watch.md`.
//!
//! Order of effects per block, which is what makes a kill -9 harmless: the
//! block's transfers and the cursor are published together (store
//! checkpoint); then each case's alerts and its watermark are committed
//! together (SQLite); then they are delivered. A restart rebuilds each
//! case's walk from the store and re-derives the alerts of blocks past the
//! case's watermark; alert ids are stable, so nothing is stored twice.

pub mod alert;
pub mod deliver;
pub mod outbox;
pub mod retract;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;
use tripoint_chain::{
    AddrId, Address, Chain, SourceCursor, TransferGraph, TransferRow, TransferSink, TxHash,
};
use tripoint_ingest::{read_blocks, rpc_source, IngestError, RpcClient};
use tripoint_store::{Store, StoreError};
use tripoint_trace::fxhash::FxHashMap;
use tripoint_trace::report::asset_key;
use tripoint_trace::{LiveTrace, TaintPolicy, TokenVerdicts, TraceConfig, TraceError, Traversal};

pub use alert::{Alert, HopLedger, Service, Thresholds, DEFAULT_MIN_HOP_PPM};
pub use outbox::Outbox;
pub use retract::Retraction;

#[derive(Debug, Error)]
pub enum WatchError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("watch database {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("watch database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "watch database {path}: schema version {found}, this build reads version {}",
        outbox::SCHEMA_VERSION
    )]
    Version { path: String, found: i64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("writing alerts to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("alert JSON: {0}")]
    Json(serde_json::Error),
    #[error("trace: {0}")]
    Trace(#[from] TraceError),
    #[error("cases: {0}")]
    Cases(String),
    #[error("{0}")]
    Config(String),
}

impl WatchError {
    fn db(path: &Path, source: rusqlite::Error) -> WatchError {
        WatchError::Db {
            path: path.display().to_string(),
            source,
        }
    }
}

/// An open case as the watch needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchCase {
    pub id: String,
    pub seeds: Vec<Address>,
    /// Unix seconds; everything a seed sends from then on is tainted.
    pub from: Option<i64>,
    pub policy: TaintPolicy,
    pub max_hops: u32,
    /// The case's own minimum for `new_hop` alerts (ppm of the taint its
    /// seeds paid out); `None`: the watch's [`Thresholds::min_hop_ppm`].
    pub min_hop_ppm: Option<u32>,
}

/// Where the watch finds the open cases (the case database, in the binary).
pub trait CaseSource {
    fn open_cases(&mut self) -> Result<Vec<WatchCase>, WatchError>;
    /// Keep an alert with its case (idempotent by `alert_id`); called after
    /// the alert is stored in the watch's outbox, at least once.
    fn record_alert(&mut self, alert: &Alert, body: &str) -> Result<(), WatchError> {
        let _ = (alert, body);
        Ok(())
    }
    /// [`CaseSource::record_alert`] for a batch (a block's alerts): one
    /// transaction where the source can.
    fn record_alerts(&mut self, alerts: &[(Alert, String)]) -> Result<(), WatchError> {
        for (a, body) in alerts {
            self.record_alert(a, body)?;
        }
        Ok(())
    }
    /// Withdraw an alert kept with its case: a chain reorganisation
    /// orphaned the block it was raised in; `retraction` is the
    /// [`Retraction`]'s JSON (for the case's live feed; `None` for an alert
    /// withdrawn by an older watch). Called at least once, before any
    /// alert of the new chain is recorded; withdrawing an alert that is not
    /// kept must succeed.
    fn retract_alert(
        &mut self,
        case_id: &str,
        alert_id: &str,
        retraction: Option<&str>,
    ) -> Result<(), WatchError> {
        let _ = (case_id, alert_id, retraction);
        Ok(())
    }
    /// Share an alert in the partners' TAXII exchange (`--publish`); called
    /// after the alert is stored, at least once, only when
    /// [`WatchOptions::publish`] names a target. Posting it again must not
    /// duplicate it. `generation`: how often the alert was withdrawn
    /// before (its sighting then needs an id of its own, see
    /// [`outbox::Pending::generation`]).
    fn publish(&mut self, alert: &Alert, body: &str, generation: u32) -> Result<(), WatchError> {
        let _ = (body, generation);
        Err(WatchError::Config(format!(
            "{}: no exchange to publish to",
            alert.alert_id
        )))
    }
    /// Withdraw a shared alert from the exchange (its sighting posted again
    /// as a revoked version); called at least once for a retraction of an
    /// alert that was, or may have been, published. `generation` is the
    /// withdrawn alert's.
    fn publish_retraction(
        &mut self,
        retraction: &Retraction,
        generation: u32,
    ) -> Result<(), WatchError> {
        let _ = generation;
        Err(WatchError::Config(format!(
            "{}: no exchange to publish to",
            retraction.retraction_id
        )))
    }
}

/// A fixed list of cases.
impl CaseSource for Vec<WatchCase> {
    fn open_cases(&mut self) -> Result<Vec<WatchCase>, WatchError> {
        Ok(self.clone())
    }
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub store: PathBuf,
    pub rpc: String,
    pub webhooks: Vec<String>,
    /// HMAC key of the webhook signatures (required with webhooks).
    pub secret: Option<Vec<u8>>,
    /// Blocks stay unstored until this many blocks are on top of them.
    pub confirmations: u64,
    /// First block when the store has no cursor for this node.
    pub from_block: Option<u64>,
    pub poll: Duration,
    /// Blocks per read and checkpoint while catching up.
    pub batch_blocks: u64,
    pub thresholds: Thresholds,
    /// Delivery target of the alerts shared in the partners' exchange
    /// (`taxii:<CONFIG>:<COLLECTION>`, see [`publish_target`]), made through
    /// [`CaseSource::publish`].
    pub publish: Option<String>,
}

/// The delivery target of `--publish CONFIG:COLLECTION`.
pub fn publish_target(config_and_collection: &str) -> String {
    format!("taxii:{config_and_collection}")
}

impl WatchOptions {
    pub fn new(store: PathBuf, rpc: String) -> Self {
        WatchOptions {
            store,
            rpc,
            webhooks: Vec::new(),
            secret: None,
            confirmations: 0,
            from_block: None,
            poll: Duration::from_millis(200),
            batch_blocks: 100,
            thresholds: Thresholds::default(),
            publish: None,
        }
    }
}

/// Exponential back-off for a failing node: 0.25 s doubling up to 30 s.
struct Backoff(u32);

impl Backoff {
    fn next(&mut self) -> Duration {
        self.0 = (self.0 + 1).min(8);
        Duration::from_millis((250u64 << (self.0 - 1)).min(30_000))
    }
    fn reset(&mut self) {
        self.0 = 0;
    }
}

/// Sleep `d` unless `stop` is raised first.
fn nap(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// One watched case: its live walk once a seed is in the store.
struct Watched {
    case: WatchCase,
    seeds: Vec<AddrId>,
    live: Option<LiveTrace>,
    /// Which payees were alerted as new hops; rebuilt with `live`.
    hops: HopLedger,
    /// Last block whose alerts are stored (-1: none), as in the database.
    watermark: i64,
    /// The taint changed since its snapshot was last saved.
    dirty: bool,
    /// Its number in [`Reach`].
    slot: u32,
    /// How many of `live`'s nodes [`Reach`] holds (its first ones).
    indexed: usize,
}

/// Which cases reached an address (it is a node of their walk), by case
/// slot: a block's transfer can concern only the cases of its payer and
/// payee, so a block costs lookups of its own addresses, not of every
/// case's. Nodes are never dropped from a walk, so the index only grows
/// while a walk goes on; a case rebuilt or dropped leaves it.
#[derive(Default)]
struct Reach {
    cases_of: FxHashMap<AddrId, Vec<u32>>,
    /// Slots of dropped cases, to reuse.
    free: Vec<u32>,
    slots: u32,
}

impl Reach {
    fn new_slot(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    /// Take in the nodes `w`'s walk reached since the last call.
    fn add_new(&mut self, w: &mut Watched) {
        let Some(live) = &w.live else { return };
        for n in &live.nodes()[w.indexed..] {
            self.cases_of.entry(n.addr).or_default().push(w.slot);
        }
        w.indexed = live.nodes().len();
    }

    /// Forget `w`'s nodes (before its walk is replaced or it is dropped).
    fn remove(&mut self, w: &mut Watched) {
        let Some(live) = &w.live else { return };
        for n in &live.nodes()[..w.indexed] {
            if let Some(v) = self.cases_of.get_mut(&n.addr) {
                v.retain(|&s| s != w.slot);
                if v.is_empty() {
                    self.cases_of.remove(&n.addr);
                }
            }
        }
        w.indexed = 0;
    }

    /// Per slot, the indices of the rows whose payer or payee the case
    /// reached (ascending).
    fn touched(&self, rows: &[TransferRow]) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.slots as usize];
        for (k, r) in rows.iter().enumerate() {
            let k = k as u32;
            for (i, a) in [r.src, r.dst].into_iter().enumerate() {
                if i == 1 && a == r.src {
                    continue;
                }
                for &s in self.cases_of.get(&a).map_or(&[][..], |v| &v[..]) {
                    let rows = &mut out[s as usize];
                    if rows.last() != Some(&k) {
                        rows.push(k);
                    }
                }
            }
        }
        out
    }

    fn heap_bytes(&self) -> usize {
        let buckets = if self.cases_of.capacity() == 0 {
            0
        } else {
            (self.cases_of.capacity() * 8 / 7).next_power_of_two()
        };
        buckets * (std::mem::size_of::<(AddrId, Vec<u32>)>() + 1)
            + self
                .cases_of
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
    }
}

fn trace_config(case: &WatchCase, seeds: Vec<AddrId>) -> TraceConfig {
    let mut cfg = TraceConfig::new(case.policy, seeds);
    cfg.from = case.from.unwrap_or(i64::MIN);
    cfg.max_hops = case.max_hops;
    cfg.traversal = Traversal::Sparse;
    cfg
}

/// Run `f` over `items` on every core, each item independent of the
/// others, heaviest first by `cost` (so a heavy item does not start last
/// and leave a core idle; items of cost 0 need no thread of their own); the
/// results come back in the items' order, so what the caller does with
/// them does not depend on the scheduling. Also returns how many threads
/// ran them.
fn on_every_core<T: Send, R: Send>(
    items: Vec<T>,
    cost: impl Fn(&T) -> usize,
    f: impl Fn(T) -> R + Sync,
) -> (Vec<R>, usize) {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.iter().filter(|t| cost(t) > 0).count());
    if threads <= 1 {
        return (items.into_iter().map(f).collect(), 1);
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&items[i])));
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let item = items[i].lock().expect("no panic holds it").take();
                    let r = f(item.expect("each item is taken once"));
                    *results[i].lock().expect("no panic holds it") = Some(r);
                }
            });
        }
    });
    let results = results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .expect("threads joined")
                .expect("every item ran")
        })
        .collect();
    (results, threads)
}

/// Start the walks of new (or rebuilt) cases over the store: one trace
/// each, independent of the others, so on every core (the start-up of a
/// watch with many open cases, and a rollback, cost one trace per case).
/// Returns each case's first step, in order (`None` without a walk).
fn start_walks(
    g: &Store,
    cases: &mut [Watched],
) -> Result<Vec<Option<tripoint_trace::Advanced>>, WatchError> {
    let lives: Vec<&mut Option<LiveTrace>> = cases.iter_mut().map(|w| &mut w.live).collect();
    on_every_core(
        lives,
        |l| usize::from(l.is_some()),
        |l| l.as_mut().map(|l| l.advance(g)).transpose(),
    )
    .0
    .into_iter()
    .map(|r| r.map_err(WatchError::from))
    .collect()
}

/// A case's taint after the last block, as `--status` and the tests read
/// it: per reached address its taint received and held per asset (the
/// report's keys), and the books per asset.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TaintSnapshot {
    pub block: u64,
    pub addresses: BTreeMap<String, AddressTaint>,
    pub seeded: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AddressTaint {
    pub taint: BTreeMap<String, String>,
    pub held: BTreeMap<String, String>,
    pub hops: u32,
}

fn snapshot<G: TransferGraph>(g: &G, live: &LiveTrace, block: u64) -> TaintSnapshot {
    let r = live.result(g);
    let key = |a| asset_key(g, a, Chain::Ethereum);
    let mut addresses = BTreeMap::new();
    for (i, n) in r.nodes.iter().enumerate() {
        let m = |v: tripoint_trace::AmountsOf<'_>| {
            v.map(|(a, x)| (key(a), x.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        addresses.insert(
            g.address(n.addr).to_string(),
            AddressTaint {
                taint: m(r.received.of_node(i)),
                held: m(r.held.of_node(i)),
                hops: n.hops,
            },
        );
    }
    let seeded = r
        .totals
        .iter()
        .map(|(&a, t)| (key(a), t.seeded.to_string()))
        .collect();
    TaintSnapshot {
        block,
        addresses,
        seeded,
    }
}

/// The alerts of one step of a case (those past its watermark) with its
/// new watermark, and whether its taint changed. `thresholds`: the
/// watch's (a case's own `min_hop_ppm` overrides).
fn case_step(
    thresholds: Thresholds,
    g: &Store,
    w: &mut Watched,
    step: &tripoint_trace::Advanced,
    last_block: Option<u64>,
) -> Option<Step> {
    let live = w.live.as_ref()?;
    let block = last_block?;
    let after = u64::try_from(w.watermark).ok();
    let th = Thresholds {
        min_hop_ppm: w.case.min_hop_ppm.unwrap_or(thresholds.min_hop_ppm),
        ..thresholds
    };
    let alerts = alert::derive(g, &w.case.id, live, step, after, th, &mut w.hops);
    // The step's flows are read: pack them with the older ones.
    if let Some(live) = &mut w.live {
        live.pack_flows();
    }
    Some(Step {
        case_id: w.case.id.clone(),
        block: block as i64,
        alerts,
        changed: !step.flows.is_empty() || !step.nodes.is_empty(),
    })
}

/// The cases part of the watch, without the node: the open cases with
/// their live walks, and the watch database their alerts and watermarks go
/// to. [`run`] drives it block by block; `tripoint bench watch` drives it
/// directly to measure what one block costs.
pub struct Tracker {
    db: Outbox,
    targets: Vec<String>,
    thresholds: Thresholds,
    cases: HashMap<String, Watched>,
    /// Which cases reached which address.
    reach: Reach,
    /// The block the saved taint snapshots are as of.
    taint_saved: Option<u64>,
}

/// What advancing the cases by a block did and cost (`tripoint bench watch`
/// reports the split).
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockWork {
    /// Alerts derived (stored unless an earlier run stored them).
    pub alerts: usize,
    /// The cases' walks and the alerts' derivation.
    pub walk: Duration,
    /// Storing the alerts, their deliveries and the watermarks (one
    /// transaction).
    pub store: Duration,
    /// Cases whose walk was handed rows of the block (resumed), and how
    /// many (case, row) pairs that was: what the walks' time follows.
    pub cases_walked: usize,
    pub case_rows: usize,
    /// Addresses the block's walks reached for the first time, summed over
    /// the cases (each has its history read when taint first arrives).
    pub new_nodes: usize,
    /// The longest one case's walk and alerts took: no spreading over
    /// cores makes a block faster than that.
    pub slowest_case: Duration,
    /// Threads the cases were spread over.
    pub threads: usize,
}

/// What one case's step leaves to store: its alerts past its watermark and
/// its new watermark; `changed` when its taint moved.
struct Step {
    case_id: String,
    block: i64,
    alerts: Vec<Alert>,
    changed: bool,
}

impl Tracker {
    /// The watch database of `store_dir`; new alerts get one delivery per
    /// target (`outbox::CASE`, `outbox::STDOUT`, webhook targets).
    pub fn open(
        store_dir: &Path,
        targets: Vec<String>,
        thresholds: Thresholds,
    ) -> Result<Tracker, WatchError> {
        Ok(Tracker {
            db: Outbox::open(store_dir)?,
            targets,
            thresholds,
            cases: HashMap::new(),
            reach: Reach::default(),
            taint_saved: None,
        })
    }

    /// The watch database.
    pub fn outbox(&self) -> &Outbox {
        &self.db
    }

    /// Cases followed now.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// A followed case's live walk (`None` until a seed is in the store).
    pub fn live(&self, case_id: &str) -> Option<&LiveTrace> {
        self.cases.get(case_id).and_then(|w| w.live.as_ref())
    }

    /// Estimated heap bytes of the cases' state by part, summed over the
    /// cases (the parked walks' parts, and `hop_ledger`), largest first.
    pub fn heap_bytes(&self) -> Vec<(&'static str, usize)> {
        let mut sum: BTreeMap<&'static str, usize> = BTreeMap::new();
        for w in self.cases.values() {
            if let Some(live) = &w.live {
                for (part, n) in live.heap_bytes() {
                    *sum.entry(part).or_default() += n;
                }
            }
            *sum.entry("hop_ledger").or_default() += w.hops.heap_bytes();
        }
        sum.insert("reach_index", self.reach.heap_bytes());
        let mut out: Vec<_> = sum.into_iter().collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.1));
        out
    }

    /// Take in the open cases: new ones start at the last stored block
    /// (or, on a restart, at their watermark); closed ones are dropped.
    /// Every new case's first step is stored in one transaction.
    pub fn refresh_cases(
        &mut self,
        source: &mut dyn CaseSource,
        g: &Store,
        last_block: Option<u64>,
    ) -> Result<(), WatchError> {
        let open = source.open_cases()?;
        let reach = &mut self.reach;
        self.cases.retain(|id, w| {
            let keep = open.iter().any(|c| &c.id == id);
            if !keep {
                reach.remove(w);
                reach.free.push(w.slot);
            }
            keep
        });
        let mut steps = Vec::new();
        let mut fresh = Vec::new();
        for case in open {
            let seeds: Vec<AddrId> = case.seeds.iter().filter_map(|s| g.lookup(s)).collect();
            let known = self.cases.get(&case.id);
            let rebuild = match known {
                None => true,
                // The case was edited (a seed entering the store is `advance`'s business).
                Some(w) => w.case != case,
            };
            if !rebuild {
                continue;
            }
            let slot = match self.cases.remove(&case.id) {
                Some(mut old) => {
                    self.reach.remove(&mut old);
                    old.slot
                }
                None => self.reach.new_slot(),
            };
            // First sight: alerts from the next block on.
            let wm = match self.db.watermark(&case.id)? {
                Some(wm) => wm,
                None => {
                    let wm = last_block.map_or(-1, |b| b as i64);
                    steps.push(Step {
                        case_id: case.id.clone(),
                        block: wm,
                        alerts: Vec::new(),
                        changed: false,
                    });
                    wm
                }
            };
            let mut w = Watched {
                case: case.clone(),
                seeds: seeds.clone(),
                live: None,
                hops: HopLedger::default(),
                watermark: wm,
                dirty: true,
                slot,
                indexed: 0,
            };
            if !seeds.is_empty() {
                w.live = Some(LiveTrace::new(trace_config(&case, seeds))?);
            }
            fresh.push(w);
        }
        let walked = start_walks(g, &mut fresh)?;
        for (mut w, step) in fresh.into_iter().zip(walked) {
            if let Some(step) = step {
                self.reach.add_new(&mut w);
                if let Some(s) = case_step(self.thresholds, g, &mut w, &step, last_block) {
                    steps.push(s);
                }
            }
            self.cases.insert(w.case.id.clone(), w);
        }
        self.store_steps(&steps)
    }

    /// Store the steps of every case in one transaction (one fsync per
    /// block, whatever the number of cases), then move the watermarks.
    fn store_steps(&mut self, steps: &[Step]) -> Result<(), WatchError> {
        if steps.is_empty() {
            return Ok(());
        }
        let batch: Vec<outbox::CaseStep<'_>> = steps
            .iter()
            .map(|s| outbox::CaseStep {
                case_id: &s.case_id,
                block: s.block,
                alerts: &s.alerts,
            })
            .collect();
        self.db.record_steps(&batch, &self.targets)?;
        for s in steps {
            if let Some(w) = self.cases.get_mut(&s.case_id) {
                w.watermark = w.watermark.max(s.block);
                w.dirty |= s.changed;
            }
        }
        Ok(())
    }

    /// Roll the cases back to block `fork` (hash `hash`) after the store
    /// was cut there: the alerts of later blocks are withdrawn and their
    /// deliveries dropped, the watermarks lowered to `fork` (one
    /// transaction, which also clears the rollback intent), and every
    /// case's walk is rebuilt from the store (one trace per case, as on a
    /// restart). Returns how many alerts were withdrawn.
    pub fn roll_back(
        &mut self,
        source: &mut dyn CaseSource,
        g: &Store,
        fork: u64,
        hash: &str,
        note: &str,
    ) -> Result<usize, WatchError> {
        let withdrawn = self.db.roll_back(fork, hash, note)?;
        self.cases.clear();
        self.reach = Reach::default();
        self.taint_saved = None;
        self.refresh_cases(source, g, Some(fork))?;
        Ok(withdrawn)
    }

    /// Make the local deliveries still pending, oldest first: withdrawals
    /// of rolled-back alerts, then the alerts into their cases' records (a
    /// batch per transaction), their JSON lines on `out` (one flush a
    /// batch), and, with `publish` (the `taxii:` target), the exchange.
    /// A batch is marked delivered in one transaction after it is made
    /// (at least once: a kill in between makes it again, same ids).
    pub fn deliver_local(
        &mut self,
        cases: &mut dyn CaseSource,
        out: &mut dyn Write,
        publish: Option<&str>,
    ) -> Result<(), WatchError> {
        const BATCH: usize = 1000;
        let db = &mut self.db;
        // Withdrawals first: an alert the new chain raises again (same id)
        // must not be withdrawn after it was recorded anew.
        loop {
            let due = db.due_retractions(BATCH)?;
            if due.is_empty() {
                break;
            }
            for (alert_id, case_id, retraction) in due {
                cases.retract_alert(&case_id, &alert_id, retraction.as_deref())?;
                db.retracted(&alert_id)?;
            }
        }
        // The case records and stdout: a batch of each, then one commit
        // marks both delivered (a block's alerts usually fit one batch).
        loop {
            let to_case = db.due(outbox::CASE, i64::MAX, BATCH)?;
            let to_stdout = db.due(outbox::STDOUT, i64::MAX, BATCH)?;
            if to_case.is_empty() && to_stdout.is_empty() {
                break;
            }
            if !to_case.is_empty() {
                // (Retractions reach the case through the withdrawals above.)
                let alerts = to_case
                    .iter()
                    .filter(|p| p.retracts.is_none())
                    .map(|p| {
                        Ok((
                            serde_json::from_str(&p.body).map_err(WatchError::Json)?,
                            p.body.clone(),
                        ))
                    })
                    .collect::<Result<Vec<(Alert, String)>, WatchError>>()?;
                cases.record_alerts(&alerts)?;
            }
            if !to_stdout.is_empty() {
                for p in &to_stdout {
                    writeln!(out, "{}", p.body).map_err(WatchError::Stdout)?;
                }
                out.flush().map_err(WatchError::Stdout)?;
            }
            db.delivered_each(&[(&to_case, outbox::CASE), (&to_stdout, outbox::STDOUT)])?;
        }
        let Some(target) = publish else {
            return Ok(());
        };
        // The exchange: at least once, retried with back-off like a webhook;
        // an exchange that refuses or is down holds up nothing else.
        for p in db.due(target, outbox::now_ms(), BATCH)? {
            let done = if p.retracts.is_some() {
                let r: Retraction = serde_json::from_str(&p.body).map_err(WatchError::Json)?;
                cases.publish_retraction(&r, p.generation)
            } else {
                let a: Alert = serde_json::from_str(&p.body).map_err(WatchError::Json)?;
                cases.publish(&a, &p.body, p.generation)
            };
            match done {
                Ok(()) => db.delivered(&p.alert_id, target)?,
                Err(e) => {
                    let attempts = p.attempts + 1;
                    let wait = deliver::backoff(attempts);
                    eprintln!(
                        "watch: publishing {} to {target} failed (attempt {attempts}): {e}; retrying in {:.1} s",
                        p.alert_id,
                        wait.as_secs_f64()
                    );
                    db.failed(
                        &p.alert_id,
                        target,
                        &e.to_string(),
                        outbox::now_ms() + wait.as_millis() as i64,
                    )?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Save the taint snapshot (`--status`) of every case whose taint
    /// changed since its last one, as of `block`, in one transaction.
    /// Snapshots cost a pass over a case's whole walk, so the watch saves
    /// them when it is idle at the head, not per block. Returns how many
    /// were saved.
    pub fn save_taint(&mut self, g: &Store, block: u64) -> Result<usize, WatchError> {
        if self.taint_saved == Some(block) && !self.cases.values().any(|w| w.dirty) {
            return Ok(0);
        }
        let mut snaps = Vec::new();
        for w in self.cases.values_mut().filter(|w| w.dirty) {
            if let Some(live) = &w.live {
                let snap = snapshot(g, live, block);
                snaps.push((
                    format!("taint:{}", w.case.id),
                    serde_json::to_string(&snap).map_err(WatchError::Json)?,
                ));
            }
            w.dirty = false;
        }
        snaps.push((TAINT_BLOCK.to_string(), block.to_string()));
        self.db.set_states(&snaps)?;
        self.taint_saved = Some(block);
        Ok(snaps.len() - 1)
    }

    /// Advance every case over the transfers `begin..` of the new snapshot
    /// `g` (whose last block is `block`), and store all their alerts and
    /// watermarks in one transaction. A case one of whose seeds just
    /// entered the store starts (or restarts) its walk over the whole
    /// store; its watermark keeps alerts of earlier blocks from being
    /// raised again. Returns how many alerts the block raised.
    pub fn advance(&mut self, g: &Store, begin: u64, block: u64) -> Result<BlockWork, WatchError> {
        let t0 = Instant::now();
        let end = g.transfer_count();
        let rows: Vec<TransferRow> = (begin..end).map(|id| g.transfer(id)).collect();
        // Computed once for the block, not once per case.
        let verdicts = TokenVerdicts::new(g, &tripoint_trace::SpamRules::default());
        // The rows each case can be concerned with.
        let touched = self.reach.touched(&rows);
        let Tracker {
            cases,
            reach,
            thresholds,
            ..
        } = self;
        let thresholds = *thresholds;
        // The cases in the map's order (the order their steps are stored
        // in), each with the rows handed to it.
        let mut work: Vec<(&mut Watched, Option<&[u32]>)> = Vec::with_capacity(cases.len());
        for w in cases.values_mut() {
            // A seed's id never changes once it is in the store (ids are
            // never reused, a rollback keeps the dictionary), so only a case
            // still missing a seed looks its seeds up again.
            let all_found = w.seeds.len() == w.case.seeds.len();
            let seeds: Vec<AddrId> = match all_found {
                true => Vec::new(),
                false => w.case.seeds.iter().filter_map(|s| g.lookup(s)).collect(),
            };
            if !all_found && seeds != w.seeds {
                reach.remove(w);
                w.seeds = seeds.clone();
                w.hops = HopLedger::default();
                w.live = if seeds.is_empty() {
                    None
                } else {
                    Some(LiveTrace::new(trace_config(&w.case, seeds))?)
                };
            }
            let among = touched.get(w.slot as usize).map(|v| &v[..]);
            work.push((w, among));
        }
        // Only an indexed walk can skip rows: `among` must cover every node
        // it has. Any other walk goes over every new transfer (or, a walk
        // just (re)started, the whole store).
        let resumable = |w: &Watched| {
            w.live.as_ref().is_some_and(|live| {
                live.next() == begin && begin > 0 && w.indexed == live.nodes().len()
            })
        };
        // Each case's walk and alerts depend on its own state and the block
        // only, so the cases go on every core; their steps come back in
        // the cases' order, so the alerts are stored in the same order as
        // one core would.
        let cost = |(w, among): &(&mut Watched, Option<&[u32]>)| match &w.live {
            None => 0,
            Some(_) if resumable(w) => among.map_or(0, |a| a.len()),
            Some(_) => usize::MAX,
        };
        let resumed = work.iter().map(cost).filter(|&c| c > 0 && c < usize::MAX);
        let (cases_walked, case_rows) = resumed.fold((0, 0), |(n, r), c| (n + 1, r + c));
        let (stepped, threads) = on_every_core(
            work,
            cost,
            |(w, among)| -> Result<(&mut Watched, Option<Step>, usize, Duration), WatchError> {
                let t = Instant::now();
                let resume = resumable(w);
                let step = match &mut w.live {
                    Some(live) if resume => Some(live.advance_rows_among(
                        g,
                        &rows,
                        among.or(Some(&[])),
                        Some(&verdicts),
                    )?),
                    Some(live) => Some(live.advance(g)?),
                    None => None,
                };
                let new_nodes = step.as_ref().map_or(0, |s| s.nodes.len());
                let s = step.and_then(|step| case_step(thresholds, g, w, &step, Some(block)));
                Ok((w, s, new_nodes, t.elapsed()))
            },
        );
        let mut steps = Vec::with_capacity(stepped.len());
        let (mut new_nodes, mut slowest_case) = (0, Duration::ZERO);
        for r in stepped {
            let (w, s, nodes, took) = r?;
            new_nodes += nodes;
            slowest_case = slowest_case.max(took);
            reach.add_new(w);
            steps.push(s.unwrap_or_else(|| Step {
                case_id: w.case.id.clone(),
                block: block as i64,
                alerts: Vec::new(),
                changed: false,
            }));
        }
        let alerts = steps.iter().map(|s| s.alerts.len()).sum();
        let walk = t0.elapsed();
        let t1 = Instant::now();
        self.store_steps(&steps)?;
        Ok(BlockWork {
            alerts,
            walk,
            store: t1.elapsed(),
            cases_walked,
            case_rows,
            new_nodes,
            slowest_case,
            threads,
        })
    }
}

/// The follower: the cases' tracker, stdout, the webhook thread's wake-up.
struct Watch<'a> {
    opts: &'a WatchOptions,
    tracker: Tracker,
    out: &'a mut dyn Write,
    wake: Option<std::sync::mpsc::Sender<()>>,
}

impl Watch<'_> {
    fn flush_local(&mut self, cases: &mut dyn CaseSource) -> Result<(), WatchError> {
        self.tracker
            .deliver_local(cases, self.out, self.opts.publish.as_deref())
    }

    fn refresh_cases(
        &mut self,
        source: &mut dyn CaseSource,
        g: &Store,
        last_block: Option<u64>,
    ) -> Result<(), WatchError> {
        self.tracker.refresh_cases(source, g, last_block)
    }

    fn advance(
        &mut self,
        cases: &mut dyn CaseSource,
        g: &Store,
        begin: u64,
        block: u64,
    ) -> Result<(), WatchError> {
        self.tracker.advance(g, begin, block)?;
        self.flush_local(cases)?;
        if let Some(w) = &self.wake {
            let _ = w.send(());
        }
        Ok(())
    }
}

/// State key: the block the saved taint snapshots are as of.
const TAINT_BLOCK: &str = "taint_block";

fn last_block_key() -> &'static str {
    "last_block"
}

/// Blocks from the head whose hashes are kept even inside a batch read
/// while catching up (older blocks keep only the batch's last): twice
/// Ethereum's 64-block finality.
const REORG_WINDOW: u64 = 128;

/// State key of a rollback begun but maybe not finished: `"<fork> <hash>"`.
const ROLLBACK: &str = "rollback";

fn parse_last(s: &str) -> Option<(u64, TxHash)> {
    let (n, h) = s.split_once(' ')?;
    Some((n.parse().ok()?, h.parse().ok()?))
}

/// Follow the node until `stop` is raised. Node trouble is reported on
/// stderr and retried with back-off; store and database errors end the run.
pub fn run(
    opts: &WatchOptions,
    cases: &mut dyn CaseSource,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> Result<(), WatchError> {
    if !opts.webhooks.is_empty() && opts.secret.is_none() {
        return Err(WatchError::Config(
            "--webhook needs --webhook-secret-file (alerts are signed)".into(),
        ));
    }
    let store = Store::open_or_create(&opts.store)?;
    let mut appender = store.appender()?;
    let mut targets = vec![outbox::CASE.to_string(), outbox::STDOUT.to_string()];
    targets.extend(opts.publish.iter().cloned());
    targets.extend(opts.webhooks.iter().map(|u| deliver::target_of(u)));
    let tracker = Tracker::open(&opts.store, targets, opts.thresholds)?;
    tracker.db.set_state("rpc", &opts.rpc)?;
    tracker
        .db
        .set_state("confirmations", &opts.confirmations.to_string())?;
    let source = rpc_source(&opts.rpc);
    let mut next = appender
        .resume_position(&source)
        .unwrap_or(0)
        .max(opts.from_block.unwrap_or(0));

    let delivery_stop = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<(), WatchError> {
        let (wake_tx, wake_rx) = std::sync::mpsc::channel();
        let delivery = if opts.webhooks.is_empty() {
            None
        } else {
            let secret = opts.secret.as_deref().expect("checked above");
            let (dir, urls, ds) = (&opts.store, &opts.webhooks, &delivery_stop);
            Some(scope.spawn(move || deliver::webhook_loop(dir, urls, secret, wake_rx, ds)))
        };
        let mut w = Watch {
            opts,
            tracker,
            out,
            wake: delivery.as_ref().map(|_| wake_tx),
        };
        let result = follow(&mut w, &mut appender, cases, &source, &mut next, stop);
        delivery_stop.store(true, Ordering::Relaxed);
        drop(w.wake.take());
        if let Some(d) = delivery {
            match d.join() {
                Ok(r) => r?,
                Err(_) => return Err(WatchError::Config("the delivery thread panicked".into())),
            }
        }
        result
    })
}

fn follow(
    w: &mut Watch<'_>,
    appender: &mut tripoint_store::Appender,
    cases: &mut dyn CaseSource,
    source: &str,
    next: &mut u64,
    stop: &AtomicBool,
) -> Result<(), WatchError> {
    let opts = w.opts;
    let mut client = RpcClient::new(&opts.rpc);
    let mut backoff = Backoff(0);
    // A rollback a kill interrupted: finish it before anything else.
    if let Some((fork, hash)) = w
        .tracker
        .db
        .get_state(ROLLBACK)?
        .as_deref()
        .and_then(parse_last)
    {
        finish_roll_back(
            w,
            appender,
            cases,
            source,
            fork,
            hash,
            "resumed after a restart",
        )?;
        *next = fork + 1;
    }
    let mut last = w
        .tracker
        .db
        .get_state(last_block_key())?
        .as_deref()
        .and_then(parse_last)
        .filter(|(n, _)| n + 1 == *next);
    w.flush_local(cases)?;
    let mut g = Store::open(&opts.store)?;
    w.refresh_cases(cases, &g, next.checked_sub(1))?;
    w.flush_local(cases)?;
    if let Some(s) = &w.wake {
        let _ = s.send(());
    }
    let trouble = |what: String, backoff: &mut Backoff| {
        let d = backoff.next();
        eprintln!("watch: {what}; retrying in {:.1} s", d.as_secs_f64());
        nap(d, stop);
    };
    while !stop.load(Ordering::Relaxed) {
        w.refresh_cases(cases, &g, next.checked_sub(1))?;
        w.flush_local(cases)?;
        let head = match client.block_number() {
            Ok(h) => h,
            Err(e) => {
                trouble(
                    format!("node {} unreachable or answering garbage: {e}", opts.rpc),
                    &mut backoff,
                );
                continue;
            }
        };
        // The stored chain is still the node's? (A reorg may replace the
        // last stored block without the chain growing past it.)
        if let Some((n, hash)) = last {
            match client.header(n) {
                Ok(Some(h)) if h.hash == hash => {}
                Ok(_) => {
                    if roll_back(
                        w,
                        appender,
                        cases,
                        source,
                        &mut client,
                        n,
                        &mut backoff,
                        stop,
                    )? {
                        *next = appender_next(appender, source);
                        last = w
                            .tracker
                            .db
                            .get_state(last_block_key())?
                            .as_deref()
                            .and_then(parse_last);
                        g = Store::open(&opts.store)?;
                    }
                    continue;
                }
                Err(e) => {
                    trouble(
                        format!("node {} unreachable or answering garbage: {e}", opts.rpc),
                        &mut backoff,
                    );
                    continue;
                }
            }
        }
        let Some(target) = head.checked_sub(opts.confirmations).filter(|t| *t >= *next) else {
            backoff.reset();
            // Idle at the head: bring the cases' taint snapshots up to date.
            if let Some(last) = next.checked_sub(1) {
                w.tracker.save_taint(&g, last)?;
            }
            nap(opts.poll, stop);
            continue;
        };
        let end = target.min(*next + opts.batch_blocks.max(1) - 1);
        let read = (|| -> Result<_, IngestError> {
            let first = client.header(*next)?;
            let before = client.header(end)?;
            let (records, _) = read_blocks(&mut client, *next, end)?;
            // The hashes of the batch's blocks a reorg may still replace,
            // so that a fork inside a batch is found; read before `after`,
            // so an unchanged last block vouches for them (hashes chain).
            let mut hashes = Vec::new();
            for n in (*next).max(head.saturating_sub(REORG_WINDOW))..end {
                if let Some(h) = client.header(n)? {
                    hashes.push((n, h.hash.to_string()));
                }
            }
            let after = client.header(end)?;
            Ok((first, before, records, hashes, after))
        })();
        let (first, before, records, mut hashes, after) = match read {
            Ok(x) => x,
            Err(e) => {
                trouble(
                    format!("reading blocks {}..={end} from {}: {e}", *next, opts.rpc),
                    &mut backoff,
                );
                continue;
            }
        };
        let (Some(first), Some(before), Some(after)) = (first, before, after) else {
            trouble(
                format!(
                    "node {} lost blocks {}..={end} it announced",
                    opts.rpc, *next
                ),
                &mut backoff,
            );
            continue;
        };
        if before.hash != after.hash {
            trouble(
                format!("block {end} changed while it was read (reorg)"),
                &mut backoff,
            );
            continue;
        }
        if let Some((n, hash)) = last {
            if first.parent_hash != hash {
                // Replaced between the check above and this read: roll back
                // at the next turn.
                trouble(
                    format!(
                        "block {}'s parent is {}, not the stored block {n} ({hash}): the chain reorganised",
                        first.number, first.parent_hash
                    ),
                    &mut backoff,
                );
                continue;
            }
        }
        appender.transfer_batch(&records)?;
        appender.checkpoint(&SourceCursor {
            source: source.to_string(),
            position: end + 1,
        })?;
        hashes.push((end, after.hash.to_string()));
        w.tracker.db.stored_blocks(&hashes)?;
        last = Some((end, after.hash));
        backoff.reset();
        let begin = g.transfer_count();
        *next = end + 1;
        g = Store::open(&opts.store)?;
        w.advance(cases, &g, begin, end)?;
    }
    Ok(())
}

/// The store's next block of this node (its cursor).
fn appender_next(appender: &tripoint_store::Appender, source: &str) -> u64 {
    appender.resume_position(source).unwrap_or(0)
}

/// The stored block `stale` is no longer the node's: find the newest stored
/// block the node still has (the fork) and roll back to it. Node trouble is
/// reported and retried later (`Ok(false)`); a fork older than the block
/// hashes the watch keeps (or a store first filled by `ingest`, whose blocks
/// the watch never saw) is reported, recorded (`--status` shows `reorg`)
/// and the watch does not advance.
#[allow(clippy::too_many_arguments)]
fn roll_back(
    w: &mut Watch<'_>,
    appender: &mut tripoint_store::Appender,
    cases: &mut dyn CaseSource,
    source: &str,
    client: &mut RpcClient,
    stale: u64,
    backoff: &mut Backoff,
    stop: &AtomicBool,
) -> Result<bool, WatchError> {
    let trouble = |what: String, backoff: &mut Backoff| {
        let d = backoff.next();
        eprintln!("watch: {what}; retrying in {:.1} s", d.as_secs_f64());
        nap(d, stop);
    };
    let mut fork = None;
    for (n, hash) in w.tracker.db.block_hashes(stale)? {
        match client.header(n) {
            Ok(Some(h)) if h.hash.to_string() == hash => {
                fork = Some((n, h.hash));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                trouble(
                    format!(
                        "node {} unreachable or answering garbage while looking for the fork of a reorg: {e}",
                        w.opts.rpc
                    ),
                    backoff,
                );
                return Ok(false);
            }
        }
    }
    let Some((fork, hash)) = fork else {
        let msg = format!(
            "stored block {stale} is no longer on the node's chain, and no block the watch stored (it keeps the last {}) is: the chain reorganised deeper than the watch can roll back, so it stops advancing",
            outbox::BLOCK_HASHES_KEPT
        );
        w.tracker.db.set_state("reorg", &msg)?;
        trouble(msg, backoff);
        return Ok(false);
    };
    eprintln!(
        "watch: the chain reorganised: stored blocks {}..={stale} are no longer the node's; rolling back to block {fork} ({hash})",
        fork + 1
    );
    // The intent first: a kill during the rollback finishes it on restart.
    w.tracker
        .db
        .set_state(ROLLBACK, &format!("{fork} {hash}"))?;
    let note = format!(
        "blocks {}..={stale} orphaned; rolled back to block {fork} ({hash}) at {}",
        fork + 1,
        tripoint_trace::report::rfc3339(outbox::now_ms() / 1000)
    );
    finish_roll_back(w, appender, cases, source, fork, hash, &note)?;
    backoff.reset();
    Ok(true)
}

/// Cut the store after block `fork`, then withdraw the later alerts and
/// rebuild the cases (see [`Tracker::roll_back`]); each step is idempotent,
/// so a rollback a kill interrupted is finished by doing it again.
fn finish_roll_back(
    w: &mut Watch<'_>,
    appender: &mut tripoint_store::Appender,
    cases: &mut dyn CaseSource,
    source: &str,
    fork: u64,
    hash: TxHash,
    note: &str,
) -> Result<(), WatchError> {
    let removed = appender.roll_back_after(
        fork,
        &SourceCursor {
            source: source.to_string(),
            position: fork + 1,
        },
    )?;
    let g = Store::open(&w.opts.store)?;
    let withdrawn = w
        .tracker
        .roll_back(cases, &g, fork, &hash.to_string(), note)?;
    w.flush_local(cases)?;
    eprintln!(
        "watch: rolled back to block {fork}: {removed} transfer(s) and {withdrawn} alert(s) of orphaned blocks removed (an alert whose transfer the new chain includes again is raised again with the same id); reading the new chain from block {}",
        fork + 1
    );
    Ok(())
}

/// `tripoint watch --status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub store: String,
    pub rpc: Option<String>,
    /// Next block the watch will store (the `eth-rpc:<url>` cursor).
    pub cursor: Option<u64>,
    pub last_block: Option<u64>,
    pub head: Option<u64>,
    /// Why the head is unknown.
    pub head_error: Option<String>,
    /// Blocks on the node not yet stored (`head + 1 - cursor`).
    pub lag: Option<u64>,
    pub confirmations: Option<u64>,
    pub alerts: u64,
    pub pending_deliveries: Vec<PendingOut>,
    pub cases: Vec<CaseOut>,
    /// The block the cases' `taint` is as of (saved when the watch is idle
    /// at the head).
    pub taint_block: Option<u64>,
    /// A reorg deeper than the watch can roll back, if one was seen.
    pub reorg: Option<String>,
    /// The last rollback of orphaned blocks, if any.
    pub last_rollback: Option<String>,
    /// Alerts withdrawn by rollbacks (an alert the new chain raised again
    /// counts here and in `alerts`).
    pub retracted: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingOut {
    pub target: String,
    pub pending: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseOut {
    pub case_id: String,
    /// Alerts are stored up to this block.
    pub watermark: Option<u64>,
    pub taint: Option<TaintSnapshot>,
}

/// The watch's state on a store: cursor, lag behind the node's head (asked
/// now, when the node answers), pending deliveries, cases.
pub fn status(store_dir: &Path, rpc: Option<&str>) -> Result<Status, WatchError> {
    let db = Outbox::open_existing(store_dir)?;
    let rpc = match (rpc, &db) {
        (Some(r), _) => Some(r.to_string()),
        (None, Some(db)) => db.get_state("rpc")?,
        (None, None) => None,
    };
    let store = if store_dir.join("MANIFEST").exists() {
        Some(Store::open(store_dir)?)
    } else {
        None
    };
    let cursor = match (&store, &rpc) {
        (Some(s), Some(r)) => s.resume_position(&rpc_source(r)),
        _ => None,
    };
    let (head, head_error) = match &rpc {
        Some(r) => match RpcClient::new(r).block_number() {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (
            None,
            Some("no --rpc given and the watch never ran on this store".into()),
        ),
    };
    let lag = head.map(|h| (h + 1).saturating_sub(cursor.unwrap_or(0)));
    let mut out = Status {
        store: store_dir.display().to_string(),
        rpc,
        cursor,
        last_block: None,
        head,
        head_error,
        lag,
        confirmations: None,
        alerts: 0,
        pending_deliveries: Vec::new(),
        cases: Vec::new(),
        taint_block: None,
        reorg: None,
        last_rollback: None,
        retracted: 0,
    };
    if let Some(db) = db {
        out.last_block = db
            .get_state(last_block_key())?
            .as_deref()
            .and_then(parse_last)
            .map(|(n, _)| n);
        out.confirmations = db.get_state("confirmations")?.and_then(|s| s.parse().ok());
        out.alerts = db.alert_count()?;
        out.pending_deliveries = db
            .pending()?
            .into_iter()
            .map(|(target, pending, last_error)| PendingOut {
                target,
                pending,
                last_error,
            })
            .collect();
        for (case_id, wm) in db.watermarks()? {
            let taint = db
                .get_state(&format!("taint:{case_id}"))?
                .and_then(|s| serde_json::from_str(&s).ok());
            out.cases.push(CaseOut {
                case_id,
                watermark: u64::try_from(wm).ok(),
                taint,
            });
        }
        out.reorg = db.get_state("reorg")?;
        out.last_rollback = db.get_state("last_rollback")?;
        out.retracted = db.retraction_count()?;
        out.taint_block = db.get_state(TAINT_BLOCK)?.and_then(|s| s.parse().ok());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::on_every_core;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn on_every_core_runs_each_item_once_and_returns_results_in_the_items_order() {
        // Costs out of order, some zero: the heaviest run first, yet the
        // results come back in the items' order.
        let items: Vec<usize> = vec![3, 0, 7, 1, 0, 9, 2, 5, 0, 4];
        let runs = AtomicUsize::new(0);
        let (out, threads) = on_every_core(
            items.clone(),
            |&c| c,
            |c| {
                runs.fetch_add(1, Ordering::Relaxed);
                c * 10
            },
        );
        assert_eq!(out, items.iter().map(|c| c * 10).collect::<Vec<_>>());
        assert_eq!(runs.load(Ordering::Relaxed), items.len());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads, cores.min(7));
        // Items that all cost nothing need no thread.
        let (out, threads) = on_every_core(vec![1, 2, 3], |_| 0, |c| c + 1);
        assert_eq!((out, threads), (vec![2, 3, 4], 1));
    }
}
