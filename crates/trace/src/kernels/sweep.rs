//! Fast sweep kernels: the full-graph traversal of [`crate::taint`] for the
//! account policies (poison, haircut, TIHO) on account chains.
//!
//! Semantics are those of the general engine's sweep, transfer by transfer,
//! and the result is bit-identical (property-tested in `tests/kernels.rs`);
//! what differs is the machinery:
//!
//! * rows come in columnar batches ([`TransferGraph::read_batch`]), not one
//!   `transfer(id)` decode each;
//! * every address has one 32-byte record of native-coin state (96-bit
//!   balance and taint, hops, node index) indexed by [`AddrId`], two to a
//!   cache line (beyond 2^26 addresses a compact layout: 16 bytes an
//!   address, 4 under poison, plus 16 a node; see `NativeState`); the
//!   general engine's split into "pre-balances" and hashed walked
//!   accounts disappears because every balance is kept from transfer 0
//!   on; walked and seed flags are bitsets that stay in cache;
//! * token accounts (24 bytes: key and 96-bit balance; taint aside, for
//!   the few accounts that hold any) sit in an open-addressing table keyed
//!   by (address, token), so a token row's two accounts are prefetched
//!   straight from the row;
//! * a transfer with neither side walked costs two bit tests and a balance
//!   move; poison (the reachability kernel) keeps no balances at all, only
//!   taint, hops and first-tainted; state is prefetched a few rows ahead;
//! * the taint each node received is summed at the end from the flows
//!   (which record their payee's node), not kept per row; flows are
//!   packed as they are found ([`Flows`]);
//! * the haircut share `⌊a·T/B⌋` skips division when `T = 0` or `a ≥ B`,
//!   and divides the exact 256-bit product by the 128-bit balance
//!   otherwise; token amounts beyond 96 bits move to a side table and go
//!   through [`mul_div_floor`].
//!
//! Not covered (the caller falls back to the general engine): FIFO/LIFO
//! (queues of lots), UTXO transaction nodes (`Address::Tx`: exact spends
//! and TIHO output allocation) and native sums beyond 96 bits. The
//! kernel gives up (returns `None`) as soon as a transaction node would be
//! walked or a native sum would not fit; on an account chain no transaction
//! node exists, and on a UTXO chain no transfer joins two non-transaction
//! addresses, so a walked non-seed address never has spent-output links to
//! honour.

use crate::arith::AddSaturating;
use std::collections::BTreeMap;

use tripoint_chain::{
    AddrId, Amount, AssetId, TransferBatch, TransferGraph, TransferId, NATIVE_ASSET,
};

use crate::arith::{haircut_share, narrow, share_128};
use crate::fxhash::FxHashMap;
use crate::spam::{lookalike_key, SpamReason};
use crate::spill::{SpillSink, SPILL_ABOVE};
use crate::sys::{huge_vec, prefetch_at};
use crate::taint::{
    classify_labels, first_at_or_after, swap_share, Class, Dropped, Flow, Flows, Node, NodeAmounts,
    Role, SpamHit, Swap, SwapLegs, TaintPolicy, Totals, TraceConfig, TraceResult,
};

const NO_NODE: u32 = u32::MAX;
/// Rows per batch: large enough to amortise the call, small enough to stay in L2.
const BATCH: usize = 1 << 14;
/// How many rows ahead [`Kernel::prefetch`] looks (covers a memory latency
/// at a few ns per row).
const PREFETCH: usize = 16;

/// [`SPILL_ABOVE`] in the compact layout: on a graph that large every
/// hundred MB beside the per-address state counts.
const SPILL_ABOVE_COMPACT: usize = 32 << 20;

/// Bytes of a spilled `flow_to` record (payee node, asset), and of the
/// pieces they are written and read in.
const FLOW_TO_BYTES: usize = 8;
const FLOW_TO_PIECE: usize = 1 << 20;

/// What a spill that cannot be read back panics with.
const READ_BACK: &str = "reading back the trace's flows from its spill sink";

/// Most entries the kernel's growing vectors reserve up front.
const RESERVE: usize = 1 << 24;

/// Native amounts the kernel keeps: 96 bits (all the ether there is fits
/// in 87); a sum beyond makes it hand the trace to the general engine.
const NATIVE_LIMIT: u128 = 1 << 96;

/// Everything the kernel keeps per address for the native coin, in 32
/// bytes (two addresses per cache line), so a transfer touches one short
/// line per side; half the old 64 bytes, which matters because the array is
/// read at random and is far larger than the caches. The walked and seed
/// flags live in bitsets that stay in cache, the taint received in a
/// per-node column, token accounts in [`TokenTable`]. (Taint and hops
/// kept per node instead, for a 16-byte record, made the 10^7 full-graph
/// haircut 40 % slower: a second random line per walked side.)
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(32))]
struct NativeAccount {
    balance_lo: u64,
    taint_lo: u64,
    balance_hi: u32,
    taint_hi: u32,
    /// Hop distance (valid for nodes); copied into nodes at the end.
    hops: u32,
    /// Node index + 1, or 0: not a node.
    node: u32,
}

impl NativeAccount {
    #[inline]
    fn balance(&self) -> u128 {
        u128::from(self.balance_hi) << 64 | u128::from(self.balance_lo)
    }
    #[inline]
    fn taint(&self) -> u128 {
        u128::from(self.taint_hi) << 64 | u128::from(self.taint_lo)
    }
    /// `None` beyond [`NATIVE_LIMIT`].
    #[inline]
    fn set(&mut self, balance: u128, taint: u128) -> Option<()> {
        if balance >= NATIVE_LIMIT || taint >= NATIVE_LIMIT {
            return None;
        }
        (self.balance_lo, self.balance_hi) = (balance as u64, (balance >> 64) as u32);
        (self.taint_lo, self.taint_hi) = (taint as u64, (taint >> 64) as u32);
        Some(())
    }
    #[inline]
    fn set_balance(&mut self, balance: u128) -> Option<()> {
        self.set(balance, self.taint())
    }
    /// The node index, if the address is a node.
    #[inline]
    fn node(&self) -> Option<usize> {
        self.node.checked_sub(1).map(|i| i as usize)
    }
}

/// The kernel's native-coin state: balance and taint (96 bits each), hop
/// distance and node index of every address, in one of two layouts with
/// the same behaviour: [`Dense`] (32 bytes an address, one line per side)
/// and [`Compact`] (16 bytes an address, 4 under poison, plus 16 a node:
/// a second, dependent line per walked side). Taint and hops are only
/// ever non-zero for nodes: a write that would give a non-node taint
/// (`None`) makes the kernel hand the trace to the general engine.
trait NativeState: Default {
    /// Whether node state has lines of its own ([`NativeState::prefetch_node`]).
    const NODE_LINES: bool = false;
    fn new(addresses: usize) -> Self;
    /// Free what is kept per address once only node state is read
    /// ([`NativeState::node_state`]) where that is kept apart.
    fn release_addresses(&mut self) {}
    fn addresses(&self) -> usize;
    /// Ask for the line of address `a`.
    fn prefetch(&self, a: AddrId);
    /// Ask for the node line of address `a`, once its address line is
    /// (likely) in cache.
    #[inline]
    fn prefetch_node(&self, _a: AddrId) {}
    fn node(&self, a: AddrId) -> Option<usize>;
    /// Make `a` node `node` at `hops`.
    fn add_node(&mut self, a: AddrId, node: u32, hops: u32);
    /// Hop distance of `a` (valid for nodes, 0 otherwise).
    fn hops(&self, a: AddrId) -> u32;
    fn lower_hops(&mut self, a: AddrId, h: u32);
    fn balance(&self, a: AddrId) -> u128;
    fn taint(&self, a: AddrId) -> u128;
    /// `None` beyond [`NATIVE_LIMIT`] or where the layout cannot hold it.
    fn set(&mut self, a: AddrId, balance: u128, taint: u128) -> Option<()>;
    #[inline]
    fn set_balance(&mut self, a: AddrId, balance: u128) -> Option<()> {
        self.set(a, balance, self.taint(a))
    }
    /// Ask for what [`NativeState::node_state`] reads.
    fn prefetch_node_state(&self, a: AddrId, k: usize);
    /// Hops and taint of node `k` (address `a`) at the end of the pass.
    fn node_state(&self, a: AddrId, k: usize) -> (u32, u128);
}

/// One [`NativeAccount`] per address (the fast layout).
#[derive(Default)]
struct Dense(Vec<NativeAccount>);

