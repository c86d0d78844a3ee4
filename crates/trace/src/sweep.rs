//! Fast sweep kernels: the full-graph traversal of [`crate::taint`] for the
//! account policies (poison, haircut, TIHO) on account chains.
//!
//! Semantics are those of the general engine's sweep, transfer by transfer,
//! and the result is bit-identical (property-tested in `tests/kernels.rs`);
//! what differs is the machinery:
//!
//! * rows come in columnar batches ([`TransferGraph::read_batch`]), not one
//!   `transfer(id)` decode each;
//! * every address has one 64-byte line of native-coin state (balance,
//!   taint, received as `u128`, hops, head of its token-account chain)
//!   indexed by [`AddrId`]; the general engine's split into "pre-balances"
//!   and hashed walked accounts disappears because every balance is kept
//!   from transfer 0 on;
//! * a transfer with neither side walked costs two bit tests (a 1-bit
//!   walked set that stays in cache) and a balance move; poison (the
//!   reachability kernel) keeps no balances at all, only taint, hops and
//!   first-tainted; state lines are prefetched a few rows ahead;
//! * the haircut share `⌊a·T/B⌋` skips division when `T = 0` or `a ≥ B`,
//!   and divides the exact 256-bit product by the 128-bit balance
//!   otherwise; token amounts beyond 128 bits go through [`mul_div_floor`].
//!
//! Not covered (the caller falls back to the general engine): FIFO/LIFO
//! (queues of lots), UTXO transaction nodes (`Address::Tx`: exact spends
//! and TIHO output allocation) and native amounts beyond 128 bits. The
//! kernel gives up (returns `None`) as soon as a transaction node would be
//! walked or a native sum would not fit; on an account chain no transaction
//! node exists, and on a UTXO chain no transfer joins two non-transaction
//! addresses, so a walked non-seed address never has spent-output links to
//! honour.

use std::collections::BTreeMap;

use tripoint_chain::{
    AddrId, Amount, AssetId, TransferBatch, TransferGraph, TransferId, NATIVE_ASSET,
};

use crate::fxhash::FxHashMap;
use crate::spam::{lookalike_key, SpamReason};
use crate::taint::{
    classify_labels, first_at_or_after, mul_div_floor, Class, Dropped, Flow, Node, NodeAmounts,
    Role, SpamHit, Swap, TaintPolicy, Totals, TraceConfig, TraceResult,
};

const NO_NODE: u32 = u32::MAX;
/// Rows per batch: large enough to amortise the call, small enough to stay in L2.
const BATCH: usize = 1 << 14;
/// How many rows ahead [`Kernel::prefetch`] looks (covers a memory latency
/// at a few ns per row).
const PREFETCH: usize = 16;

/// Most entries the kernel's growing vectors reserve up front.
const RESERVE: usize = 1 << 24;

/// Per-address state bits.
const WALKED: u8 = 1;
const SEED: u8 = 2;
const ACTIVE: u8 = WALKED | SEED;
/// A node that is not walked (endpoint, DEX).
const PASSIVE: u8 = 4;

/// Everything the kernel keeps per address, native coin included, in one
/// 64-byte cache line, so a transfer touches one line per side. Native
/// amounts are 128-bit (the kernel gives up on anything larger).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct NativeAccount {
    balance: u128,
    taint: u128,
    /// Taint received (native coin), merged into `received` at the end.
    got: u128,
    /// Hop distance (valid for nodes); copied into nodes at the end.
    hops: u32,
    /// First of this address's token accounts in `Kernel::tokens` (a chain
    /// linked by `TokenAccount::next`), or [`NO_TOKEN`].
    token_head: u32,
    /// [`WALKED`] / [`SEED`] / [`PASSIVE`] or 0, in the line a row reads anyway.
    role: u8,
}

impl Default for NativeAccount {
    fn default() -> Self {
        NativeAccount {
            balance: 0,
            taint: 0,
            got: 0,
            hops: 0,
            token_head: NO_TOKEN,
            role: 0,
        }
    }
}

const NO_TOKEN: u32 = u32::MAX;

/// One (address, token) account. An address touches few tokens, so its
/// accounts form a short chain reached from its native state line: no
/// hashing, and the head is already in cache when a row arrives.
/// One 64-byte cache line: the amounts are kept in 128 bits, and an
/// account that ever needs more moves them to `Kernel::wide` for good
/// (token amounts beyond 128 bits are rare: half the memory and one line
/// a side instead of two are worth a branch).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct TokenAccount {
    balance: u128,
    taint: u128,
    /// Taint received, merged into `received` at the end.
    got: u128,
    asset: AssetId,
    next: u32,
    /// Index + 1 into `Kernel::wide` once the amounts live there, else 0.
    wide: u32,
}

