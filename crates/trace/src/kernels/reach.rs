//! Lean poison reachability: which addresses the poison trace reaches, with
//! the hop distance and the first tainted transfer of each, and nothing
//! else (no flows, amounts, spam list or totals).
//!
//! Same semantics as [`TaintPolicy::Poison`](crate::TaintPolicy::Poison)
//! over [`crate::trace`], node for node (property-tested in
//! `tests/kernels.rs` against the general engine): taint in an asset reaches
//! an address, and that address's later payments in the same asset carry
//! it on; seeds' payments from the start time on all carry it. What makes
//! it cheap:
//!
//! * only a transfer whose payer is walked can change anything under
//!   poison, so a row costs one bit test of its payer in a 1-bit-per-address
//!   set that stays in cache; nothing is kept for unwalked addresses;
//! * the pass starts at the seeds' first payment from the start time on
//!   (nothing moves before it), not at the first transfer;
//! * an address's state is 4 bytes (flags and hop count), so the state
//!   array stays small; taint in the native coin and in the first five
//!   tokens is a bit each there, other tokens a short chain whose head is
//!   looked up only behind a flag;
//! * on a large graph a second thread reads the batches ahead of the walk
//!   and marks the rows that can carry taint at all, from one bit per amount
//!   ([`TransferGraph::read_batch_at_least`]: the store never widens an
//!   amount to 256 bits), so the walk never reads an amount.
//!
//! [`reach`] returns `None` where the full trace is needed: look-alike
//! spam detection on (it depends on each address's counterparty history),
//! a DEX reached (the swap rule moves taint across assets), a UTXO
//! transaction node walked, a seed outside the graph, or a hop count beyond
//! 2^22. Callers then run the poison trace.

use tripoint_chain::{
    AddrId, Amount, AssetId, Category, TransferBatch, TransferGraph, TransferId, NATIVE_ASSET,
};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::fxhash::FxHashMap;
use crate::sys::{huge_pages, huge_vec, prefetch_at};
use crate::taint::{
    classify_labels, first_at_or_after, trace, Class, EngineKind, Role, TaintPolicy, TraceConfig,
    TraceError, TraceResult,
};

/// One reached address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub addr: AddrId,
    pub role: Role,
    /// Fewest hops from a seed over time-respecting tainted transfers.
    pub hops: u32,
    /// First transfer that brought taint (seeds: the first taint they got back).
    pub first: Option<TransferId>,
    /// Terminal category, for endpoints.
    pub category: Option<Category>,
}

/// What [`reach`] found: the poison trace's nodes, in the same (discovery)
/// order, kept as columns (16 bytes a node) and read through [`Reach::get`]
/// and [`Reach::iter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    addrs: Vec<AddrId>,
    hops: Vec<u32>,
    /// [`NO_FIRST`] for none.
    first: Vec<TransferId>,
    /// Nodes `0..seeds` are the seeds.
    seeds: usize,
    /// Nodes with a terminal category (endpoints, or walked with
    /// `walk_terminals`): (node index, role, category), ascending index.
    categorized: Vec<(u32, Role, Category)>,
    /// Transfers whose payer was walked (the ones that could carry taint).
    pub visited: u64,
    /// [`EngineKind::ReachKernel`], or the engine of the poison trace that
    /// answered where the kernel does not apply.
    pub engine: EngineKind,
}

const NO_FIRST: TransferId = TransferId::MAX;