impl NativeState for Dense {
    fn new(addresses: usize) -> Self {
        Dense(huge_vec(addresses))
    }
    fn addresses(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn prefetch(&self, a: AddrId) {
        prefetch_at(&self.0, a as usize);
    }
    #[inline]
    fn node(&self, a: AddrId) -> Option<usize> {
        self.0[a as usize].node()
    }
    #[inline]
    fn add_node(&mut self, a: AddrId, node: u32, hops: u32) {
        let acct = &mut self.0[a as usize];
        acct.node = node + 1;
        acct.hops = hops;
    }
    #[inline]
    fn hops(&self, a: AddrId) -> u32 {
        self.0[a as usize].hops
    }
    #[inline]
    fn lower_hops(&mut self, a: AddrId, h: u32) {
        let s = &mut self.0[a as usize].hops;
        *s = (*s).min(h);
    }
    #[inline]
    fn balance(&self, a: AddrId) -> u128 {
        self.0[a as usize].balance()
    }
    #[inline]
    fn taint(&self, a: AddrId) -> u128 {
        self.0[a as usize].taint()
    }
    #[inline]
    fn set(&mut self, a: AddrId, balance: u128, taint: u128) -> Option<()> {
        self.0[a as usize].set(balance, taint)
    }
    #[inline]
    fn set_balance(&mut self, a: AddrId, balance: u128) -> Option<()> {
        self.0[a as usize].set_balance(balance)
    }
    #[inline]
    fn prefetch_node_state(&self, a: AddrId, _k: usize) {
        prefetch_at(&self.0, a as usize);
    }
    #[inline]
    fn node_state(&self, a: AddrId, _k: usize) -> (u32, u128) {
        let acct = &self.0[a as usize];
        (acct.hops, acct.taint())
    }
}

/// An address's balance (96 bits) and node index + 1 (0: not a node):
/// 16 bytes, four to a cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
struct AddressBalance {
    balance_lo: u64,
    balance_hi: u32,
    node: u32,
}

/// A node's taint (96 bits) and hop distance.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
struct NodeTaint {
    taint_lo: u64,
    taint_hi: u32,
    hops: u32,
}

/// The compact layout, for graphs whose dense state would not fit beside
/// everything else (5.6 GiB at 5×10^8 transfers): per address the balance
/// and node index (`BALANCES`), or under poison, which keeps no balances,
/// the node index alone (4 bytes); taint and hops per node.
#[derive(Default)]
struct Compact<const BALANCES: bool> {
    /// Per address, with `BALANCES`.
    accounts: Vec<AddressBalance>,
    /// Per address without `BALANCES`: node index + 1, or 0.
    node_of: Vec<u32>,
    nodes: Vec<NodeTaint>,
}

impl<const BALANCES: bool> NativeState for Compact<BALANCES> {
    const NODE_LINES: bool = true;
    fn release_addresses(&mut self) {
        self.accounts = Vec::new();
        self.node_of = Vec::new();
    }
    fn new(addresses: usize) -> Self {
        let mut c = Compact {
            accounts: Vec::new(),
            node_of: Vec::new(),
            nodes: Vec::with_capacity(addresses.min(RESERVE)),
        };
        if BALANCES {
            c.accounts = huge_vec(addresses);
        } else {
            c.node_of = huge_vec(addresses);
        }
        c
    }
    fn addresses(&self) -> usize {
        if BALANCES {
            self.accounts.len()
        } else {
            self.node_of.len()
        }
    }
    #[inline]
    fn prefetch(&self, a: AddrId) {
        if BALANCES {
            prefetch_at(&self.accounts, a as usize);
        } else {
            prefetch_at(&self.node_of, a as usize);
        }
    }
    #[inline]
    fn prefetch_node(&self, a: AddrId) {
        if let Some(k) = self.node(a) {
            prefetch_at(&self.nodes, k);
        }
    }
    #[inline]
    fn node(&self, a: AddrId) -> Option<usize> {
        let raw = if BALANCES {
            self.accounts[a as usize].node
        } else {
            self.node_of[a as usize]
        };
        raw.checked_sub(1).map(|i| i as usize)
    }
    #[inline]
    fn add_node(&mut self, a: AddrId, node: u32, hops: u32) {
        debug_assert_eq!(node as usize, self.nodes.len());
        if BALANCES {
            self.accounts[a as usize].node = node + 1;
        } else {
            self.node_of[a as usize] = node + 1;
        }
        self.nodes.push(NodeTaint {
            hops,
            ..NodeTaint::default()
        });
    }
    #[inline]
    fn hops(&self, a: AddrId) -> u32 {
        self.node(a).map_or(0, |k| self.nodes[k].hops)
    }
    #[inline]
    fn lower_hops(&mut self, a: AddrId, h: u32) {
        if let Some(k) = self.node(a) {
            let s = &mut self.nodes[k].hops;
            *s = (*s).min(h);
        }
    }
    #[inline]
    fn balance(&self, a: AddrId) -> u128 {
        if BALANCES {
            let x = &self.accounts[a as usize];
            u128::from(x.balance_hi) << 64 | u128::from(x.balance_lo)
        } else {
            0
        }
    }
    #[inline]
    fn taint(&self, a: AddrId) -> u128 {
        self.node(a).map_or(0, |k| {
            let x = &self.nodes[k];
            u128::from(x.taint_hi) << 64 | u128::from(x.taint_lo)
        })
    }
    #[inline]
    fn set(&mut self, a: AddrId, balance: u128, taint: u128) -> Option<()> {
        if balance >= NATIVE_LIMIT || taint >= NATIVE_LIMIT {
            return None;
        }
        match self.node(a) {
            Some(k) => {
                let x = &mut self.nodes[k];
                (x.taint_lo, x.taint_hi) = (taint as u64, (taint >> 64) as u32);
            }
            // Only nodes hold taint (see the trait).
            None if taint != 0 => return None,
            None => {}
        }
        self.set_balance(a, balance)
    }
    #[inline]
    fn set_balance(&mut self, a: AddrId, balance: u128) -> Option<()> {
        if balance >= NATIVE_LIMIT {
            return None;
        }
        if BALANCES {
            let x = &mut self.accounts[a as usize];
            (x.balance_lo, x.balance_hi) = (balance as u64, (balance >> 64) as u32);
        } else if balance != 0 {
            // Poison keeps no balances.
            return None;
        }
        Some(())
    }
    #[inline]
    fn prefetch_node_state(&self, _a: AddrId, k: usize) {
        prefetch_at(&self.nodes, k);
    }
    #[inline]
    fn node_state(&self, _a: AddrId, k: usize) -> (u32, u128) {
        let x = &self.nodes[k];
        (
            x.hops,
            u128::from(x.taint_hi) << 64 | u128::from(x.taint_lo),
        )
    }
}

/// Look-alike keys ([`lookalike_key`]) of addresses, in one of two modes.
///
/// * Decoded on first use (graphs of up to [`LOOKALIKE_UP_FRONT_ABOVE`]
///   addresses in the dense layout): 4 bytes and 2 bits per address,
///   zeroed memory that is only faulted in where used (the cache it
///   replaced was 8 bytes per address, all written up front).
/// * Decoded up front ([`LookalikeKeys::decode_all`], larger graphs): only
///   the keys that some other address of the graph shares are kept. A
///   payment from or to an address whose key no other address has can
///   never be a look-alike of a counterparty (a counterparty found under
///   that key is the address itself), so such an address is neither kept
///   as a counterparty nor looked up. With 32-bit keys that is most
///   addresses: at 5×10^8 transfers (188 M addresses) ~4 % share their key
///   with another, and the counterparty tables, ~3 GiB with every address,
///   shrink to that share. Their keys sit in a column indexed by their
///   rank among the shared (a bit per address and a running count per 64
///   addresses find it): ~70 MB instead of 750.
#[derive(Default)]
struct LookalikeKeys {
    /// Decoded on first use: by address. Up front: by rank among the
    /// addresses whose key is shared.
    keys: Vec<u32>,
    /// Bit per address: decoded (on first use only).
    known: Vec<u64>,
    /// Bit per address: has a key (an Ethereum address).
    has: Vec<u64>,
    /// Up front only: bit per address, its key is shared with another
    /// address of the graph.
    shared: Vec<u64>,
    /// Up front only: shared addresses before each 64-address word.
    rank: Vec<u32>,
    /// Decoded up front (the `shared` mode).
    up_front: bool,
}

/// Addresses beyond which [`LookalikeKeys::decode_all`] decodes every
/// address's key before the pass instead of each when first needed (so
/// does the compact layout, which is for graphs larger still).
const LOOKALIKE_UP_FRONT_ABOVE: usize = 1 << 24;

impl LookalikeKeys {
    /// Keys decoded on first use, for `n` addresses.
    fn new(n: usize) -> Self {
        LookalikeKeys {
            keys: vec![0; n],
            known: vec![0; n.div_ceil(64)],
            has: vec![0; n.div_ceil(64)],
            ..LookalikeKeys::default()
        }
    }

    /// Every key of the graph's `n` addresses, decoded in id order, and
    /// only the shared ones kept. On a large graph whose trace reaches
    /// much of it, decoding on first use reads the address dictionary at
    /// random: a page fault per address, and every page read stays mapped
    /// (3.6 GiB of dictionary pages in a sweep at 5×10^8 transfers before
    /// it was stopped). Read in id order, the store unmaps the pages
    /// behind the reader (`DictChunk::address`) and the reads are
    /// sequential. Which keys are shared is found with two bits per
    /// possible key (1 GiB on a graph of 2^26 addresses or more, freed
    /// before the pass).
    fn decode_all<G: TransferGraph>(g: &G, n: usize) -> Self {
        Self::shared_of(n, |a| lookalike_key(&g.address(a)))
    }