/// A token account's amounts, widened: balance, taint, taint received.
type TokenAmounts = [Amount; 3];

/// One transfer as the kernel needs it.
#[derive(Clone, Copy)]
struct Row {
    src: AddrId,
    dst: AddrId,
    asset: AssetId,
    amount: Amount,
}

struct Kernel<'a, G: TransferGraph> {
    g: &'a G,
    cfg: &'a TraceConfig,
    poison: bool,
    /// One bit per address: walked or seed. The "neither side walked" test
    /// of every row reads this, and at 1 bit per address it stays in cache.
    walked: Vec<u64>,
    /// Look-alike key per address, computed once: `u64::MAX` not yet,
    /// `u64::MAX - 1` none (not an Ethereum address). Empty unless the
    /// look-alike rule is on.
    lookalike: Vec<u64>,
    node_of: Vec<u32>,
    nodes: Vec<Node>,
    /// Native coin, per address (poison leaves the balances at zero).
    native: Vec<NativeAccount>,
    /// Token accounts: every address for balance policies, walked ones for poison.
    tokens: Vec<TokenAccount>,
    /// Amounts of the token accounts that needed more than 128 bits.
    wide: Vec<TokenAmounts>,
    received: FxHashMap<(AddrId, AssetId), Amount>,
    flows: Vec<Flow>,
    spam: Vec<SpamHit>,
    swaps: Vec<Swap>,
    /// Taint fixed in advance for swap outputs, by transfer id. Rows come
    /// in id order, so the first key is the only one a row can match; a
    /// map lookup per row cost 6 % of a full-graph haircut.
    preset: BTreeMap<TransferId, Amount>,
    totals: BTreeMap<AssetId, Totals>,
    token_spam: Vec<Option<SpamReason>>,
    visited: u64,
}

/// `⌊a·t/b⌋` capped at `t`, for `a < b`: exactly [`mul_div_floor`]`(a, t, b, t)`,
/// without 256-bit division in the common cases.
#[inline]
pub fn haircut_share(a: Amount, t: Amount, b: Amount) -> Amount {
    if t == Amount::ZERO {
        return Amount::ZERO;
    }
    match (narrow(a), narrow(t), narrow(b)) {
        // a·t < 2^256 here, so mul_div_floor divides the exact product.
        (Some(a), Some(t), Some(b)) if a < b => Amount::from(share_128(a, t, b)),
        _ => mul_div_floor(a, t, b, t),
    }
}