impl Reach {
    /// Reached addresses, seeds included.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
    /// Reached addresses in discovery order.
    pub fn addrs(&self) -> &[AddrId] {
        &self.addrs
    }
    /// Node `i` (`i < len()`).
    pub fn get(&self, i: usize) -> Reached {
        let marked = self
            .categorized
            .binary_search_by_key(&(i as u32), |e| e.0)
            .ok()
            .map(|k| &self.categorized[k]);
        let role = match marked {
            _ if i < self.seeds => Role::Seed,
            Some(m) => m.1,
            None => Role::Walked,
        };
        Reached {
            addr: self.addrs[i],
            role,
            hops: self.hops[i],
            first: (self.first[i] != NO_FIRST).then_some(self.first[i]),
            category: marked.map(|m| m.2.clone()),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = Reached> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The reached set of a poison trace's result (its nodes, in order).
    fn from_trace(r: &TraceResult) -> Reach {
        let mut out = Reach {
            addrs: Vec::with_capacity(r.nodes.len()),
            hops: Vec::with_capacity(r.nodes.len()),
            first: Vec::with_capacity(r.nodes.len()),
            seeds: 0,
            categorized: Vec::new(),
            visited: r.visited,
            engine: r.engine,
        };
        for (i, n) in r.nodes.iter().enumerate() {
            out.addrs.push(n.addr);
            out.hops.push(n.hops);
            out.first.push(n.first.unwrap_or(NO_FIRST));
            if n.role == Role::Seed {
                out.seeds = i + 1;
            } else if let Some(c) = n.category.as_deref() {
                out.categorized.push((i as u32, n.role, c.clone()));
            }
        }
        out
    }
}

const BATCH: usize = 1 << 14;

/// Per-address word: flags in the top bits, hop count below.
const WALKED: u32 = 1 << 31;
const SEED: u32 = 1 << 30;
/// Reached but not walked (endpoint).
const NODE: u32 = 1 << 29;
/// Holds native-coin taint.
const NATIVE: u32 = 1 << 28;
/// Holds taint in some token of id above [`BIT_TOKENS`] (its chain head is
/// in `Pass::token_head`).
const TOKENS: u32 = 1 << 27;
/// Tokens `1..=BIT_TOKENS` (the first ones the store met: the busiest, as a
/// rule) have a bit each below [`TOKENS`], so that most token rows are
/// decided from the state word alone.
const BIT_TOKENS: AssetId = 5;
const HOPS: u32 = (1 << (27 - BIT_TOKENS)) - 1;

/// The state bit that says an address holds taint in `asset`: [`NATIVE`],
/// its own bit, or [`TOKENS`] (then look in the chain).
#[inline]
fn asset_bit(asset: AssetId) -> u32 {
    match asset {
        NATIVE_ASSET => NATIVE,
        1..=BIT_TOKENS => TOKENS >> asset,
        _ => TOKENS,
    }
}

struct Pass<'a, G: TransferGraph> {
    g: &'a G,
    cfg: &'a TraceConfig,
    /// One bit per address: walked or seed.
    walked: Vec<u64>,
    /// Flags ([`WALKED`], [`SEED`], [`NODE`], [`asset_bit`]s) and hop
    /// count ([`HOPS`]) per address: 4 bytes, so the array stays small.
    state: Vec<u32>,
    /// Head of an address's token-taint chain: index + 1 into
    /// `token_taint`. Only addresses flagged [`TOKENS`] have one.
    token_head: FxHashMap<AddrId, u32>,
    /// Token chains: (asset, next + 1), headed in `token_head`.
    token_taint: Vec<(AssetId, u32)>,
    addrs: Vec<AddrId>,
    first: Vec<TransferId>,
    /// Hop count of each node when found.
    hops: Vec<u32>,
    /// One bit per address: a node whose hop count fell later (the state
    /// has it).
    lowered: Vec<u64>,
    categorized: Vec<(u32, Role, Category)>,
    /// Seeds, sorted: node `i` is `seeds[i]`.
    seeds: Vec<AddrId>,
    /// The graph's may-have-labels bitmap, where it lends one.
    labelled: Option<&'a [u64]>,
    /// The CPU has AVX-512F ([`Pass::walk_batch_avx512`]).
    avx512: bool,
    visited: u64,
    /// Spam verdicts per token (swap outputs in spam tokens do not count).
    token_spam: Vec<Option<crate::spam::SpamReason>>,
}

/// The poison trace's reached set: every address the stolen funds can have
/// touched, with its hop distance and first tainted transfer. The lean
/// kernel ([`reach`]) answers where it applies, in one pass on two threads
/// (about 25x faster than the full trace at 10^7 transfers); elsewhere the
/// poison trace does, with the same nodes in the same order.
/// `cfg.policy` and `cfg.traversal` are ignored: this is always poison.
pub fn reached<G: TransferGraph + Sync>(g: &G, cfg: &TraceConfig) -> Result<Reach, TraceError> {
    if cfg.seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    if let Some(r) = reach(g, cfg) {
        return Ok(r);
    }
    let mut poison = cfg.clone();
    poison.policy = TaintPolicy::Poison;
    Ok(Reach::from_trace(&trace(g, &poison)?))
}

/// The poison trace's reached set (see the module docs), or `None` where
/// the configuration or the graph needs the full trace. `cfg.policy` and
/// `cfg.traversal` are ignored: this is poison, in one pass.
pub(crate) fn reach<G: TransferGraph + Sync>(g: &G, cfg: &TraceConfig) -> Option<Reach> {
    #[cfg(target_arch = "x86_64")]
    let avx512 = std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let avx512 = false;
    reach_with(g, cfg, avx512)
}

/// [`reach`], with AVX-512F compares or not (`avx512` only where the CPU
/// has it).
fn reach_with<G: TransferGraph + Sync>(g: &G, cfg: &TraceConfig, avx512: bool) -> Option<Reach> {
    if cfg.spam.lookalike || cfg.seeds.is_empty() {
        return None;
    }
    let n = g.address_count();
    let mut seeds = cfg.seeds.clone();
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.iter().any(|&s| s as usize >= n || g.is_tx_node(s)) {
        return None;
    }
    let start = first_at_or_after(g, cfg.from);
    // Nothing carries taint before a seed's first payment from the start on.
    let begin = seeds
        .iter()
        .filter_map(|&s| g.outgoing(s).find(|&id| id >= start))
        .min();
    let total = g.transfer_count();
    let reader = Reader::new(g, cfg, avx512);
    let p = match begin {
        None => Pass::new(g, cfg, &seeds, avx512),
        Some(begin) if total - begin <= 4 * BATCH as u64 => {
            let mut p = Pass::new(g, cfg, &seeds, avx512);
            // A sequential scan: the store may unmap the rows behind it.
            let (mut batch, mut marks) = (TransferBatch::sequential(), Default::default());
            let mut next = begin;
            while next < total {
                let len = reader.read(next, &mut batch, &mut marks);
                if len == 0 || !p.walk_batch(&batch, &marks)? {
                    break;
                }
                next = batch.first + len as u64;
            }
            p
        }
        Some(begin) => threaded(&reader, begin, || Pass::new(g, cfg, &seeds, avx512))?,
    };
    Some(p.finish())
}

/// The pass from `begin` on with two threads: another reads the batches
/// (payers, payees, assets, and one bit per amount instead of the amount)
/// and marks the rows that can carry taint at all ([`Reader::read`]), up
/// to [`SLOTS`] batches ahead, while this one makes the pass's tables
/// (`pass()`: they take a few milliseconds to come from the kernel, the
/// first batches as long to read) and walks the batches.
fn threaded<'a, G: TransferGraph + Sync>(
    reader: &Reader<'a, G>,
    begin: TransferId,
    pass: impl FnOnce() -> Pass<'a, G>,
) -> Option<Pass<'a, G>> {
    let total = reader.g.transfer_count();
    let ring = Ring::new(std::thread::current());
    let ring = &ring;
    std::thread::scope(|scope| {
        let reader_thread = scope.spawn(move || {
            // However this thread ends (a panic too), the walker is told.
            let _done = Signal(|| {
                ring.done.store(true, Ordering::SeqCst);
                ring.walker.unpark();
            });
            let mut next = begin;
            let mut i = 0;
            // Ends when the graph does, at the cut, or when the walker
            // stops.
            while next < total {
                if i - ring.taken.load(Ordering::SeqCst) >= SLOTS {
                    // Full: sleep until the walker has emptied half the
                    // ring, so it wakes this thread once per SLOTS / 2
                    // batches, not once a batch.
                    ring.reader_asleep.store(true, Ordering::SeqCst);
                    while i - ring.taken.load(Ordering::SeqCst) > SLOTS / 2
                        && !ring.stop.load(Ordering::SeqCst)
                    {
                        std::thread::park();
                    }
                    ring.reader_asleep.store(false, Ordering::SeqCst);
                    if ring.stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
                let mut slot = ring.slot(i);
                let (batch, marks) = &mut *slot;
                let len = reader.read(next, batch, marks);
                if len == 0 {
                    break;
                }
                next = batch.first + len as u64;
                let cut = marks.cut < len;
                drop(slot);
                i += 1;
                ring.read.store(i, Ordering::SeqCst);
                if ring.walker_asleep.load(Ordering::SeqCst) {
                    ring.walker.unpark();
                }
                if cut {
                    break;
                }
            }
        });
        // However the walk ends (a panic too), the reader stops: the scope
        // waits for it.
        let reader_handle = reader_thread.thread().clone();
        let _stop = Signal(|| {
            ring.stop.store(true, Ordering::SeqCst);
            reader_handle.unpark();
        });
        let mut p = pass();
        let mut i = 0;
        let walked = loop {
            // Batch `i` is there, or the reader is done.
            let ready = || ring.read.load(Ordering::SeqCst) > i || ring.done.load(Ordering::SeqCst);
            if !ready() {
                // The reader is usually a few microseconds away (early in
                // the pass, where the walk is quicker than the read): spin
                // that long before sleeping.
                let t = std::time::Instant::now();
                while !ready() && t.elapsed() < std::time::Duration::from_micros(SPIN_US) {
                    std::hint::spin_loop();
                }
                ring.walker_asleep.store(true, Ordering::SeqCst);
                while !ready() {
                    std::thread::park();
                }
                ring.walker_asleep.store(false, Ordering::SeqCst);
            }
            if ring.read.load(Ordering::SeqCst) <= i {
                break Some(());
            }
            let slot = ring.slot(i);
            let more = p.walk_batch(&slot.0, &slot.1);
            drop(slot);
            i += 1;
            ring.taken.store(i, Ordering::SeqCst);
            if ring.reader_asleep.load(Ordering::SeqCst)
                && ring.read.load(Ordering::SeqCst) - i <= SLOTS / 2
            {
                reader_thread.thread().unpark();
            }
            match more {
                Some(true) => {}
                Some(false) => break Some(()),
                None => break None,
            }
        };
        walked.map(|()| p)
    })
}