    /// [`Self::decode_all`] with the key of each of `n` addresses from
    /// `key_of`, asked in id order.
    fn shared_of(n: usize, mut key_of: impl FnMut(AddrId) -> Option<u32>) -> Self {
        let words = n.div_ceil(64);
        let mut has = vec![0u64; words];
        let mut all = vec![0u32; n];
        // Bit per key: seen once; seen again (read at random: huge pages).
        // A small graph folds the keys onto 64 bits per address: keys
        // that fold together count as shared, which only keeps a few more.
        let bits = (n as u64 * 64).next_power_of_two().clamp(64, 1 << 32);
        let fold = |key: u32| (u64::from(key) & (bits - 1)) as u32;
        let mut seen: Vec<u64> = huge_vec((bits / 64) as usize);
        let mut again: Vec<u64> = huge_vec((bits / 64) as usize);
        for (a, slot) in all.iter_mut().enumerate() {
            if let Some(key) = key_of(a as AddrId) {
                *slot = key;
                set_bit(&mut has, a as AddrId);
                if bit(&seen, fold(key)) {
                    set_bit(&mut again, fold(key));
                } else {
                    set_bit(&mut seen, fold(key));
                }
            }
        }
        drop(seen);
        let mut shared = vec![0u64; words];
        let mut rank = Vec::with_capacity(words);
        let mut keys = Vec::new();
        for (w, chunk) in all.chunks(64).enumerate() {
            rank.push(u32::try_from(keys.len()).expect("under 2^32 addresses"));
            for (i, &key) in chunk.iter().enumerate() {
                let a = (w * 64 + i) as AddrId;
                if bit(&has, a) && bit(&again, fold(key)) {
                    set_bit(&mut shared, a);
                    keys.push(key);
                }
            }
        }
        LookalikeKeys {
            keys,
            known: Vec::new(),
            has,
            shared,
            rank,
            up_front: true,
        }
    }

    /// The key of `a`, an address known to have one that is kept (decoded,
    /// and shared when decoded up front): every address in the
    /// counterparty tables.
    #[inline]
    fn key_of(&self, a: AddrId) -> u32 {
        if self.up_front {
            let w = a as usize / 64;
            let below = self.shared[w] & ((1u64 << (a % 64)) - 1);
            self.keys[self.rank[w] as usize + below.count_ones() as usize]
        } else {
            self.keys[a as usize]
        }
    }
}

/// What the look-alike rule knows of an address's key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lookalike {
    /// Not an Ethereum address: no key.
    None,
    /// A key no other address of the graph has: nothing can look like it.
    Unique,
    /// A key that other addresses may have.
    Key(u32),
}

/// A node as the kernel keeps it during the pass, in 16 bytes (a [`Node`]
/// is 40; at 5×10^8 transfers a trace keeps ~50 M): its hops are in the
/// native state, its category (few nodes have one) in
/// `Kernel::categories`, and `finish` makes the result's `Node`s once the
/// per-address state is freed.
struct KernelNode {
    /// First transfer that brought taint, or [`NO_FIRST`].
    first: TransferId,
    addr: AddrId,
    role: Role,
    has_counterparties: bool,
}

/// `KernelNode::first` of a node that has none.
const NO_FIRST: TransferId = TransferId::MAX;

/// The kernel's real counterparties by look-alike key: (node, key) -> the
/// first real counterparty, as the general engine's `Counterparties`, in
/// 8 bytes an entry (node + 1 and the address): the key is the address's
/// own, read back from [`LookalikeKeys`] where needed. At 5×10^8
/// transfers a trace holds ~100 M entries or more; as (node, key,
/// address) in a hash map they took ~20 bytes each and the map's growth
/// held the old table beside the new. Here they are split into
/// [`CP_SHARDS`] open-addressing tables by node, each grown by half past
/// 85 % full, so the whole is never copied at once.
#[derive(Default)]
struct KernelCounterparties {
    shards: Vec<CpShard>,
    /// How many shards there are once the first entry comes.
    shard_count: usize,
}

/// Shards of [`KernelCounterparties`] (a node's entries: shard `node % 32`).
/// A table that outgrows [`CP_SMALL_SLOTS`] (1 MiB) goes straight to at
/// least [`CP_MAPPED_SLOTS`] (32 MiB): the allocator serves smaller blocks
/// from its heap, where a shard's old table freed by its growth stays
/// resident and is not reused by the larger tables that follow (with 256
/// shards below 32 MiB the heap had grown to 2.2 GB two thirds into a
/// 5×10^8 sweep); a block of 32 MiB or more is mapped on its own and
/// returned when freed. Small traces keep small tables (every table at
/// 32 MiB from the start touched nearly all its pages: 420 MB for a trace
/// of 10^6 transfers). One shard's growth needs a 32nd of the table for a
/// moment (with 8 shards, 300 MB at the 5×10^8 sweep's peak).
const CP_SHARDS: usize = 32;
/// Shards of [`KernelCounterparties`] when the look-alike keys are decoded
/// up front: only addresses with a shared key are kept then (~4 % at
/// 5×10^8 transfers), and 32 shards of at least 32 MiB would be mostly
/// empty (1 GiB for ~12 M entries).
const CP_SHARDS_UP_FRONT: usize = 4;
/// Largest table of a shard grown by half (tests: small).
const CP_SMALL_SLOTS: usize = if cfg!(test) { 64 } else { 1 << 17 };
/// Smallest table of a shard past [`CP_SMALL_SLOTS`] (tests: small).
const CP_MAPPED_SLOTS: usize = if cfg!(test) { 256 } else { 1 << 22 };

/// One shard: linear probing, home slot scaled from the hash (any size).
#[derive(Default, Clone)]
struct CpShard {
    /// `(node + 1) << 32 | address`; 0 for an empty slot.
    slots: Vec<u64>,
    len: usize,
}