/// Full 256-bit product of two 128-bit numbers as (high, low).
#[inline]
fn mul_128(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `⌊(u1·2^128 + u0) / v⌋` for `u1 < v` (so the quotient fits 128 bits):
/// Knuth's algorithm D with 64-bit digits (Hacker's Delight `divlu`).
fn div_256_by_128(u1: u128, u0: u128, v: u128) -> u128 {
    const B: u128 = 1 << 64;
    debug_assert!(u1 < v);
    let s = v.leading_zeros();
    let v = v << s;
    let (vn1, vn0) = (v >> 64, v & (B - 1));
    let un32 = if s == 0 {
        u1
    } else {
        (u1 << s) | (u0 >> (128 - s))
    };
    let un10 = u0 << s;
    let (un1, un0) = (un10 >> 64, un10 & (B - 1));
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1 * vn1;
    while q1 >= B || q1 * vn0 > B * rhat + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let un21 = un32
        .wrapping_mul(B)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while q0 >= B || q0 * vn0 > B * rhat + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    q1 * B + q0
}

/// Native amounts live in 128 bits (all the ether there is fits in 87);
/// `None` makes the kernel hand the trace to the general engine.
#[inline]
fn narrow(a: Amount) -> Option<u128> {
    let (hi, lo) = a.into_words();
    (hi == 0).then_some(lo)
}

/// The integer types the kernel keeps balances in.
trait Units: Copy + Ord + std::ops::Sub<Output = Self> + std::ops::SubAssign {
    const ZERO: Self;
    fn saturating_sub(self, o: Self) -> Self;
    /// `⌊a·t/b⌋` capped at `t`, for `a < b`.
    fn share(a: Self, t: Self, b: Self) -> Self;
}

impl Units for u128 {
    const ZERO: Self = 0;
    fn saturating_sub(self, o: Self) -> Self {
        u128::saturating_sub(self, o)
    }
    #[inline]
    fn share(a: Self, t: Self, b: Self) -> Self {
        share_128(a, t, b)
    }
}

impl Units for Amount {
    const ZERO: Self = Amount::ZERO;
    fn saturating_sub(self, o: Self) -> Self {
        Amount::saturating_sub(self, o)
    }
    fn share(a: Self, t: Self, b: Self) -> Self {
        haircut_share(a, t, b)
    }
}

/// `Account::debit` of the general engine for the account policies.
#[inline]
fn debit_in<U: Units>(policy: TaintPolicy, b: &mut U, t: &mut U, a: U) -> U {
    let c = match policy {
        TaintPolicy::Poison => {
            return if *t > U::ZERO { a } else { U::ZERO };
        }
        TaintPolicy::Haircut => {
            if a >= *b {
                *t
            } else {
                U::share(a, *t, *b)
            }
        }
        _ => a.min(*t),
    };
    *t -= c;
    *b = b.saturating_sub(a);
    c
}

/// `Account::debit_exact` of the general engine for the account policies.
fn debit_exact_in<U: Units>(poison: bool, b: &mut U, t: &mut U, a: U, c: U) -> U {
    if poison {
        return if c > U::ZERO { a } else { U::ZERO };
    }
    let c = c.min(*t).min(a);
    *t -= c;
    *b = b.saturating_sub(a);
    c
}

/// `⌊a·t/b⌋` capped at `t` for `a < b`, exact: the 256-bit product is
/// divided by a 128-bit divisor, and `a < b` keeps the quotient below 2^128.
#[inline]
fn share_128(a: u128, t: u128, b: u128) -> u128 {
    if t == 0 {
        return 0;
    }
    let (hi, lo) = mul_128(a, t);
    let q = if hi == 0 {
        lo / b
    } else {
        div_256_by_128(hi, lo, b)
    };
    q.min(t)
}

/// `n` default values in memory the kernel is asked to back with huge
/// pages: the per-address state is read at random, and with 4 KiB pages
/// nearly every access would also miss the TLB. (The growing vectors —
/// nodes, flows, token accounts — are not: at 10^7 transfers that made a
/// one-shot trace 0.1–0.8 s slower whenever the page cache filled memory
/// and 2 MiB pages had to be reclaimed first, though faster when freed huge
/// pages were at hand.)
pub(crate) fn huge_vec<T: Clone + Default>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        let start = (v.as_ptr() as usize).next_multiple_of(4096);
        let end = (v.as_ptr() as usize + n * std::mem::size_of::<T>()) & !4095;
        if end > start {
            // SAFETY: the range lies inside the allocation just made and
            // not yet touched; MADV_HUGEPAGE only changes how it is backed.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    v.resize(n, T::default());
    v
}

/// Run the sweep with a fast kernel; `None` when the configuration or the
/// graph needs the general engine (see the module docs).
pub fn run<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> Option<TraceResult> {
    if matches!(cfg.policy, TaintPolicy::Fifo | TaintPolicy::Lifo) {
        return None;
    }
    let n = g.address_count();
    let poison = cfg.policy == TaintPolicy::Poison;
    let mut k = Kernel {
        g,
        cfg,
        poison,
        walked: vec![0; n.div_ceil(64)],
        lookalike: if cfg.spam.lookalike {
            vec![u64::MAX; n]
        } else {
            Vec::new()
        },
        node_of: vec![NO_NODE; n],
        // Room reserved up front (only address space until used), capped
        // so that a huge graph does not ask for more than memory at once.
        nodes: Vec::with_capacity(n.min(RESERVE)),
        native: huge_vec(n),
        tokens: Vec::with_capacity(n.min(RESERVE)),
        wide: Vec::new(),
        received: FxHashMap::default(),
        flows: Vec::with_capacity((g.transfer_count() as usize).min(RESERVE)),
        spam: Vec::new(),
        swaps: Vec::new(),
        preset: BTreeMap::new(),
        totals: BTreeMap::new(),
        token_spam: cfg.spam.token_verdicts(g),
        visited: 0,
    };
    let start = first_at_or_after(g, cfg.from);
    let mut seeds = cfg.seeds.clone();
    seeds.sort_unstable();
    seeds.dedup();
    for &s in &seeds {
        if s as usize >= n {
            // Not an address of this graph: the general engine's business.
            return None;
        }
        if k.node_of[s as usize] == NO_NODE {
            k.add_node(s, Role::Seed, 0, None, None)?;
        }
    }
    let mut batch = TransferBatch::default();
    // Poison needs no balances, so nothing before the start matters.
    let mut next = if poison { start } else { 0 };
    let total = g.transfer_count();
    'pass: while next < total {
        let len = g.read_batch(next, BATCH, &mut batch);
        if len == 0 {
            break;
        }
        for j in 0..len {
            if let (Some(&s), Some(&d)) = (batch.src.get(j + PREFETCH), batch.dst.get(j + PREFETCH))
            {
                // Poison only reads the state of rows with a walked side.
                if !poison || k.walked(s) || k.walked(d) {
                    k.prefetch(s, d);
                }
            }
            // A token row also reads the head of each side's token chain,
            // found through the state line prefetched above; by now it has
            // (mostly) arrived.
            if let Some(&asset) = batch.asset.get(j + PREFETCH / 2) {
                if asset != NATIVE_ASSET {
                    let (s, d) = (batch.src[j + PREFETCH / 2], batch.dst[j + PREFETCH / 2]);
                    if !poison || k.walked(s) || k.walked(d) {
                        k.prefetch_tokens(s, d);
                    }
                }
            }
            let id = batch.first + j as u64;
            let r = Row {
                src: batch.src[j],
                dst: batch.dst[j],
                asset: batch.asset[j],
                amount: batch.amount[j],
            };
            if id < start {
                k.move_clean(&r)?;
                continue;
            }
            let ts = batch.timestamp[j];
            if cfg.until.is_some_and(|u| ts > u) {
                break 'pass;
            }
            let active = u8::from(k.walked(r.src) || k.walked(r.dst));
            if ts < cfg.from {
                // Out-of-order timestamp: the general engine leaves walked
                // accounts alone and moves only the others' balances.
                if active == 0 {
                    k.move_clean(&r)?;
                } else {
                    k.move_clean_unwalked(&r)?;
                }
                continue;
            }
            if active == 0 {
                k.move_clean(&r)?;
            } else {
                k.step(id, &r)?;
            }
        }
        next = batch.first + len as u64;
    }
    Some(k.finish())
}