impl<'a, G: TransferGraph> Pass<'a, G> {
    /// The tables for a pass from `seeds` (sorted): they are its first
    /// nodes.
    fn new(g: &'a G, cfg: &'a TraceConfig, seeds: &[AddrId], avx512: bool) -> Self {
        let n = g.address_count();
        let mut p = Pass {
            g,
            cfg,
            walked: vec![0; n.div_ceil(64)],
            state: huge_vec(n),
            token_head: FxHashMap::default(),
            token_taint: Vec::new(),
            // Room for every address (untouched room costs nothing), so
            // the columns never move as they grow.
            addrs: huge_pages(Vec::with_capacity(n)),
            first: huge_pages(Vec::with_capacity(n)),
            hops: huge_pages(Vec::with_capacity(n)),
            lowered: vec![0; n.div_ceil(64)],
            categorized: Vec::new(),
            seeds: seeds.to_vec(),
            // No label at all (a bare graph): nothing to test per node.
            labelled: g.labelled_bits().map(|bits| {
                if bits.iter().any(|&w| w != 0) {
                    bits
                } else {
                    &[]
                }
            }),
            avx512,
            visited: 0,
            token_spam: cfg.spam.token_verdicts(g),
        };
        for &s in seeds {
            p.walked[s as usize / 64] |= 1 << (s % 64);
            p.state[s as usize] = WALKED | SEED;
            p.addrs.push(s);
            p.first.push(NO_FIRST);
            p.hops.push(0);
        }
        p
    }