#[inline]
fn cp_hash(node: u32, key: u32) -> u64 {
    (u64::from(node) << 32 | u64::from(key)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl CpShard {
    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot of (node, key), or of the empty slot where it would go;
    /// `keys` has the look-alike keys of the addresses held.
    #[inline]
    fn probe(&self, node: u32, key: u32, keys: &LookalikeKeys) -> usize {
        let tag = (u64::from(node) + 1) << 32;
        let mut i = self.home(cp_hash(node, key));
        loop {
            let s = self.slots[i];
            if s == 0 || (s & !0xFFFF_FFFF == tag && keys.key_of(s as u32) == key) {
                return i;
            }
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
    }

    /// Half as large again, entries moved by their keys.
    fn grow(&mut self, keys: &LookalikeKeys) {
        let mut size = (self.slots.len() * 3 / 2).max(16);
        if size > CP_SMALL_SLOTS {
            size = size.max(CP_MAPPED_SLOTS);
        }
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        for s in old.into_iter().filter(|&s| s != 0) {
            let node = ((s >> 32) - 1) as u32;
            let i = self.probe(node, keys.key_of(s as u32), keys);
            self.slots[i] = s;
        }
    }
}

impl KernelCounterparties {
    /// Tables of `shards` shards (made at the first entry).
    fn new(shards: usize) -> Self {
        KernelCounterparties {
            shards: Vec::new(),
            shard_count: shards,
        }
    }

    /// The first real counterparty of `node` with look-alike key `key`.
    #[inline]
    fn get(&self, node: u32, key: u32, keys: &LookalikeKeys) -> Option<AddrId> {
        if self.shards.is_empty() {
            return None;
        }
        let shard = &self.shards[node as usize % self.shards.len()];
        if shard.slots.is_empty() {
            return None;
        }
        match shard.slots[shard.probe(node, key, keys)] {
            0 => None,
            s => Some(s as u32),
        }
    }

    /// Keep `other` (whose key, `keys.key_of(other)`, is `key`) as
    /// `node`'s real counterparty for `key` unless one is kept already.
    fn note(&mut self, node: u32, key: u32, other: AddrId, keys: &LookalikeKeys) {
        debug_assert_eq!(keys.key_of(other), key);
        if self.shards.is_empty() {
            self.shards = vec![CpShard::default(); self.shard_count.max(1)];
        }
        let count = self.shards.len();
        let shard = &mut self.shards[node as usize % count];
        if (shard.len + 1) * 20 > shard.slots.len() * 17 {
            shard.grow(keys);
        }
        let i = shard.probe(node, key, keys);
        if shard.slots[i] == 0 {
            shard.slots[i] = (u64::from(node) + 1) << 32 | u64::from(other);
            shard.len += 1;
        }
    }
}

/// One (address, token) account: a slot of [`TokenTable`], 24 bytes.
/// The balance is 96-bit; the taint, which only accounts of walked
/// addresses ever hold, is kept aside in [`TokenTable::taints`] (most
/// accounts never see taint, and every address's accounts are in the
/// table). An account whose amounts ever need more than 96 bits moves
/// them to [`TokenTable::wide`] for good (`balance_hi == WIDE`,
/// `balance_lo` the index there): token amounts beyond 96 bits are rare,
/// and one short slot a side is worth a branch.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct TokenAccount {
    /// `(address + 1) << 32 | asset`; 0 for an empty slot.
    key: u64,
    balance_lo: u64,
    balance_hi: u32,
    /// Index + 1 of the account's taint in `TokenTable::taints`; 0: none
    /// yet (no taint).
    taint: u32,
}

/// `balance_hi` of a token account whose amounts live in `TokenTable::wide`.
const WIDE: u32 = u32::MAX;

/// A token account's amounts, widened: balance, taint.
type TokenAmounts = [Amount; 2];

/// Token accounts in an open-addressing table keyed by (address, asset).
/// The slot of a row's account follows from the row alone, so it is
/// prefetched with the native lines instead of after them (a chain hung off
/// the native line cost a dependent miss per side: 15 % of a haircut).
/// Linear probing, kept at most 3/4 full: at 10^8 transfers (~20 M
/// accounts) a half-full bound would double the table to 2 GB. Any size
/// (a key's home slot is its hash scaled to the size, not masked), so the
/// table is sized for its estimate, not rounded up to a power of two:
/// at 5×10^8 transfers the rounding alone could double it to 8 GiB.
struct TokenTable {
    slots: Vec<TokenAccount>,
    /// Grown past this share of slots in use (percent).
    max_load_pct: usize,
    len: usize,
    /// Taint of the accounts that ever held some (96 bits each).
    taints: Vec<u128>,
    wide: Vec<TokenAmounts>,
}

impl TokenTable {
    /// A table sized for about `accounts` accounts without growing.
    /// `tight`: sized for the accounts at 90 % and grown past 93 % full
    /// (for the compact layout's huge graphs, where the table is 3.6 GB
    /// at 3/4: linear probing then scans a few more slots on a miss; the
    /// generated graphs' 0.53 accounts an address fill it to 80 %).
    fn new(accounts: usize, tight: bool) -> Self {
        let (slots, max_load_pct) = if tight {
            (accounts * 10 / 9 + 1, 93)
        } else {
            (accounts * 4 / 3 + 1, 75)
        };
        TokenTable {
            slots: if accounts == 0 {
                Vec::new()
            } else {
                huge_vec(slots)
            },
            max_load_pct,
            len: 0,
            taints: Vec::new(),
            wide: Vec::new(),
        }
    }

    #[inline]
    fn key(addr: AddrId, asset: AssetId) -> u64 {
        (u64::from(addr) + 1) << 32 | u64::from(asset)
    }

    /// Home slot of a key: a Fibonacci hash scaled to the table's size
    /// (the high half of hash × size, so any size works).
    #[inline]
    fn home(&self, key: u64) -> usize {
        let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    /// Ask for the home slot of an account: its line, and the next one
    /// (a 24-byte slot may straddle two; the next slot starts there).
    #[inline]
    fn prefetch(&self, addr: AddrId, asset: AssetId) {
        let home = self.home(Self::key(addr, asset));
        prefetch_at(&self.slots, home);
        prefetch_at(&self.slots, home + 1);
    }

    /// The account's slot, created empty on first use.
    #[inline]
    fn slot(&mut self, addr: AddrId, asset: AssetId) -> usize {
        if (self.len + 1) * 100 > self.slots.len() * self.max_load_pct {
            self.grow();
        }
        let key = Self::key(addr, asset);
        let size = self.slots.len();
        let mut i = self.home(key);
        loop {
            let k = self.slots[i].key;
            if k == key {
                return i;
            }
            if k == 0 {
                self.slots[i].key = key;
                self.len += 1;
                return i;
            }
            i += 1;
            if i == size {
                i = 0;
            }
        }
    }

    /// Half as large again (the old and the new table are both alive
    /// while it moves, so doubling would need three times the table).
    fn grow(&mut self) {
        let size = (self.slots.len() * 3 / 2).max(1 << 12);
        let old = std::mem::replace(&mut self.slots, huge_vec(size));
        for t in old.into_iter().filter(|t| t.key != 0) {
            let mut i = self.home(t.key);
            while self.slots[i].key != 0 {
                i += 1;
                if i == size {
                    i = 0;
                }
            }
            self.slots[i] = t;
        }
    }

    #[inline]
    fn load(&self, i: usize) -> TokenAmounts {
        let t = &self.slots[i];
        if t.balance_hi == WIDE {
            return self.wide[t.balance_lo as usize];
        }
        let taint = match t.taint {
            0 => 0,
            k => self.taints[k as usize - 1],
        };
        [
            u128::from(t.balance_hi) << 64 | u128::from(t.balance_lo),
            taint,
        ]
        .map(Amount::from)
    }

    #[inline]
    fn store(&mut self, i: usize, v: TokenAmounts) {
        let t = &mut self.slots[i];
        if t.balance_hi != WIDE {
            let fits = |a: Amount| narrow(a).filter(|&x| x >> 64 < u128::from(WIDE));
            if let [Some(b), Some(c)] = v.map(fits) {
                (t.balance_lo, t.balance_hi) = (b as u64, (b >> 64) as u32);
                match t.taint {
                    0 if c == 0 => {}
                    0 => {
                        self.taints.push(c);
                        t.taint = u32::try_from(self.taints.len())
                            .expect("under 2^32 tainted token accounts (64 GiB of taints)");
                    }
                    k => self.taints[k as usize - 1] = c,
                }
                return;
            }
            t.balance_hi = WIDE;
            t.balance_lo = self.wide.len() as u64;
            self.wide.push(v);
        }
        let w = self.slots[i].balance_lo as usize;
        self.wide[w] = v;
    }
}

/// (node, asset, amount) entries that `finish` collects, sorts by node and
/// asset and reads back node by node: the token taint held per node and
/// the token taint of every flow. 24 bytes an entry (a tuple with a
/// 256-bit amount is 48; at 5×10^8 transfers a large-reach trace has
/// tens of millions of token flows); an amount beyond 128 bits is kept
/// aside and the entry points to it.
#[derive(Default)]
struct NodeParts {
    parts: Vec<NodePart>,
    wide: Vec<Amount>,
}

#[derive(Clone, Copy)]
struct NodePart {
    node: u32,
    /// The asset, with [`WIDE_PART`] set when the amount is in
    /// `NodeParts::wide` at index `lo`.
    asset: u32,
    lo: u64,
    hi: u64,
}

/// Flag of [`NodePart::asset`]: the amount is kept aside.
const WIDE_PART: u32 = 1 << 31;

impl NodeParts {
    fn push(&mut self, node: usize, asset: AssetId, amount: Amount) {
        debug_assert!(asset & WIDE_PART == 0, "under 2^31 assets");
        let node = node as u32;
        let (hi, lo) = amount.into_words();
        if hi == 0 {
            self.parts.push(NodePart {
                node,
                asset,
                lo: lo as u64,
                hi: (lo >> 64) as u64,
            });
        } else {
            self.parts.push(NodePart {
                node,
                asset: asset | WIDE_PART,
                lo: self.wide.len() as u64,
                hi: 0,
            });
            self.wide.push(amount);
        }
    }

    /// Sorted by node, then asset (entries of one node and asset are
    /// summed when read).
    fn sort(&mut self) {
        self.parts
            .sort_unstable_by_key(|p| (p.node, p.asset & !WIDE_PART));
    }

    fn amount(&self, p: &NodePart) -> Amount {
        if p.asset & WIDE_PART != 0 {
            self.wide[p.lo as usize]
        } else {
            Amount::from(u128::from(p.hi) << 64 | u128::from(p.lo))
        }
    }

    /// Node `k`'s entries, summed per asset, in asset order, read from
    /// `*at` on (the sorted list is walked once, node by node).
    fn take_node(&self, at: &mut usize, k: usize, mut out: impl FnMut(AssetId, Amount)) {
        let k = k as u32;
        while let Some(p) = self.parts.get(*at).filter(|p| p.node == k) {
            let asset = p.asset & !WIDE_PART;
            let mut sum = self.amount(p);
            *at += 1;
            while let Some(q) = self
                .parts
                .get(*at)
                .filter(|q| q.node == k && q.asset & !WIDE_PART == asset)
            {
                sum.add_sat(self.amount(q));
                *at += 1;
            }
            out(asset, sum);
        }
    }
}

/// The entries of node `k` in a list of (node, asset, amount) sorted by
/// node, read from `*at` on (the list is walked once, node by node).
fn runs_of<'a>(
    list: &'a [(usize, AssetId, Amount)],
    at: &mut usize,
    k: usize,
) -> &'a [(usize, AssetId, Amount)] {
    let start = *at;
    while list.get(*at).is_some_and(|e| e.0 == k) {
        *at += 1;
    }
    &list[start..*at]
}

/// Bit `a` of a bitset.
#[inline]
fn bit(set: &[u64], a: AddrId) -> bool {
    set[a as usize / 64] & (1 << (a % 64)) != 0
}

#[inline]
fn set_bit(set: &mut [u64], a: AddrId) {
    set[a as usize / 64] |= 1 << (a % 64);
}

/// One transfer as the kernel needs it.
#[derive(Clone, Copy)]
struct Row {
    src: AddrId,
    dst: AddrId,
    asset: AssetId,
    amount: Amount,
}

struct Kernel<'a, G: TransferGraph, N: NativeState> {
    g: &'a G,
    cfg: &'a TraceConfig,
    poison: bool,
    /// One bit per address: walked or seed. The "neither side walked" test
    /// of every row reads this, and at 1 bit per address it stays in cache.
    walked: Vec<u64>,
    /// One bit per address: a seed.
    seed: Vec<u64>,
    /// Empty unless the look-alike rule is on.
    lookalike: LookalikeKeys,
    nodes: Vec<KernelNode>,
    /// Category of the nodes that have one, by node index.
    categories: FxHashMap<u32, tripoint_chain::Category>,
    /// Payee's node and asset of each flow, for the taint received per
    /// node, which `finish` sums from the flows: a per-node sum kept during
    /// the pass cost one more random miss per tainted row (14 % of a haircut).
    flow_to: Vec<(u32, AssetId)>,
    /// Native balance, taint, hops and node index of every address
    /// (poison leaves the balances at zero).
    native: N,
    /// Token accounts: every address for balance policies, walked ones for poison.
    tokens: TokenTable,
    /// Taint booked outside the dense state: seeds' created taint, swap
    /// outputs received before their input.
    received: FxHashMap<(AddrId, AssetId), Amount>,
    /// Packed as they are found (10–12 bytes a flow, not 48).
    flows: Flows,
    /// Past [`SPILL_ABOVE`] bytes in memory (or
    /// [`TraceConfig::spill_flows_above`]), `flows`' packed bytes and
    /// `flow_to`'s records go to these sinks from [`TraceConfig::spill`]
    /// (read back by `finish`, once the per-address state is freed);
    /// `None` without one.
    flow_spill: Option<Box<dyn SpillSink>>,
    flow_to_spill: Option<Box<dyn SpillSink>>,
    /// `flow_to` records in `flow_to_spill`.
    flow_to_spilled: usize,
    /// Whether the logs go to the sinks: not without sinks, and cleared
    /// when an append fails (the logs then stay in memory).
    spilling: bool,
    /// Bytes of the flow logs in memory past which they are spilled:
    /// [`TraceConfig::spill_flows_above`], else [`SPILL_ABOVE`], or
    /// [`SPILL_ABOVE_COMPACT`] in the compact layout.
    spill_above: usize,
    spam: Vec<SpamHit>,
    swaps: Vec<Swap>,
    /// Taint fixed in advance for swap outputs, by transfer id. Rows come
    /// in id order, so the first key is the only one a row can match; a
    /// map lookup per row cost 6 % of a full-graph haircut.
    preset: BTreeMap<TransferId, Amount>,
    counterparties: KernelCounterparties,
    totals: BTreeMap<AssetId, Totals>,
    token_spam: Vec<Option<SpamReason>>,
    visited: u64,
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

/// Run the sweep with a fast kernel; `None` when the configuration or the
/// graph needs the general engine (see the module docs).
pub(crate) fn run<G: TransferGraph>(g: &G, cfg: &TraceConfig) -> Option<TraceResult> {
    if matches!(cfg.policy, TaintPolicy::Fifo | TaintPolicy::Lifo) {
        return None;
    }
    let compact = cfg
        .compact_state
        .unwrap_or(g.address_count() > crate::taint::COMPACT_ABOVE_ADDRESSES);
    match (compact, cfg.policy == TaintPolicy::Poison) {
        (false, _) => run_with::<G, Dense>(g, cfg),
        (true, false) => run_with::<G, Compact<true>>(g, cfg),
        (true, true) => run_with::<G, Compact<false>>(g, cfg),
    }
}

fn run_with<G: TransferGraph, N: NativeState>(g: &G, cfg: &TraceConfig) -> Option<TraceResult> {
    let n = g.address_count();
    let poison = cfg.policy == TaintPolicy::Poison;
    let spill_above = cfg.spill_flows_above.unwrap_or(if N::NODE_LINES {
        SPILL_ABOVE_COMPACT
    } else {
        SPILL_ABOVE
    });
    // The pass's first read, a row read as a sequential scan, before the
    // state below is allocated: the store then unmaps the index pages an
    // earlier sparse walk mapped (`Traversal::Auto`'s, 5.9 GiB at 5×10^8
    // transfers), so they are gone before the state takes their place.
    g.read_batch(0, 1, &mut TransferBatch::sequential());
    let mut k = Kernel {
        g,
        cfg,
        poison,
        walked: vec![0; n.div_ceil(64)],
        seed: vec![0; n.div_ceil(64)],
        lookalike: LookalikeKeys::default(),
        // Room reserved up front (only address space until used), capped
        // so that a huge graph does not ask for more than memory at once.
        nodes: Vec::with_capacity(n.min(RESERVE)),
        categories: FxHashMap::default(),
        flow_to: Vec::with_capacity(
            (g.transfer_count() as usize)
                .min(RESERVE)
                .min(spill_above / FLOW_TO_BYTES + 1),
        ),
        native: N::new(n),
        // Sized for 0.6 token accounts per address (the generated graphs
        // have 0.53 at 10^7 and 10^8 transfers; growing the table cost
        // 2.5 % of a haircut); larger, its random keys touch every page of
        // it.
        // Poison keeps only walked addresses' accounts: sized for 0.2 per
        // address (a quarter of the addresses walked at most, in the
        // generated graphs), it grows if it must.
        tokens: TokenTable::new(
            match (g.asset_count() > 1, poison) {
                (false, _) => 0,
                (true, false) => n / 5 * 3,
                (true, true) => n / 5,
            },
            N::NODE_LINES,
        ),
        received: FxHashMap::default(),
        flows: Flows::default(),
        flow_spill: cfg.spill.as_ref().map(|s| s.sink()),
        flow_to_spill: cfg.spill.as_ref().map(|s| s.sink()),
        flow_to_spilled: 0,
        spilling: cfg.spill.is_some(),
        spill_above,
        spam: Vec::new(),
        swaps: Vec::new(),
        preset: BTreeMap::new(),
        counterparties: KernelCounterparties::default(),
        totals: BTreeMap::new(),
        token_spam: cfg.spam.token_verdicts(g),
        visited: 0,
    };
    if cfg.spam.lookalike {
        (k.lookalike, k.counterparties) = if N::NODE_LINES || n > LOOKALIKE_UP_FRONT_ABOVE {
            (
                LookalikeKeys::decode_all(g, n),
                KernelCounterparties::new(CP_SHARDS_UP_FRONT),
            )
        } else {
            (LookalikeKeys::new(n), KernelCounterparties::new(CP_SHARDS))
        };
    }
    let start = first_at_or_after(g, cfg.from);
    let mut seeds = cfg.seeds.clone();
    seeds.sort_unstable();
    seeds.dedup();
    for &s in &seeds {
        if s as usize >= n {
            // Not an address of this graph: the general engine's business.
            return None;
        }
        if k.native.node(s).is_none() {
            k.add_node(s, Role::Seed, 0, None, None)?;
        }
    }
    // One pass in order: the store may unmap the rows behind it.
    let mut batch = TransferBatch::sequential();
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
            // A token row also reads each side's token account.
            if let Some(&asset) = batch.asset.get(j + PREFETCH) {
                if asset != NATIVE_ASSET {
                    let (s, d) = (batch.src[j + PREFETCH], batch.dst[j + PREFETCH]);
                    if !poison || k.walked(s) || k.walked(d) {
                        k.tokens.prefetch(s, asset);
                        k.tokens.prefetch(d, asset);
                    }
                }
            }
            // The compact layout's node lines, once the address lines
            // asked for above are (likely) in cache.
            if let (true, Some(&s), Some(&d)) = (
                N::NODE_LINES,
                batch.src.get(j + PREFETCH / 2),
                batch.dst.get(j + PREFETCH / 2),
            ) {
                if k.walked(s) || k.walked(d) {
                    k.native.prefetch_node(s);
                    k.native.prefetch_node(d);
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
            let active = k.walked(r.src) || k.walked(r.dst);
            if !active {
                k.move_clean(&r)?;
            } else if ts < cfg.from {
                // Out-of-order timestamp: the general engine leaves walked
                // accounts alone and moves only the others' balances.
                k.move_clean_unwalked(&r)?;
            } else {
                k.step(id, &r)?;
            }
        }
        next = batch.first + len as u64;
    }
    k.finish()
}

impl<G: TransferGraph, N: NativeState> Kernel<'_, G, N> {
    /// Ask for the state of a row a few rows ahead: the per-address arrays
    /// are far larger than the caches, and each row touches two random lines.
    #[inline]
    fn prefetch(&self, src: AddrId, dst: AddrId) {
        self.native.prefetch(src);
        self.native.prefetch(dst);
    }

    /// Hop distance of `a` (valid for nodes).
    #[inline]
    fn hops(&self, a: AddrId) -> u32 {
        self.native.hops(a)
    }

    /// Lower the hop distance of `a` to at most `h`.
    #[inline]
    fn lower_hops(&mut self, a: AddrId, h: u32) {
        self.native.lower_hops(a, h);
    }

    /// Walked or a seed (taint can leave it).
    #[inline]
    fn walked(&self, a: AddrId) -> bool {
        bit(&self.walked, a)
    }

    #[inline]
    fn is_seed(&self, a: AddrId) -> bool {
        bit(&self.seed, a)
    }

    /// What the look-alike rule knows of an address's key (decoded once
    /// per address).
    #[inline]
    fn lookalike_of(&mut self, a: AddrId) -> Lookalike {
        let l = &mut self.lookalike;
        if l.up_front {
            return if !bit(&l.has, a) {
                Lookalike::None
            } else if bit(&l.shared, a) {
                Lookalike::Key(l.key_of(a))
            } else {
                Lookalike::Unique
            };
        }
        if !bit(&l.known, a) {
            set_bit(&mut l.known, a);
            if let Some(key) = lookalike_key(&self.g.address(a)) {
                l.keys[a as usize] = key;
                set_bit(&mut l.has, a);
            }
        }
        if bit(&l.has, a) {
            Lookalike::Key(l.keys[a as usize])
        } else {
            Lookalike::None
        }
    }

    fn totals(&mut self, asset: AssetId) -> &mut Totals {
        self.totals.entry(asset).or_default()
    }

    /// Apply `f` to the (address, token) account's amounts.
    #[inline]
    fn with_token<R>(
        &mut self,
        a: AddrId,
        asset: AssetId,
        f: impl FnOnce(&mut TokenAmounts) -> R,
    ) -> R {
        let i = self.tokens.slot(a, asset);
        let mut v = self.tokens.load(i);
        let r = f(&mut v);
        self.tokens.store(i, v);
        r
    }

    /// A transfer between two addresses that are not walked: balances only.
    /// `None`: a native amount beyond 96 bits (see [`NativeAccount`]).
    #[inline]
    fn move_clean(&mut self, r: &Row) -> Option<()> {
        if self.poison || r.src == r.dst {
            return Some(());
        }
        self.pay_clean(r.src, r.asset, r.amount)?;
        self.receive_clean(r.dst, r.asset, r.amount)
    }

    fn move_clean_unwalked(&mut self, r: &Row) -> Option<()> {
        if self.poison || r.src == r.dst {
            return Some(());
        }
        if !self.walked(r.src) {
            self.pay_clean(r.src, r.asset, r.amount)?;
        }
        if !self.walked(r.dst) {
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
            let n = &mut self.native;
            n.set_balance(a, n.balance(a).saturating_sub(narrow(amount)?))?;
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
            let n = &mut self.native;
            n.set_balance(a, n.balance(a).checked_add(narrow(amount)?)?)?;
        } else {
            self.with_token(a, asset, |v| v[0].add_sat(amount));
        }
        Some(())
    }

    /// Pay `a` out of a walked account; returns the taint it carries.
    #[inline]
    fn debit(&mut self, addr: AddrId, asset: AssetId, a: Amount) -> Option<Amount> {
        let policy = self.cfg.policy;
        if asset == NATIVE_ASSET {
            let n = &mut self.native;
            let (mut b, mut t) = (n.balance(addr), n.taint(addr));
            let c = debit_in(policy, &mut b, &mut t, narrow(a)?);
            n.set(addr, b, t)?;
            return Some(Amount::from(c));
        }
        Some(self.with_token(addr, asset, |[b, t]| debit_in(policy, b, t, a)))
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
            let n = &mut self.native;
            let (a, c) = (narrow(a)?, narrow(c)?);
            let (mut b, mut t) = (n.balance(addr), n.taint(addr));
            let c = debit_exact_in(poison, &mut b, &mut t, a, c);
            n.set(addr, b, t)?;
            return Some(Amount::from(c));
        }
        Some(self.with_token(addr, asset, |[b, t]| debit_exact_in(poison, b, t, a, c)))
    }

    #[inline]
    fn credit(&mut self, addr: AddrId, asset: AssetId, a: Amount, c: Amount) -> Option<()> {
        let poison = self.poison;
        if asset == NATIVE_ASSET {
            let n = &mut self.native;
            let mut b = n.balance(addr);
            if !poison {
                b = b.checked_add(narrow(a)?)?;
            }
            let t = n.taint(addr).checked_add(narrow(c)?)?;
            n.set(addr, b, t)?;
        } else {
            self.with_token(addr, asset, |[b, t]| {
                if !poison {
                    b.add_sat(a);
                }
                t.add_sat(c);
            });
        }
        Some(())
    }

    /// Turn up to `c` of clean balance into taint (swap output booked earlier).
    fn retaint(&mut self, addr: AddrId, asset: AssetId, c: Amount) -> Option<Amount> {
        let poison = self.poison;
        if asset == NATIVE_ASSET {
            let n = &mut self.native;
            let c = narrow(c)?;
            let (b, t) = (n.balance(addr), n.taint(addr));
            let m = if poison { c } else { c.min(b - t.min(b)) };
            n.set(addr, b, t.checked_add(m)?)?;
            return Some(Amount::from(m));
        }
        Some(self.with_token(addr, asset, |[b, t]| {
            let m = if poison { c } else { c.min(*b - (*t).min(*b)) };
            t.add_sat(m);
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
            set_bit(&mut self.walked, addr);
        }
        if role == Role::Seed {
            set_bit(&mut self.seed, addr);
        }
        let i = self.nodes.len() as u32;
        self.native.add_node(addr, i, hops);
        self.nodes.push(KernelNode {
            addr,
            role,
            first: first.unwrap_or(NO_FIRST),
            has_counterparties: false,
        });
        if let Some(c) = category {
            self.categories.insert(i, c);
        }
        Some(i)
    }

    /// Whether `a` is a DEX by its labels (never walked), as opposed to a
    /// swap counterparty found from a transaction.
    fn labelled_dex(&self, a: AddrId) -> bool {
        self.g.may_have_labels(a) && classify_labels(&self.g.labels(a), self.cfg).0 == Class::Dex
    }

    /// A found swap counterparty (node `node`, address `addr`) becomes
    /// walked, with the category its labels give (as in the engine).
    fn promote(&mut self, node: u32, addr: AddrId) -> Option<()> {
        if self.g.is_tx_node(addr) {
            return None;
        }
        let category = if self.g.may_have_labels(addr) {
            classify_labels(&self.g.labels(addr), self.cfg).1
        } else {
            None
        };
        set_bit(&mut self.walked, addr);
        self.nodes[node as usize].role = Role::Walked;
        match category {
            Some(c) => self.categories.insert(node, c),
            None => self.categories.remove(&node),
        };
        Some(())
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
                let Some(node) = self.native.node(me) else {
                    continue;
                };
                if !self.nodes[node].has_counterparties {
                    continue;
                }
                // A unique key: any counterparty under it is `other` itself.
                if let Lookalike::Key(k) = self.lookalike_of(other) {
                    let real = self.counterparties.get(node as u32, k, &self.lookalike);
                    if matches!(real, Some(real) if real != other) {
                        return Some(SpamReason::LookAlikeAddress);
                    }
                }
            }
        }
        None
    }

    fn note_counterparty(&mut self, me: AddrId, other: AddrId) {
        let key = self.lookalike_of(other);
        if key == Lookalike::None {
            return;
        }
        if let Some(i) = self.native.node(me) {
            // Only a shared key is kept: nothing can look like a unique one.
            if let Lookalike::Key(k) = key {
                self.counterparties
                    .note(i as u32, k, other, &self.lookalike);
            }
            self.nodes[i].has_counterparties = true;
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
        let src_active = self.walked(r.src);
        let dst_active = self.walked(r.dst);
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
            new_hops = self.hops(r.src).saturating_add(1);
            if self.is_seed(r.src) {
                let from_received = self.debit(r.src, r.asset, r.amount)?;
                // A spam token is neither seeded nor carried (as in the engine).
                if !matches!(self.token_spam.get(r.asset as usize), Some(Some(_))) {
                    let minted = r.amount - from_received.min(r.amount);
                    carried = r.amount;
                    self.totals(r.asset).seeded.add_sat(minted);
                    self.received
                        .entry((r.src, r.asset))
                        .or_default()
                        .add_sat(minted);
                }
            } else {
                let exact = self.take_preset(id);
                carried = match exact {
                    Some(c) if poison => {
                        // A swap output paid by a walked counterparty (as
                        // in the engine): the payer's own taint or the swap's.
                        let own = self.debit(r.src, r.asset, r.amount)?;
                        if c > Amount::ZERO {
                            new_hops = new_hops.min(self.hops(r.dst));
                            self.totals(r.asset).swapped_in.add_sat(c);
                        }
                        own.max(c)
                    }
                    Some(c) => self.debit_exact(r.src, r.asset, r.amount, c)?,
                    None => self.debit(r.src, r.asset, r.amount)?,
                };
            }
        } else {
            self.pay_clean(r.src, r.asset, r.amount)?;
            if let Some(c) = self.take_preset(id) {
                // A swap output: the DEX pays the trader back in another asset.
                carried = c;
                new_hops = self.hops(r.dst);
                self.totals(r.asset).swapped_in.add_sat(c);
            }
        }

        if let Some(d) = Dropped::check(self.cfg, spam.is_some(), r.amount, carried, new_hops) {
            if !poison {
                d.bucket(self.totals(r.asset)).add_sat(carried);
            }
            carried = Amount::ZERO;
        }

        // Taint arriving at the payee.
        if dst_active {
            self.credit(r.dst, r.asset, r.amount, carried)?;
            if carried > Amount::ZERO {
                self.lower_hops(r.dst, new_hops);
                if self.is_seed(r.dst) {
                    if let Some(i) = self.native.node(r.dst) {
                        let n = &mut self.nodes[i];
                        if n.first == NO_FIRST {
                            n.first = id;
                        }
                    }
                }
                // Poison also takes the swap reading (as in the engine).
                if poison && src_active {
                    let legs =
                        crate::taint::swapped(self.g, id, &self.g.transfer(id), &self.token_spam);
                    if legs.is_some() {
                        self.swap(id, r, carried, legs)?;
                    }
                }
            }
        } else if carried == Amount::ZERO {
            self.receive_clean(r.dst, r.asset, r.amount)?;
        } else {
            let mut legs = None;
            let mut node = self.native.node(r.dst).map_or(NO_NODE, |i| i as u32);
            if node == NO_NODE {
                let (class, mut cat) = if self.g.may_have_labels(r.dst) {
                    classify_labels(&self.g.labels(r.dst), self.cfg)
                } else {
                    (Class::Plain, None)
                };
                let mut role = match class {
                    Class::Dex => Role::Dex,
                    Class::Terminal if !self.cfg.walk_terminals => Role::Endpoint,
                    _ => Role::Walked,
                };
                if role == Role::Walked && src_active {
                    // A swap found from the transaction (as in the engine).
                    legs =
                        crate::taint::swapped(self.g, id, &self.g.transfer(id), &self.token_spam);
                    if legs.is_some() {
                        role = Role::Dex;
                        cat = cat.or(Some(tripoint_chain::Category::Dex));
                    }
                }
                node = self.add_node(r.dst, role, new_hops, Some(id), cat)?;
                if role == Role::Walked {
                    self.credit(r.dst, r.asset, r.amount, carried)?;
                } else {
                    self.receive_clean(r.dst, r.asset, r.amount)?;
                }
            } else if self.nodes[node as usize].role == Role::Dex
                && src_active
                && !self.labelled_dex(r.dst)
            {
                // A counterparty found from an earlier transaction (as in
                // the engine): walked from here on unless this is a swap too.
                legs = crate::taint::swapped(self.g, id, &self.g.transfer(id), &self.token_spam);
                if legs.is_none() {
                    self.promote(node, r.dst)?;
                    self.credit(r.dst, r.asset, r.amount, carried)?;
                } else {
                    self.receive_clean(r.dst, r.asset, r.amount)?;
                }
            } else {
                self.receive_clean(r.dst, r.asset, r.amount)?;
            }
            self.lower_hops(r.dst, new_hops);
            match self.nodes[node as usize].role {
                Role::Dex => self.swap(id, r, carried, legs)?,
                Role::Endpoint => self.totals(r.asset).exited.add_sat(carried),
                _ => {}
            }
        }

        if carried > Amount::ZERO {
            // The payee is a node by now (taint only reaches nodes), and
            // its line is in cache.
            let node = self.native.node(r.dst).map_or(NO_NODE, |i| i as u32);
            self.flows.push(&Flow { id, carried });
            self.flow_to.push((node, r.asset));
            if self.spilling
                && self.flows.packed().len() + self.flow_to.len() * FLOW_TO_BYTES > self.spill_above
            {
                self.spill_flows();
            }
        }
        Some(())
    }

    /// Move the flows found so far and their payees to the spill sinks.
    #[cold]
    fn spill_flows(&mut self) {
        let (Some(flow_spill), Some(flow_to_spill)) =
            (self.flow_spill.as_mut(), self.flow_to_spill.as_mut())
        else {
            self.spilling = false;
            return;
        };
        if !flow_spill.append(self.flows.packed()) {
            self.spilling = false;
            return;
        }
        self.flows.clear_packed();
        let mut written = 0;
        let mut bytes = Vec::with_capacity(FLOW_TO_PIECE);
        for piece in self.flow_to.chunks(FLOW_TO_PIECE / FLOW_TO_BYTES) {
            bytes.clear();
            for &(node, asset) in piece {
                bytes.extend_from_slice(&node.to_le_bytes());
                bytes.extend_from_slice(&asset.to_le_bytes());
            }
            if !flow_to_spill.append(&bytes) {
                self.spilling = false;
                break;
            }
            written += piece.len();
        }
        self.flow_to.drain(..written);
        self.flow_to_spilled += written;
    }

    /// Bring the spilled flows back: `flows` holds every flow again, in
    /// order. Their payees stay where they are ([`Self::payee_pieces`]).
    fn unspill_flows(&mut self) {
        let Some(spilled) = self.flow_spill.take() else {
            return;
        };
        if !spilled.is_empty() {
            let mut bytes = Vec::with_capacity(spilled.len() as usize + self.flows.packed().len());
            spilled
                .read_pieces(FLOW_TO_PIECE, &mut |p| bytes.extend_from_slice(p))
                .expect(READ_BACK);
            bytes.extend_from_slice(self.flows.packed());
            self.flows = Flows::from_packed(bytes, self.flows.len(), self.flows.last_id());
        }
    }

    /// Every flow's payee node and asset, in flow order, handed to `f` a
    /// piece at a time: from the spill sink, then what is in memory. Read
    /// as they are used instead of brought back whole (8 bytes a flow: 1 GB
    /// at 5×10^8 transfers beside the result being made).
    fn payee_pieces(&mut self, mut f: impl FnMut(&[(u32, AssetId)])) {
        let spilled = self.flow_to_spill.take();
        if let Some(spilled) = spilled.filter(|_| self.flow_to_spilled > 0) {
            let mut piece = Vec::with_capacity(FLOW_TO_PIECE / FLOW_TO_BYTES);
            spilled
                .read_pieces(FLOW_TO_PIECE, &mut |p| {
                    piece.clear();
                    piece.extend(p.chunks_exact(FLOW_TO_BYTES).map(|r| {
                        let word =
                            |i: usize| u32::from_le_bytes(r[i..i + 4].try_into().expect("4 bytes"));
                        (word(0), word(4))
                    }));
                    f(&piece);
                })
                .expect(READ_BACK);
            self.flow_to_spilled = 0;
        }
        f(&std::mem::take(&mut self.flow_to));
    }

    /// The swap rule, as in the general engine: taint `c` of asset A sent to
    /// a DEX comes back on the other-asset transfers to the trader in the
    /// same transaction, in proportion `b·c/a`.
    fn swap(
        &mut self,
        input: TransferId,
        r: &Row,
        c: Amount,
        legs: Option<SwapLegs>,
    ) -> Option<()> {
        let trader = r.src;
        let g = self.g;
        let SwapLegs {
            outputs: outs,
            paid,
        } = legs.unwrap_or_else(|| {
            crate::taint::swap_legs(g, input, &g.transfer(input), &self.token_spam)
        });
        if outs.is_empty() {
            self.totals(r.asset).exited.add_sat(c);
            return Some(());
        }
        self.totals(r.asset).swapped_out.add_sat(c);
        let mut outputs = Vec::new();
        for (id, o) in outs {
            let cb = swap_share(self.cfg.policy, o.amount, c, paid);
            if cb == Amount::ZERO {
                continue;
            }
            if id > input {
                let p = self.preset.entry(id).or_default();
                *p = p.saturating_add(cb).min(o.amount);
                outputs.push((id, cb));
            } else {
                let moved = self.retaint(trader, o.asset, cb)?;
                self.totals(o.asset).swapped_in.add_sat(moved);
                self.received
                    .entry((trader, o.asset))
                    .or_default()
                    .add_sat(moved);
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

    fn finish(mut self) -> Option<TraceResult> {
        // Token and booked-aside amounts as (node, asset, amount), sorted by
        // node, then merged into the node-ordered result below.
        let node_of_addr = |native: &N, a: AddrId| native.node(a);
        let mut token_held = NodeParts::default();
        for i in 0..self.tokens.slots.len() {
            let key = self.tokens.slots[i].key;
            if key == 0 {
                continue;
            }
            let (addr, asset) = (((key >> 32) - 1) as AddrId, key as AssetId);
            let [_, taint] = self.tokens.load(i);
            if taint > Amount::ZERO {
                if let Some(node) = node_of_addr(&self.native, addr) {
                    token_held.push(node, asset, taint);
                }
            }
        }
        let by_node = |m: &FxHashMap<(AddrId, AssetId), Amount>, native: &N| {
            let mut v: Vec<(usize, AssetId, Amount)> = m
                .iter()
                .filter_map(|(&(addr, asset), &a)| Some((node_of_addr(native, addr)?, asset, a)))
                .collect();
            v.sort_unstable_by_key(|e| (e.0, e.1));
            v
        };
        token_held.sort();
        let extra = by_node(&self.received, &self.native);
        let addresses = self.native.addresses();
        // Nothing below asks for an address's node any more.
        self.native.release_addresses();
        // Token accounts and look-alike keys are done with: free them
        // before the result is made (the native records go after the
        // loop below, before the result's per-address index).
        self.tokens = TokenTable::new(0, false);
        self.lookalike = LookalikeKeys::default();
        self.counterparties = KernelCounterparties::default();
        // The result's nodes. In the compact layout (huge graphs) they are
        // made here, and the kernel's freed, before the flows come back
        // from disk: node state is per node there, read in order twice.
        // In the dense layout it is read at random, so once, in the loop
        // below.
        let mut kernel_nodes = std::mem::take(&mut self.nodes);
        let node_count = kernel_nodes.len();
        let mut nodes: Vec<Node> = Vec::with_capacity(node_count);
        let mut categories = std::mem::take(&mut self.categories);
        let mut make_node = |k: usize, n: &KernelNode, hops: u32| Node {
            addr: n.addr,
            role: n.role,
            hops,
            first: (n.first != NO_FIRST).then_some(n.first),
            category: categories.remove(&(k as u32)).map(Box::new),
            is_tx: false,
            tiho_allocated: false,
            has_counterparties: n.has_counterparties,
        };
        if N::NODE_LINES {
            for (k, n) in kernel_nodes.iter().enumerate() {
                let (hops, _) = self.native.node_state(n.addr, k);
                nodes.push(make_node(k, n, hops));
            }
            kernel_nodes = Vec::new();
        }
        let n = node_count;
        // Held per node first, then the node state is freed before the
        // flows come back and the taint received is summed: the two are
        // never built side by side with everything each needs.
        let mut held = NodeAmounts::with_capacity(n, n);
        // Held per asset, summed here and booked once (an asset's totals
        // entry exists only if something of it is held, as in the engine).
        let mut held_sum: Vec<Option<Amount>> = vec![None; self.g.asset_count().max(1)];
        let mut add_held = |held: &mut NodeAmounts, asset: AssetId, taint: Amount| {
            held.push(asset, taint);
            let a = asset as usize;
            if held_sum.len() <= a {
                held_sum.resize(a + 1, None);
            }
            held_sum[a] = Some(held_sum[a].unwrap_or_default().saturating_add(taint));
        };
        // Visit the nodes in node order (the result's order), prefetching a
        // few nodes ahead (random lines).
        // Node `k`'s address: from the nodes made above (compact), or from
        // the kernel's, made into the result's in the loop (dense).
        let addr_of = |nodes: &[Node], kernel_nodes: &[KernelNode], k: usize| {
            if N::NODE_LINES {
                nodes.get(k).map(|n| n.addr)
            } else {
                kernel_nodes.get(k).map(|n| n.addr)
            }
        };
        let mut th = 0;
        for k in 0..node_count {
            if let Some(ahead) = addr_of(&nodes, &kernel_nodes, k + PREFETCH) {
                self.native.prefetch_node_state(ahead, k + PREFETCH);
            }
            let addr = addr_of(&nodes, &kernel_nodes, k).expect("node k is made or kept");
            let (hops, taint) = self.native.node_state(addr, k);
            if !N::NODE_LINES {
                nodes.push(make_node(k, &kernel_nodes[k], hops));
            }
            if taint > 0 {
                add_held(&mut held, NATIVE_ASSET, Amount::from(taint));
            }
            token_held.take_node(&mut th, k, |asset, taint| add_held(&mut held, asset, taint));
            held.end_node();
        }
        self.native = N::default();
        drop((kernel_nodes, token_held));

        self.unspill_flows();
        // Taint received per node, from the flows (random adds, prefetched).
        // Faulted in in order (see `huge_vec`), then added to at random.
        let mut got: Vec<u128> = huge_vec(node_count);
        let mut token_got = NodeParts::default();
        let flows = std::mem::take(&mut self.flows);
        let mut flow_iter = flows.iter();
        // Each native part is below 2^96 (the pass kept every balance
        // there), so only 2^32 such flows into one address could
        // overflow: the general engine's business then.
        let mut overflow = false;
        self.payee_pieces(|payees| {
            for (k, &(node, asset)) in payees.iter().enumerate() {
                if let Some(&(ahead, _)) = payees.get(k + PREFETCH) {
                    prefetch_at(&got, ahead as usize);
                }
                let f = flow_iter.next().expect("a payee per flow");
                let node = node as usize;
                if asset == NATIVE_ASSET {
                    match narrow(f.carried).and_then(|c| got[node].checked_add(c)) {
                        Some(sum) => got[node] = sum,
                        None => overflow = true,
                    }
                } else {
                    token_got.push(node, asset, f.carried);
                }
            }
        });
        self.flows = flows;
        if overflow {
            return None;
        }
        // Sorted by node (summed per (node, token) when read).
        token_got.sort();
        let mut received = NodeAmounts::with_capacity(n, n);
        let (mut tg, mut ex) = (0, 0);
        let mut rec: Vec<(AssetId, Amount)> = Vec::new();
        for (k, &native) in got.iter().enumerate() {
            // Received: taint that arrived, plus what was booked aside for
            // the same (node, asset), which is listed even when zero.
            rec.clear();
            if native > 0 {
                rec.push((NATIVE_ASSET, Amount::from(native)));
            }
            token_got.take_node(&mut tg, k, |asset, a| rec.push((asset, a)));
            for &(_, asset, a) in runs_of(&extra, &mut ex, k) {
                match rec.iter_mut().find(|e| e.0 == asset) {
                    Some(e) => e.1.add_sat(a),
                    None => rec.push((asset, a)),
                }
            }
            for &(asset, a) in &rec {
                received.push(asset, a);
            }
            received.end_node();
        }
        drop((got, token_got));
        let node_of = crate::taint::NodeIndex::of_nodes(&nodes, addresses);
        if !self.poison {
            for (asset, sum) in held_sum.into_iter().enumerate() {
                if let Some(sum) = sum {
                    self.totals
                        .entry(asset as AssetId)
                        .or_default()
                        .held
                        .add_sat(sum);
                }
            }
        }
        Some(TraceResult {
            policy: self.cfg.policy,
            nodes,
            node_of,
            flows: self.flows,
            received,
            held,
            spam: self.spam,
            swaps: self.swaps,
            totals: self.totals,
            visited: self.visited,
            engine: crate::taint::EngineKind::SweepKernel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounts keep their amounts (96-bit and wide) across the table's
    /// growth, and each (address, asset) has exactly one slot.
    #[test]
    fn token_table_keeps_accounts_across_growth() {
        for tight in [false, true] {
            token_table_keeps_accounts(tight);
        }
    }

    fn token_table_keeps_accounts(tight: bool) {
        let mut t = TokenTable::new(0, tight);
        let amount = |a: u32, asset: u32| -> TokenAmounts {
            let x = u128::from(a) * 7 + u128::from(asset);
            if a.is_multiple_of(97) {
                // Beyond 96 bits: kept in the wide side table.
                [Amount::from_words(1, x), Amount::from(x << 100)]
            } else {
                [Amount::from(x << 60), Amount::from(x)]
            }
        };
        for a in 0..20_000u32 {
            for asset in 1..4u32 {
                let i = t.slot(a, asset);
                t.store(i, amount(a, asset));
            }
        }
        assert_eq!(t.len, 60_000);
        assert!(
            t.slots.len() * t.max_load_pct >= 60_000 * 100,
            "grown to keep the load under {} %",
            t.max_load_pct
        );
        for a in (0..20_000u32).rev() {
            for asset in 1..4u32 {
                let i = t.slot(a, asset);
                assert_eq!(t.load(i), amount(a, asset), "account ({a}, {asset})");
            }
        }
        assert_eq!(t.len, 60_000, "lookups create nothing");
        // Taint is kept aside only once an account has some, and kept
        // there when it falls to zero and rises again.
        let untainted = t.taints.len();
        let i = t.slot(20_001, 1);
        t.store(i, [Amount::from(5u8), Amount::ZERO]);
        assert_eq!(t.taints.len(), untainted, "no taint, nothing aside");
        for taint in [3u8, 0, 4] {
            t.store(i, [Amount::from(5u8), Amount::from(taint)]);
            assert_eq!(t.load(i), [Amount::from(5u8), Amount::from(taint)]);
        }
        assert_eq!(t.taints.len(), untainted + 1, "one taint entry per account");
        assert_eq!(std::mem::size_of::<TokenAccount>(), 24);
        // A 96-bit account that outgrows 96 bits moves to the side table.
        let i = t.slot(1, 1);
        let big = [Amount::from(1u128 << 100), Amount::ONE];
        t.store(i, big);
        let j = t.slot(1, 1);
        assert_eq!(t.load(j), big);
    }

    /// The kernel's counterparty table answers as a plain map keeps the
    /// first address per (node, key), across its shards' growth, with
    /// several addresses of one key and nodes in every shard.
    #[test]
    fn kernel_counterparties_keep_the_first_per_node_and_key() {
        let addresses = 5000u32;
        // Keys with many collisions: 97 keys over 5000 addresses.
        let keys: Vec<u32> = (0..addresses)
            .map(|a| a.wrapping_mul(2_654_435_761) % 97)
            .collect();
        let keys = LookalikeKeys {
            keys,
            ..LookalikeKeys::default()
        };
        let mut table = KernelCounterparties::new(CP_SHARDS);
        let mut plain = std::collections::HashMap::new();
        let nodes = 3 * CP_SHARDS as u32 + 5;
        let mut x = 7u64;
        for _ in 0..60_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let node = (x >> 40) as u32 % nodes;
            let other = (x >> 11) as u32 % addresses;
            let key = keys.key_of(other);
            table.note(node, key, other, &keys);
            plain.entry((node, key)).or_insert(other);
        }
        let held: usize = table.shards.iter().map(|s| s.len).sum();
        assert_eq!(held, plain.len());
        for node in 0..nodes {
            for key in 0..100 {
                assert_eq!(
                    table.get(node, key, &keys),
                    plain.get(&(node, key)).copied(),
                    "node {node}, key {key}"
                );
            }
        }
        for s in &table.shards {
            assert!(s.len * 20 <= s.slots.len() * 17, "at most 85 % full");
        }
    }

    /// Keys decoded up front keep exactly the shared ones, each found by
    /// its address's rank.
    #[test]
    fn lookalike_keys_up_front_keep_the_shared_keys() {
        let n = 1000u32;
        // Every 7th address has no key; keys 0..700: some repeat, some not.
        let key = |a: AddrId| {
            (!a.is_multiple_of(7))
                .then(|| (u64::from(a).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as u32 % 700)
        };
        let keys = LookalikeKeys::shared_of(n as usize, key);
        let mut count = std::collections::HashMap::new();
        for a in 0..n {
            if let Some(k) = key(a) {
                *count.entry(k).or_insert(0) += 1;
            }
        }
        let (mut shared, mut unique) = (0, 0);
        for a in 0..n {
            assert_eq!(bit(&keys.has, a), key(a).is_some(), "address {a}");
            let is_shared = key(a).is_some_and(|k| count[&k] > 1);
            assert_eq!(bit(&keys.shared, a), is_shared, "address {a}");
            if is_shared {
                assert_eq!(keys.key_of(a), key(a).unwrap(), "address {a}");
                shared += 1;
            } else if key(a).is_some() {
                unique += 1;
            }
        }
        assert!(
            shared > 100 && unique > 100,
            "{shared} shared, {unique} unique"
        );
        assert_eq!(keys.keys.len(), shared);
    }

    #[test]
    fn native_accounts_hold_96_bits() {
        let mut a = NativeAccount::default();
        assert_eq!(a.set(NATIVE_LIMIT - 1, 5), Some(()));
        assert_eq!((a.balance(), a.taint()), (NATIVE_LIMIT - 1, 5));
        assert_eq!(a.set(NATIVE_LIMIT, 0), None, "beyond 96 bits: give up");
        assert_eq!(a.set_balance(1 << 70), Some(()));
        assert_eq!((a.balance(), a.taint()), (1 << 70, 5));
        assert_eq!(a.node(), None);
    }
}