impl<G: TransferGraph> Kernel<'_, G> {
    /// Ask for the state of a row a few rows ahead: the per-address arrays
    /// are far larger than the caches, and each row touches two random lines.
    #[inline]
    fn prefetch(&self, src: AddrId, dst: AddrId) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            for a in [src as usize, dst as usize] {
                if let Some(acct) = self.native.get(a) {
                    // SAFETY: a prefetch is a hint that never faults; the
                    // pointer comes from a live reference anyway.
                    unsafe {
                        _mm_prefetch::<_MM_HINT_T0>((acct as *const NativeAccount).cast());
                    }
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (src, dst);
    }

    /// Ask for the first token account of each side (one line each).
    #[inline]
    fn prefetch_tokens(&self, src: AddrId, dst: AddrId) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            for a in [src as usize, dst as usize] {
                let head = self.native.get(a).map_or(NO_TOKEN, |n| n.token_head);
                if let Some(t) = self.tokens.get(head as usize) {
                    // SAFETY: a prefetch is a hint that never faults; the
                    // pointer comes from a live reference anyway.
                    unsafe {
                        _mm_prefetch::<_MM_HINT_T0>((t as *const TokenAccount).cast());
                    }
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (src, dst);
    }

    #[inline]
    fn active(&self, a: AddrId) -> bool {
        self.native[a as usize].role & ACTIVE != 0
    }

    #[inline]
    fn walked(&self, a: AddrId) -> bool {
        self.walked[a as usize / 64] & (1 << (a % 64)) != 0
    }

    /// [`lookalike_key`] of an address, decoded once per address.
    fn lookalike_of(&mut self, a: AddrId) -> Option<u32> {
        let slot = &mut self.lookalike[a as usize];
        if *slot == u64::MAX {
            *slot = lookalike_key(&self.g.address(a)).map_or(u64::MAX - 1, u64::from);
        }
        (*slot != u64::MAX - 1).then_some(*slot as u32)
    }

    fn totals(&mut self, asset: AssetId) -> &mut Totals {
        self.totals.entry(asset).or_default()
    }

    /// The (address, token) account's index in `tokens`, created empty on
    /// first use.
    #[inline]
    fn token(&mut self, a: AddrId, asset: AssetId) -> usize {
        let head = self.native[a as usize].token_head;
        let (mut prev, mut i) = (NO_TOKEN, head);
        while i != NO_TOKEN {
            let next = self.tokens[i as usize].next;
            if self.tokens[i as usize].asset == asset {
                if prev != NO_TOKEN {
                    // Move to the front: an address that touches many
                    // tokens keeps its busy ones at the start of the chain.
                    self.tokens[prev as usize].next = next;
                    self.tokens[i as usize].next = head;
                    self.native[a as usize].token_head = i;
                }
                return i as usize;
            }
            (prev, i) = (i, next);
        }
        let i = self.tokens.len();
        self.tokens.push(TokenAccount {
            balance: 0,
            taint: 0,
            got: 0,
            asset,
            next: head,
            wide: 0,
        });
        self.native[a as usize].token_head = i as u32;
        i
    }

    /// Token account `i`'s amounts, widened.
    #[inline]
    fn load(&self, i: usize) -> TokenAmounts {
        let t = &self.tokens[i];
        if t.wide != 0 {
            return self.wide[t.wide as usize - 1];
        }
        [t.balance, t.taint, t.got].map(Amount::from)
    }

    /// Store token account `i`'s amounts (in `wide` from the first that
    /// does not fit in 128 bits on).
    #[inline]
    fn store(&mut self, i: usize, v: TokenAmounts) {
        let t = &mut self.tokens[i];
        if t.wide == 0 {
            if let [Some(b), Some(c), Some(g)] = v.map(narrow) {
                (t.balance, t.taint, t.got) = (b, c, g);
                return;
            }
            self.wide.push(v);
            t.wide = self.wide.len() as u32;
        }
        self.wide[t.wide as usize - 1] = v;
    }

    /// Apply `f` to the (address, token) account's amounts.
    #[inline]
    fn with_token<R>(
        &mut self,
        a: AddrId,
        asset: AssetId,
        f: impl FnOnce(&mut TokenAmounts) -> R,
    ) -> R {
        let i = self.token(a, asset);
        let mut v = self.load(i);
        let r = f(&mut v);
        self.store(i, v);
        r
    }

    /// A transfer between two addresses that are not walked: balances only.
    /// `None`: a native amount beyond 128 bits (see [`NativeAccount`]).
    #[inline]
    fn move_clean(&mut self, r: &Row) -> Option<()> {
        if self.poison || r.src == r.dst {
            return Some(());
        }
        if r.asset == NATIVE_ASSET {
            let a = narrow(r.amount)?;
            let s = &mut self.native[r.src as usize].balance;
            *s = s.saturating_sub(a);
            let d = &mut self.native[r.dst as usize].balance;
            *d = d.checked_add(a)?;
            Some(())
        } else {
            self.pay_clean(r.src, r.asset, r.amount)?;
            self.receive_clean(r.dst, r.asset, r.amount)
        }
    }

    fn move_clean_unwalked(&mut self, r: &Row) -> Option<()> {
        if self.poison || r.src == r.dst {
            return Some(());
        }
        if !self.active(r.src) {
            self.pay_clean(r.src, r.asset, r.amount)?;
        }
        if !self.active(r.dst) {
            self.receive_clean(r.dst, r.asset, r.amount)?;
        }
        Some(())
    }

    #[inline]
    fn pay_clean(&mut self, a: AddrId, asset: AssetId, amount: Amount) -> Option<()> {
        if self.poison {
            return Some(());
        }
        if asset == NATIVE_ASSET {
            let b = &mut self.native[a as usize].balance;
            *b = b.saturating_sub(narrow(amount)?);
        } else {
            self.with_token(a, asset, |v| v[0] = v[0].saturating_sub(amount));
        }
        Some(())
    }

    #[inline]
    fn receive_clean(&mut self, a: AddrId, asset: AssetId, amount: Amount) -> Option<()> {
        if self.poison {
            return Some(());
        }
        if asset == NATIVE_ASSET {
            let b = &mut self.native[a as usize].balance;
            *b = b.checked_add(narrow(amount)?)?;
        } else {
            self.with_token(a, asset, |v| v[0] += amount);
        }
        Some(())
    }

    /// Pay `a` out of a walked account; returns the taint it carries.
    #[inline]
    fn debit(&mut self, addr: AddrId, asset: AssetId, a: Amount) -> Option<Amount> {
        let policy = self.cfg.policy;
        if asset == NATIVE_ASSET {
            let acct = &mut self.native[addr as usize];
            let c = debit_in(policy, &mut acct.balance, &mut acct.taint, narrow(a)?);
            return Some(Amount::from(c));
        }
        Some(self.with_token(addr, asset, |[b, t, _]| debit_in(policy, b, t, a)))
    }

    /// Pay `a` of which exactly `c` is tainted (a precomputed swap output).
    fn debit_exact(
        &mut self,
        addr: AddrId,
        asset: AssetId,
        a: Amount,
        c: Amount,
    ) -> Option<Amount> {
        let poison = self.poison;
        if asset == NATIVE_ASSET {
            let acct = &mut self.native[addr as usize];
            let (a, c) = (narrow(a)?, narrow(c)?);
            return Some(Amount::from(debit_exact_in(
                poison,
                &mut acct.balance,
                &mut acct.taint,
                a,
                c,
            )));
        }
        Some(self.with_token(addr, asset, |[b, t, _]| debit_exact_in(poison, b, t, a, c)))
    }

    #[inline]
    fn credit(&mut self, addr: AddrId, asset: AssetId, a: Amount, c: Amount) -> Option<()> {
        let poison = self.poison;
        if asset == NATIVE_ASSET {
            let acct = &mut self.native[addr as usize];
            if !poison {
                acct.balance = acct.balance.checked_add(narrow(a)?)?;
            }
            acct.taint = acct.taint.checked_add(narrow(c)?)?;
        } else {
            self.with_token(addr, asset, |[b, t, _]| {
                if !poison {
                    *b += a;
                }
                *t += c;
            });
        }
        Some(())
    }

    /// Turn up to `c` of clean balance into taint (swap output booked earlier).
    fn retaint(&mut self, addr: AddrId, asset: AssetId, c: Amount) -> Option<Amount> {
        let poison = self.poison;
        if asset == NATIVE_ASSET {
            let acct = &mut self.native[addr as usize];
            let c = narrow(c)?;
            let m = if poison {
                c
            } else {
                c.min(acct.balance - acct.taint.min(acct.balance))
            };
            acct.taint = acct.taint.checked_add(m)?;
            return Some(Amount::from(m));
        }
        Some(self.with_token(addr, asset, |[b, t, _]| {
            let m = if poison { c } else { c.min(*b - (*t).min(*b)) };
            *t += m;
            m
        }))
    }

    fn add_node(
        &mut self,
        addr: AddrId,
        role: Role,
        hops: u32,
        first: Option<TransferId>,
        category: Option<tripoint_chain::Category>,
    ) -> Option<u32> {
        if matches!(role, Role::Walked | Role::Seed) && self.g.is_tx_node(addr) {
            // UTXO transaction node: exact spends need the general engine.
            return None;
        }
        if matches!(role, Role::Walked | Role::Seed) {
            self.walked[addr as usize / 64] |= 1 << (addr % 64);
        }
        self.native[addr as usize].role = match role {
            Role::Seed => SEED,
            Role::Walked => WALKED,
            _ => PASSIVE,
        };
        let i = self.nodes.len() as u32;
        self.node_of[addr as usize] = i;
        self.native[addr as usize].hops = hops;
        self.nodes.push(Node {
            addr,
            role,
            hops,
            first,
            category,
            is_tx: false,
            tiho_allocated: false,
            counterparties: FxHashMap::default(),
        });
        Some(i)
    }

    fn spam_reason(&mut self, r: &Row, src_active: bool, dst_active: bool) -> Option<SpamReason> {
        if r.asset != NATIVE_ASSET {
            if r.amount == Amount::ZERO {
                return Some(SpamReason::ZeroValue);
            }
            if let Some(Some(reason)) = self.token_spam.get(r.asset as usize) {
                return Some(reason.clone());
            }
        }
        if self.cfg.spam.lookalike {
            for (me, act, other) in [(r.src, src_active, r.dst), (r.dst, dst_active, r.src)] {
                if !act {
                    continue;
                }
                let node = self.node_of[me as usize] as usize;
                if self.nodes[node].counterparties.is_empty() {
                    continue;
                }
                if let Some(k) = self.lookalike_of(other) {
                    let node = &self.nodes[node];
                    if matches!(node.counterparties.get(&k), Some(&real) if real != other) {
                        return Some(SpamReason::LookAlikeAddress);
                    }
                }
            }
        }
        None
    }

    fn note_counterparty(&mut self, me: AddrId, other: AddrId) {
        if let Some(k) = self.lookalike_of(other) {
            let i = self.node_of[me as usize] as usize;
            self.nodes[i].counterparties.entry(k).or_insert(other);
        }
    }

    /// The preset taint of transfer `id`, if any. Presets of transfers
    /// already passed without a walked side are dropped on the way: no row
    /// can match them any more.
    #[inline]
    fn take_preset(&mut self, id: TransferId) -> Option<Amount> {
        while let Some(entry) = self.preset.first_entry() {
            match entry.key().cmp(&id) {
                std::cmp::Ordering::Less => {
                    entry.remove();
                }
                std::cmp::Ordering::Equal => return Some(entry.remove()),
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }

    /// One transfer with at least one walked side (`Engine::step` of the
    /// general engine, on dense state). `None`: give up, see module docs.
    fn step(&mut self, id: TransferId, r: &Row) -> Option<()> {
        let src_active = self.active(r.src);
        let dst_active = self.active(r.dst);
        self.visited += 1;
        let poison = self.poison;
        let spam = self.spam_reason(r, src_active, dst_active);
        if let Some(reason) = &spam {
            self.spam.push(SpamHit {
                id,
                reason: reason.clone(),
            });
        } else if r.amount > Amount::ZERO && self.cfg.spam.lookalike {
            if src_active {
                self.note_counterparty(r.src, r.dst);
            }
            if dst_active {
                self.note_counterparty(r.dst, r.src);
            }
        }
        if r.src == r.dst {
            return Some(());
        }

        // Taint leaving the payer.
        let mut carried = Amount::ZERO;
        let mut new_hops = 0;
        if src_active {
            new_hops = self.native[r.src as usize].hops.saturating_add(1);
            if self.native[r.src as usize].role == SEED {
                let from_received = self.debit(r.src, r.asset, r.amount)?;
                let minted = r.amount - from_received.min(r.amount);
                carried = r.amount;
                self.totals(r.asset).seeded += minted;
                *self.received.entry((r.src, r.asset)).or_default() += minted;
            } else {
                let exact = self.take_preset(id);
                carried = match exact {
                    Some(c) => self.debit_exact(r.src, r.asset, r.amount, c)?,
                    None => self.debit(r.src, r.asset, r.amount)?,
                };
            }
        } else {
            self.pay_clean(r.src, r.asset, r.amount)?;
            if let Some(c) = self.take_preset(id) {
                // A swap output: the DEX pays the trader back in another asset.
                carried = c;
                new_hops = self.native[r.dst as usize].hops;
                self.totals(r.asset).swapped_in += c;
            }
        }

        if let Some(d) = Dropped::check(self.cfg, spam.is_some(), r.amount, carried, new_hops) {
            if !poison {
                *d.bucket(self.totals(r.asset)) += carried;
            }
            carried = Amount::ZERO;
        }

        // Taint arriving at the payee.
        if dst_active {
            self.credit(r.dst, r.asset, r.amount, carried)?;
            if carried > Amount::ZERO {
                let h = &mut self.native[r.dst as usize].hops;
                *h = (*h).min(new_hops);
                if self.native[r.dst as usize].role == SEED {
                    let n = &mut self.nodes[self.node_of[r.dst as usize] as usize];
                    if n.first.is_none() {
                        n.first = Some(id);
                    }
                }
            }
        } else if carried == Amount::ZERO {
            self.receive_clean(r.dst, r.asset, r.amount)?;
        } else {
            let mut node = if self.native[r.dst as usize].role == 0 {
                NO_NODE
            } else {
                self.node_of[r.dst as usize]
            };
            if node == NO_NODE {
                let (class, cat) = if self.g.may_have_labels(r.dst) {
                    classify_labels(&self.g.labels(r.dst), self.cfg)
                } else {
                    (Class::Plain, None)
                };
                let role = match class {
                    Class::Dex => Role::Dex,
                    Class::Terminal if !self.cfg.walk_terminals => Role::Endpoint,
                    _ => Role::Walked,
                };
                node = self.add_node(r.dst, role, new_hops, Some(id), cat)?;
                if role == Role::Walked {
                    self.credit(r.dst, r.asset, r.amount, carried)?;
                } else {
                    self.receive_clean(r.dst, r.asset, r.amount)?;
                }
            } else {
                self.receive_clean(r.dst, r.asset, r.amount)?;
            }
            let h = &mut self.native[r.dst as usize].hops;
            *h = (*h).min(new_hops);
            match self.nodes[node as usize].role {
                Role::Dex => self.swap(id, r, carried)?,
                Role::Endpoint => self.totals(r.asset).exited += carried,
                _ => {}
            }
        }

        if carried > Amount::ZERO {
            if r.asset == NATIVE_ASSET {
                let got = &mut self.native[r.dst as usize].got;
                *got = got.checked_add(narrow(carried)?)?;
            } else {
                self.with_token(r.dst, r.asset, |v| v[2] += carried);
            }
            self.flows.push(Flow { id, carried });
        }
        Some(())
    }

    /// The swap rule, as in the general engine: taint `c` of asset A sent to
    /// a DEX comes back on the other-asset transfers to the trader in the
    /// same transaction, in proportion `b·c/a`.
    fn swap(&mut self, input: TransferId, r: &Row, c: Amount) -> Option<()> {
        let trader = r.src;
        let g = self.g;
        let outs = crate::taint::swap_outputs(g, input, &g.transfer(input), &self.token_spam);
        if outs.is_empty() {
            self.totals(r.asset).exited += c;
            return Some(());
        }
        self.totals(r.asset).swapped_out += c;
        let mut outputs = Vec::new();
        for (id, o) in outs {
            let cb = if self.poison {
                o.amount
            } else {
                mul_div_floor(o.amount, c, r.amount.max(c), o.amount)
            };
            if cb == Amount::ZERO {
                continue;
            }
            if id > input {
                self.preset.insert(id, cb);
                outputs.push((id, cb));
            } else {
                let moved = self.retaint(trader, o.asset, cb)?;
                self.totals(o.asset).swapped_in += moved;
                *self.received.entry((trader, o.asset)).or_default() += moved;
                outputs.push((id, moved));
            }
        }
        self.swaps.push(Swap {
            trader,
            input,
            input_taint: c,
            outputs,
        });
        Some(())
    }

    fn finish(mut self) -> TraceResult {
        // Entries booked outside the dense state (seeds' created taint,
        // swap outputs received before their input), grouped per address.
        let mut extra: FxHashMap<AddrId, Vec<(AssetId, Amount)>> = FxHashMap::default();
        for (&(addr, asset), &v) in &self.received {
            extra.entry(addr).or_default().push((asset, v));
        }
        let n = self.nodes.len();
        let mut received = NodeAmounts::with_capacity(n, n);
        let mut held = NodeAmounts::with_capacity(n, n);
        // Held per asset, summed here and booked once (an asset's totals
        // entry exists only if something of it is held, as in the engine).
        let mut held_sum: Vec<Option<Amount>> = vec![None; self.g.asset_count().max(1)];
        // Only nodes ever hold or receive taint: visit them in node order
        // (the result's order), prefetching a few nodes ahead (random lines).
        let mut nodes = std::mem::take(&mut self.nodes);
        let mut extras: Vec<(AssetId, Amount)> = Vec::new();
        for k in 0..nodes.len() {
            if let Some(ahead) = nodes.get(k + PREFETCH) {
                self.prefetch(ahead.addr, ahead.addr);
            }
            // Then its first token account, through the line fetched above.
            if let Some(ahead) = nodes.get(k + PREFETCH / 2) {
                self.prefetch_tokens(ahead.addr, ahead.addr);
            }
            let addr = nodes[k].addr;
            let acct = self.native[addr as usize];
            nodes[k].hops = acct.hops;
            extras.clear();
            if !extra.is_empty() {
                if let Some(v) = extra.remove(&addr) {
                    extras = v;
                }
            }
            let mut book = |asset: AssetId, taint: Amount, got: Amount| {
                if taint > Amount::ZERO {
                    held.push(asset, taint);
                    let a = asset as usize;
                    if held_sum.len() <= a {
                        held_sum.resize(a + 1, None);
                    }
                    held_sum[a] = Some(held_sum[a].unwrap_or_default() + taint);
                }
                match extras.iter_mut().find(|e| e.0 == asset) {
                    // An entry exists (maybe zero): the engine's `entry() += got`.
                    Some(e) => e.1 += got,
                    None if got > Amount::ZERO => received.push(asset, got),
                    None => {}
                }
            };
            book(
                NATIVE_ASSET,
                Amount::from(acct.taint),
                Amount::from(acct.got),
            );
            let mut i = acct.token_head;
            while i != NO_TOKEN {
                let [_, taint, got] = self.load(i as usize);
                let t = &self.tokens[i as usize];
                book(t.asset, taint, got);
                i = t.next;
            }
            for &(asset, v) in &extras {
                received.push(asset, v);
            }
            received.end_node();
            held.end_node();
        }
        self.nodes = nodes;
        if !self.poison {
            for (asset, sum) in held_sum.into_iter().enumerate() {
                if let Some(sum) = sum {
                    self.totals.entry(asset as AssetId).or_default().held += sum;
                }
            }
        }
        TraceResult {
            policy: self.cfg.policy,
            nodes: self.nodes,
            node_of: crate::taint::NodeIndex::Dense(self.node_of),
            flows: self.flows,
            received,
            held,
            spam: self.spam,
            swaps: self.swaps,
            totals: self.totals,
            visited: self.visited,
        }
    }
}