    /// The nodes found.
    fn finish(self) -> Reach {
        // Nodes whose hop count fell after they were found take it from
        // the state (found 64 at a time, so no guess per node; read apart,
        // so that the reads overlap).
        let mut hops = self.hops;
        let mut lowered = Vec::new();
        for (c, addrs) in self.addrs.chunks(64).enumerate() {
            let mut m = bits_of(&self.lowered, addrs);
            while m != 0 {
                lowered.push(c * 64 + m.trailing_zeros() as usize);
                m &= m - 1;
            }
        }
        for i in lowered {
            hops[i] = self.state[self.addrs[i] as usize] & HOPS;
        }
        let (mut addrs, mut first) = (self.addrs, self.first);
        // Hand back only what is used (a large block shrinks in place).
        addrs.shrink_to_fit();
        first.shrink_to_fit();
        hops.shrink_to_fit();
        Reach {
            addrs,
            hops,
            first,
            seeds: self.seeds.len(),
            categorized: self.categorized,
            visited: self.visited,
            engine: EngineKind::ReachKernel,
        }
    }

    /// Bit `k` set where `src[k]` is walked (`src.len() <= 64`): one
    /// bitmap load per row and no branch, so the loads overlap and no
    /// guess about a row (a quarter of them are walked, at random) is
    /// ever mispredicted.
    #[inline]
    fn walked_mask(&self, src: &[AddrId]) -> u64 {
        bits_of(&self.walked, src)
    }

    /// Walk one batch, 64 rows at a time: `Some(false)` if it ends at the
    /// cut (past `until`: the trace ends), `None` to give up (see
    /// [`reach`]).
    fn walk_batch(&mut self, batch: &TransferBatch, marks: &Marks) -> Option<bool> {
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: the CPU has AVX-512F (see `reach_with`).
            return unsafe { self.walk_batch_avx512(batch, marks) };
        }
        self.walk_batch_with::<false>(batch, marks)
    }

    /// [`Pass::walk_batch`] compiled for AVX-512F: the compares for a newly
    /// walked payer are four instructions a chunk.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn walk_batch_avx512(&mut self, batch: &TransferBatch, marks: &Marks) -> Option<bool> {
        self.walk_batch_with::<true>(batch, marks)
    }

    #[inline(always)]
    fn walk_batch_with<const AVX512: bool>(
        &mut self,
        batch: &TransferBatch,
        marks: &Marks,
    ) -> Option<bool> {
        let cut = marks.cut;
        let chunks = cut.div_ceil(64);
        let rows = |c: usize| c * 64..(c * 64 + 64).min(cut);
        // Walked payers of the next chunk: its walked mask taken before
        // this chunk is walked, plus the rows paid by addresses this chunk
        // makes walked (so one bitmap gather per chunk, and exact).
        let mut next_walked = match chunks {
            0 => 0,
            _ => self.walked_mask(&batch.src[rows(0)]),
        };
        for c in 0..chunks {
            let base = c * 64;
            let (src, dst) = (&batch.src[rows(c)], &batch.dst[rows(c)]);
            let (visit, carry) = (marks.visit[c], marks.carry[c]);
            // Rows with a walked payer (only they can change anything
            // under poison) that can carry taint, in order.
            let walked = visit & next_walked;
            self.visited += u64::from(walked.count_ones());
            let mut todo = walked & carry;
            let next_src = if c + 1 < chunks {
                &batch.src[rows(c + 1)]
            } else {
                &[]
            };
            next_walked = self.walked_mask(next_src);
            // Warm the next chunk's state lines (the rows this chunk adds
            // are not: a missed prefetch only).
            let mut p = next_walked & marks.carry.get(c + 1).copied().unwrap_or(0);
            while p != 0 {
                let k = p.trailing_zeros() as usize;
                p &= p - 1;
                prefetch_at(&self.state, next_src[k] as usize);
                prefetch_at(&self.state, batch.dst[base + 64 + k] as usize);
            }
            while todo != 0 {
                let k = todo.trailing_zeros() as usize;
                todo &= todo - 1;
                let d = dst[k];
                if self.step(
                    batch.first + (base + k) as u64,
                    src[k],
                    d,
                    batch.asset[base + k],
                )? {
                    // `d` is walked from here on: its later payments in
                    // this chunk and the next are walked too.
                    let later = eq_mask::<AVX512>(src, d) & (u64::MAX << k << 1);
                    let paid = visit & later;
                    self.visited += u64::from(paid.count_ones());
                    todo |= paid & carry;
                    next_walked |= eq_mask::<AVX512>(next_src, d);
                }
            }
        }
        Some(cut == batch.len())
    }

    /// A transfer from a walked payer that can carry taint ([`Marks::carry`]):
    /// `Some(true)` if it made `dst` a newly walked address.
    #[inline(always)]
    fn step(&mut self, id: TransferId, src: AddrId, dst: AddrId, asset: AssetId) -> Option<bool> {
        let ws = self.state[src as usize];
        let bit = asset_bit(asset);
        let tainted = ws & SEED != 0
            || ws & bit != 0 && (bit != TOKENS || self.holds_token(self.head(src), asset));
        if !tainted {
            return Some(false);
        }
        let hops = (ws & HOPS).saturating_add(1);
        if hops > self.cfg.max_hops {
            return Some(false);
        }
        if hops > HOPS {
            return None;
        }
        let wd = self.state[dst as usize];
        if wd & (WALKED | NODE) == 0 {
            return self.new_node(id, dst, hops, asset);
        }
        let mut w = wd;
        if hops < wd & HOPS {
            w = (wd & !HOPS) | hops;
            self.lowered[dst as usize / 64] |= 1 << (dst % 64);
        }
        if wd & WALKED != 0 {
            // Poison takes the swap reading of a payment to a walked
            // address too (crosses assets): the full trace's job.
            if self.swapped(id) {
                return None;
            }
            if bit == TOKENS {
                self.taint_chain(dst, asset);
                w |= TOKENS;
            } else {
                w |= bit;
            }
            if wd & SEED != 0 {
                self.seed_tainted(dst, id)?;
            }
        }
        self.state[dst as usize] = w;
        Some(false)
    }

    /// First taint at `dst`: a new node, classified by its labels.
    #[inline(always)]
    fn new_node(&mut self, id: TransferId, dst: AddrId, hops: u32, asset: AssetId) -> Option<bool> {
        let maybe_labelled = match self.labelled {
            Some(bits) => bits
                .get(dst as usize / 64)
                .is_some_and(|w| w >> (dst % 64) & 1 != 0),
            None => self.g.may_have_labels(dst),
        };
        if maybe_labelled {
            return self.labelled_node(id, dst, hops, asset);
        }
        if self.g.is_tx_node(dst) || self.swapped(id) {
            return None;
        }
        self.walk(dst, hops, asset);
        self.addrs.push(dst);
        self.first.push(id);
        self.hops.push(hops);
        Some(true)
    }

    /// [`Pass::new_node`] for an address that may have labels (rare).
    #[cold]
    #[inline(never)]
    fn labelled_node(
        &mut self,
        id: TransferId,
        dst: AddrId,
        hops: u32,
        asset: AssetId,
    ) -> Option<bool> {
        let cfg = self.cfg;
        let (class, category) = classify_labels(&self.g.labels(dst), cfg);
        let role = match class {
            // The swap rule moves taint across assets: the full trace's job.
            Class::Dex => return None,
            Class::Terminal if !cfg.walk_terminals => Role::Endpoint,
            _ => Role::Walked,
        };
        let walked = role == Role::Walked;
        if walked {
            if self.g.is_tx_node(dst) || self.swapped(id) {
                return None;
            }
            self.walk(dst, hops, asset);
        } else {
            self.state[dst as usize] = NODE | hops;
        }
        if let Some(c) = category {
            self.categorized.push((self.addrs.len() as u32, role, c));
        }
        self.addrs.push(dst);
        self.first.push(id);
        self.hops.push(hops);
        Some(walked)
    }

    /// The payer of `id` got another asset back in its transaction: the
    /// payee is a swap's counterparty, and the swap rule moves taint
    /// across assets: the full trace's job (as for a labelled DEX).
    #[cold]
    fn swapped(&self, id: TransferId) -> bool {
        let r = self.g.transfer(id);
        crate::taint::swapped(self.g, id, &r, &self.token_spam).is_some()
    }

    /// `a` is walked from here on, at `hops`, tainted in `asset`.
    #[inline]
    fn walk(&mut self, a: AddrId, hops: u32, asset: AssetId) {
        self.walked[a as usize / 64] |= 1 << (a % 64);
        let bit = asset_bit(asset);
        if bit == TOKENS {
            self.state[a as usize] = WALKED | hops;
            self.taint_chain(a, asset);
        } else {
            self.state[a as usize] = WALKED | hops | bit;
        }
    }

    /// A seed got taint back: its first such transfer is its `first`.
    #[cold]
    fn seed_tainted(&mut self, seed: AddrId, id: TransferId) -> Option<()> {
        let i = self.seeds.binary_search(&seed).ok()?;
        if self.first[i] == NO_FIRST {
            self.first[i] = id;
        }
        Some(())
    }

    #[inline]
    fn head(&self, a: AddrId) -> u32 {
        if self.state[a as usize] & TOKENS == 0 {
            return 0;
        }
        self.token_head.get(&a).copied().unwrap_or(0)
    }

    /// Is `asset` in the token chain starting at `head` (index + 1, 0 = empty)?
    #[inline]
    fn holds_token(&self, mut head: u32, asset: AssetId) -> bool {
        while head != 0 {
            let (a, next) = self.token_taint[head as usize - 1];
            if a == asset {
                return true;
            }
            head = next;
        }
        false
    }

    /// Taint in a token without a bit of its own ([`BIT_TOKENS`]): in the
    /// address's chain.
    #[cold]
    #[inline(never)]
    fn taint_chain(&mut self, a: AddrId, asset: AssetId) {
        let head = self.head(a);
        if !self.holds_token(head, asset) {
            self.token_taint.push((asset, head));
            self.token_head.insert(a, self.token_taint.len() as u32);
            self.state[a as usize] |= TOKENS;
        }
    }
}

/// Runs its closure when dropped.
struct Signal<F: FnMut()>(F);

impl<F: FnMut()> Drop for Signal<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Batches in flight between the reader thread and the walker.
const SLOTS: usize = 8;
/// How long the walker spins for a batch before it sleeps.
const SPIN_US: u64 = 20;

/// Batches handed from the reader thread to the walker: a ring of slots and
/// two counters. Waking a sleeping thread is a system call and, on a
/// virtual machine, an interrupt to the other core (~8 % of the pass when
/// every batch went through a channel), so the walker spins a little before
/// it sleeps and the reader, when the ring is full, sleeps until it is half
/// empty. A slot's lock is never contended: batch `i` is in slot
/// `i % SLOTS`, written while `read == i < taken + SLOTS`, walked while
/// `taken == i < read`.
struct Ring {
    slots: Vec<std::sync::Mutex<(TransferBatch, Marks)>>,
    /// Batches read.
    read: AtomicUsize,
    /// Batches walked.
    taken: AtomicUsize,
    /// No more batches will be read.
    done: AtomicBool,
    /// The walker has stopped: the reader stops too.
    stop: AtomicBool,
    reader_asleep: AtomicBool,
    walker_asleep: AtomicBool,
    walker: std::thread::Thread,
}

impl Ring {
    fn new(walker: std::thread::Thread) -> Ring {
        Ring {
            // Sequential scans: the store may unmap the rows behind them.
            slots: (0..SLOTS)
                .map(|_| std::sync::Mutex::new((TransferBatch::sequential(), Marks::default())))
                .collect(),
            read: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            reader_asleep: AtomicBool::new(false),
            walker_asleep: AtomicBool::new(false),
            walker,
        }
    }

    fn slot(&self, i: usize) -> std::sync::MutexGuard<'_, (TransferBatch, Marks)> {
        // A poisoned lock means the other side panicked: so does the scope.
        self.slots[i % SLOTS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// What the reader thread works out about a batch, independent of the walk.
#[derive(Default)]
struct Marks {
    /// Rows before the first one past `until`, whoever pays it (the trace
    /// ends there; timestamps may be out of order): the whole batch if none.
    cut: usize,
    /// Per 64 rows before the cut: bit `k` set if the row is at or after
    /// the start time (walked at all, if its payer is).
    visit: Vec<u64>,
    /// Per 64 rows before the cut: the `visit` rows that can carry taint,
    /// whoever pays: not a self-transfer, not zero, not below the dust
    /// threshold, not a spam token.
    carry: Vec<u64>,
    /// Per 64 rows of the batch: amount at least the smallest that carries.
    at_least: Vec<u64>,
}

/// Reads batches and marks their rows ([`Marks`]): the reader thread's job.
struct Reader<'a, G> {
    g: &'a G,
    cfg: &'a TraceConfig,
    /// Smallest amount that carries taint: 1, or the dust threshold.
    min: Amount,
    /// Spam tokens (never carry), ascending.
    spam_tokens: Vec<AssetId>,
    /// The CPU has AVX-512F.
    avx512: bool,
}

impl<'a, G: TransferGraph> Reader<'a, G> {
    fn new(g: &'a G, cfg: &'a TraceConfig, avx512: bool) -> Self {
        let spam_tokens = (cfg.spam.token_verdicts(g).iter().enumerate())
            .filter(|&(a, v)| v.is_some() && a as AssetId != NATIVE_ASSET)
            .map(|(a, _)| a as AssetId)
            .collect();
        Reader {
            g,
            cfg,
            min: cfg.dust.max(Amount::ONE),
            spam_tokens,
            avx512,
        }
    }

    /// Reads the batch from `start` on and marks it; returns its length.
    fn read(&self, start: TransferId, batch: &mut TransferBatch, out: &mut Marks) -> usize {
        let cfg = self.cfg;
        let times = cfg.from != i64::MIN || cfg.until.is_some();
        let len =
            self.g
                .read_batch_at_least(start, BATCH, self.min, times, batch, &mut out.at_least);
        let cut = match cfg.until {
            Some(until) => batch
                .timestamp
                .iter()
                .position(|&t| t > until)
                .unwrap_or(len),
            None => len,
        };
        out.cut = cut;
        out.visit.clear();
        // Usually the whole batch is at or after the start time.
        if cfg.from == i64::MIN || batch.timestamp[..cut].iter().all(|&t| t >= cfg.from) {
            out.visit.resize(cut / 64, !0);
            if cut % 64 != 0 {
                out.visit.push((1 << (cut % 64)) - 1);
            }
        } else {
            out.visit
                .extend(batch.timestamp[..cut].chunks(64).map(|rows| {
                    rows.iter()
                        .enumerate()
                        .fold(0u64, |m, (k, &t)| m | u64::from(t >= cfg.from) << k)
                }));
        }
        out.carry.clear();
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: the CPU has AVX-512F (see `reach_with`).
            unsafe { self.mark_carriers_avx512(batch, out) };
            return len;
        }
        self.mark_carriers::<false>(batch, out);
        len
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn mark_carriers_avx512(&self, batch: &TransferBatch, out: &mut Marks) {
        self.mark_carriers::<true>(batch, out)
    }

    /// [`Marks::carry`] from the start-time, amount and payee marks, and
    /// the spam tokens.
    #[inline(always)]
    fn mark_carriers<const AVX512: bool>(&self, batch: &TransferBatch, out: &mut Marks) {
        let cut = out.cut;
        let rows = batch.src[..cut]
            .chunks(64)
            .zip(batch.dst[..cut].chunks(64))
            .zip(batch.asset[..cut].chunks(64));
        for (((src, dst), asset), (&visit, &at_least)) in
            rows.zip(out.visit.iter().zip(&out.at_least))
        {
            let mut m = visit & at_least & !eq_pairs::<AVX512>(src, dst);
            for &spam in &self.spam_tokens {
                m &= !eq_mask::<AVX512>(asset, spam);
            }
            out.carry.push(m);
        }
    }
}

/// Bit `k` set where `a[k] == b[k]` (`a.len() == b.len() <= 64`), with
/// AVX-512F compares (the caller has the feature) or plain ones.
#[inline(always)]
fn eq_pairs<const AVX512: bool>(a: &[AddrId], b: &[AddrId]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: only compiled into functions that run where the CPU has
        // AVX-512F.
        return unsafe { eq_pairs_avx512(a, b) };
    }
    a.iter()
        .zip(b)
        .enumerate()
        .fold(0u64, |m, (k, (x, y))| m | u64::from(x == y) << k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn eq_pairs_avx512(a: &[AddrId], b: &[AddrId]) -> u64 {
    use std::arch::x86_64::*;
    debug_assert!(a.len() == b.len() && a.len() <= 64);
    let mut m = 0u64;
    for q in 0..a.len().div_ceil(16) {
        let left = a.len() - q * 16;
        let lanes: __mmask16 = if left >= 16 { !0 } else { (1 << left) - 1 };
        // SAFETY: the mask covers only elements inside `a` and `b`.
        let (x, y) = unsafe {
            (
                _mm512_maskz_loadu_epi32(lanes, a.as_ptr().add(q * 16).cast()),
                _mm512_maskz_loadu_epi32(lanes, b.as_ptr().add(q * 16).cast()),
            )
        };
        m |= u64::from(_mm512_mask_cmpeq_epi32_mask(lanes, x, y)) << (q * 16);
    }
    m
}

/// Bit `k` set where bit `ids[k]` of `bitmap` is (`ids.len() <= 64`): one
/// load per id and no branch.
#[inline]
fn bits_of(bitmap: &[u64], ids: &[AddrId]) -> u64 {
    let mut m = 0u64;
    for (k, &a) in ids.iter().enumerate() {
        m |= ((bitmap[a as usize / 64] >> (a % 64)) & 1) << k;
    }
    m
}

/// Bit `k` set where `src[k] == a` (`src.len() <= 64`), with AVX-512F
/// compares (the caller has the feature) or SSE2 ones.
#[inline(always)]
fn eq_mask<const AVX512: bool>(src: &[AddrId], a: AddrId) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: only compiled into functions that run where the CPU has
        // AVX-512F.
        return unsafe { eq_mask_avx512(src, a) };
    }
    let mut m = 0u64;
    let mut k = 0;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; every load is an unaligned one of
    // four elements inside `src`.
    unsafe {
        use std::arch::x86_64::*;
        let needle = _mm_set1_epi32(a as i32);
        while k + 4 <= src.len() {
            let v = _mm_loadu_si128(src.as_ptr().add(k).cast());
            let eq = _mm_castsi128_ps(_mm_cmpeq_epi32(v, needle));
            m |= (_mm_movemask_ps(eq) as u64) << k;
            k += 4;
        }
    }
    for (i, &s) in src[k..].iter().enumerate() {
        m |= u64::from(s == a) << (k + i);
    }
    m
}

/// [`eq_mask`] in four 16-lane compares; masked loads past the end of
/// `src` read nothing.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn eq_mask_avx512(src: &[AddrId], a: AddrId) -> u64 {
    use std::arch::x86_64::*;
    debug_assert!(src.len() <= 64);
    let needle = _mm512_set1_epi32(a as i32);
    let mut m = 0u64;
    for q in 0..src.len().div_ceil(16) {
        let left = src.len() - q * 16;
        let lanes: __mmask16 = if left >= 16 { !0 } else { (1 << left) - 1 };
        // SAFETY: the mask covers only elements inside `src`.
        let v = unsafe { _mm512_maskz_loadu_epi32(lanes, src.as_ptr().add(q * 16).cast()) };
        m |= u64::from(_mm512_mask_cmpeq_epi32_mask(lanes, v, needle)) << (q * 16);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemGraph, TaintPolicy};
    use tripoint_chain::{Address, Asset, Chain, Position, TransferRecord, TxHash};

    fn lanes_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn masks_avx512(a: &[u32], b: &[u32], x: u32) -> (u64, u64) {
        (eq_mask::<true>(a, x), eq_pairs::<true>(a, b))
    }

    /// The AVX-512 compares give the plain ones' bits at every length.
    #[test]
    fn avx512_masks_match_the_plain_ones() {
        if !lanes_available() {
            eprintln!("skipping: no AVX-512F here");
            return;
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 5) as u32
        };
        for len in 0..=64 {
            for _ in 0..20 {
                let a: Vec<u32> = (0..len).map(|_| rnd()).collect();
                let b: Vec<u32> = (0..len).map(|_| rnd()).collect();
                let needle = rnd();
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the CPU has AVX-512F (checked above).
                let fast = unsafe { masks_avx512(&a, &b, needle) };
                let plain = (eq_mask::<false>(&a, needle), eq_pairs::<false>(&a, &b));
                assert_eq!(fast, plain, "len {len}");
                assert!(len == 64 || plain.0 >> len == 0);
            }
        }
    }

    /// The plain and the AVX-512 pass find the same nodes on a graph large
    /// enough for the reader thread (tokens, a spam token, zero values).
    #[test]
    fn plain_and_avx512_passes_agree() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let addr = |i: u64| {
            let mut b = [0u8; 20];
            b[0] = 0xc0;
            b[12..20].copy_from_slice(&i.to_be_bytes());
            Address::Eth(b)
        };
        let token = |i: u8| {
            let mut b = [0x70u8; 20];
            b[19] = i;
            Address::Eth(b)
        };
        let records: Vec<TransferRecord> = (0..100_000u64)
            .map(|i| {
                let asset = match rnd(10) {
                    0..=6 => Asset::Native(Chain::Ethereum),
                    t => Asset::Token(token(t as u8)),
                };
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&i.to_be_bytes());
                // A skewed choice of addresses, so that some are busy.
                let (fa, ta) = (rnd(20_000), rnd(20_000));
                let (from, to) = (rnd(1 + fa), rnd(1 + ta));
                TransferRecord {
                    chain: Chain::Ethereum,
                    block: i / 4,
                    timestamp: 1_000 + (i / 4) as i64 * 12,
                    tx_hash: TxHash(h),
                    tx_index: (i % 4) as u32,
                    position: match asset {
                        Asset::Native(_) => Position::NativeValue,
                        _ => Position::Log(1),
                    },
                    from: addr(from),
                    to: addr(to),
                    asset,
                    amount: Amount::from(if rnd(20) == 0 { 0 } else { rnd(1_000) }),
                }
            })
            .collect();
        let spam = tripoint_chain::TokenInfo {
            address: token(9),
            symbol: "ETH".into(),
            name: "fake".into(),
            decimals: Some(18),
        };
        let g = MemGraph::build(records, vec![spam], vec![]);
        let mut cfg = TraceConfig::new(TaintPolicy::Poison, vec![g.lookup(&addr(0)).unwrap()]);
        cfg.spam.lookalike = false;
        cfg.max_hops = 30;
        let plain = reach_with(&g, &cfg, false).expect("no DEX, no look-alike rule");
        assert!(plain.len() > 1_000, "the taint spreads: {}", plain.len());
        if lanes_available() {
            assert_eq!(reach_with(&g, &cfg, true), Some(plain));
        }
    }
}
