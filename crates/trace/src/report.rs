//! The follow-the-money report: addresses, endpoints (freeze candidates
//! first), top paths, spam and reconciling totals, with laundering pattern
//! tags. Serialised as the stable JSON schema documented in `docs/trace.md`;
//! amounts are decimal strings in base units, each asset's symbol and
//! decimals beside them; [`crate::text`] renders it for people.

use crate::arith::AddSaturating;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tripoint_chain::{
    AddrId, Address, Amount, AssetId, Category, Chain, TransferGraph, TransferId, NATIVE_ASSET,
};

pub use crate::assets::{AssetOut, TokenDirectory};
use crate::fxhash::{FxHashMap, FxHashSet};
use crate::patterns::{tag_patterns, Pattern, PatternRules};
use crate::taint::{Node, Role, TaintPolicy, Totals, TraceResult};

/// Options of the report (not of the trace itself).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The chain of the native asset (`ETH` or `BTC` as asset key).
    pub native: Chain,
    /// How many top paths to list.
    pub max_paths: usize,
    pub patterns: PatternRules,
    /// Start time the trace used, echoed in the report.
    pub from: Option<i64>,
    /// Symbols and decimals of tokens the store has no metadata for.
    pub tokens: TokenDirectory,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            native: Chain::Ethereum,
            max_paths: 20,
            patterns: PatternRules::default(),
            from: None,
            tokens: TokenDirectory::builtin(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LabelOut {
    pub label: String,
    pub category: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddressOut {
    pub address: String,
    /// Tainted amount received per asset (for seeds: taint they created).
    pub taint: BTreeMap<String, String>,
    /// Taint still held at the end of the data, per asset.
    pub held: BTreeMap<String, String>,
    pub hops: u32,
    /// RFC 3339 time of the first tainted transfer in or (seeds) out.
    pub first_tainted: Option<String>,
    pub role: Role,
    pub labels: Vec<LabelOut>,
    pub patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointOut {
    pub address: String,
    pub category: String,
    pub labels: Vec<LabelOut>,
    pub asset: String,
    pub symbol: String,
    pub decimals: Option<u8>,
    /// Tainted amount that arrived.
    pub amount: String,
    pub first_arrival: String,
    pub last_arrival: String,
    /// Whether (part of) it is still there at the end of the data; always
    /// false for mixers, bridges and DEXes (pooled or gone to another chain).
    pub held: bool,
    /// `min(amount, balance at the end of the data)`.
    pub held_amount: String,
    /// Exchange endpoint still holding tainted funds: ask for a freeze.
    pub freeze_candidate: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HopOut {
    pub from: String,
    pub to: String,
    pub tx: String,
    pub asset: String,
    pub symbol: String,
    pub decimals: Option<u8>,
    /// Tainted amount this transfer carried.
    pub amount: String,
    pub time: String,
    /// `transfer`: the transaction's own value or a token log; `internal`:
    /// ether the contract `from` moved by a call inside transaction `tx`
    /// (from traces), so the path passed through that contract.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathOut {
    pub endpoint: String,
    pub asset: String,
    pub symbol: String,
    pub decimals: Option<u8>,
    /// Tainted amount on the last hop into the endpoint.
    pub amount: String,
    pub hops: Vec<HopOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpamOut {
    pub tx: String,
    pub from: String,
    pub to: String,
    pub asset: String,
    pub symbol: String,
    pub decimals: Option<u8>,
    pub amount: String,
    pub reason: String,
}

/// One asset given or got in a swap.
#[derive(Debug, Clone, Serialize)]
pub struct SwapLegOut {
    pub asset: String,
    pub symbol: String,
    pub decimals: Option<u8>,
    /// The transfer's amount (base units).
    pub amount: String,
    /// The taint it carried (input) or received by the swap rule (output).
    pub taint: String,
}

/// A swap the trace crossed (the swap rule): in one transaction the trader
/// paid `input` to `counterparty` and got the `outputs` back.
#[derive(Debug, Clone, Serialize)]
pub struct SwapOut {
    pub tx: String,
    pub time: String,
    pub trader: String,
    pub counterparty: String,
    pub input: SwapLegOut,
    pub outputs: Vec<SwapLegOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsOut {
    pub symbol: String,
    pub decimals: Option<u8>,
    pub seeded: String,
    pub held: String,
    pub exited: String,
    pub unaccounted: String,
    pub dust: String,
    pub beyond_hops: String,
    pub spam: String,
    pub swapped_in: String,
    pub swapped_out: String,
    /// `seeded + swapped_in = held + exited + unaccounted + swapped_out` (always false for poison, which does not conserve).
    pub reconciles: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub policy: TaintPolicy,
    pub seeds: Vec<String>,
    pub from: Option<String>,
    pub addresses: Vec<AddressOut>,
    pub endpoints: Vec<EndpointOut>,
    pub paths: Vec<PathOut>,
    pub spam: Vec<SpamOut>,
    /// Swaps the taint crossed, in chain order (`patterns: dex-swap` on
    /// their traders).
    pub swaps: Vec<SwapOut>,
    pub totals: BTreeMap<String, TotalsOut>,
    /// Symbol and decimals of every asset key the report uses.
    pub assets: BTreeMap<String, AssetOut>,
}

impl Report {
    /// What is known of an asset key of this report.
    pub fn asset(&self, key: &str) -> Option<&AssetOut> {
        self.assets.get(key)
    }

    /// The table name of an asset key (see [`crate::assets::display_names`]).
    pub fn asset_label<'a>(&'a self, key: &'a str) -> &'a str {
        self.assets.get(key).map_or(key, |a| a.label.as_str())
    }

    /// A base-unit amount of this report in whole units, digits grouped
    /// (`90,375.5479`; see [`tripoint_chain::format_units`] for the rule);
    /// grouped base units when the asset's decimals are unknown.
    pub fn units(&self, key: &str, base_units: &str) -> String {
        let Ok(v) = Amount::from_str_radix(base_units, 10) else {
            return base_units.to_string();
        };
        match self.assets.get(key).and_then(|a| a.decimals) {
            Some(d) => tripoint_chain::format_units(v, d),
            None => tripoint_chain::format_base_units(v),
        }
    }

    /// [`Report::units`] followed by the asset's table name: `400,001 ETH`.
    pub fn amount(&self, key: &str, base_units: &str) -> String {
        format!("{} {}", self.units(key, base_units), self.asset_label(key))
    }
}

/// Asset key of reports: `ETH`/`BTC`, or the token contract address.
pub fn asset_key<G: TransferGraph>(g: &G, asset: AssetId, native: Chain) -> String {
    if asset == NATIVE_ASSET {
        return native.native_symbol().to_string();
    }
    match g.token(asset) {
        Some(t) => t.address.to_string(),
        None => format!("asset#{asset}"),
    }
}

/// RFC 3339 (UTC) of unix seconds, without a date library.
pub fn rfc3339(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn labels_out<G: TransferGraph>(g: &G, a: AddrId) -> Vec<LabelOut> {
    if !g.may_have_labels(a) {
        return Vec::new();
    }
    g.labels(a)
        .into_iter()
        .map(|l| LabelOut {
            label: l.label,
            category: l.category.to_string(),
            source: l.source,
        })
        .collect()
}

/// Final balance of `addr` in `asset` from all its transfers (floored at zero
/// after every payment, as in the engine).
pub fn final_balance<G: TransferGraph>(g: &G, addr: AddrId, asset: AssetId) -> Amount {
    let mut ins = g.incoming(addr).peekable();
    let mut outs = g.outgoing(addr).peekable();
    let mut b = Amount::ZERO;
    loop {
        let (id, incoming) = match (ins.peek().copied(), outs.peek().copied()) {
            (None, None) => break,
            (Some(i), Some(o)) if i <= o => (ins.next().expect("peeked"), true),
            (Some(_), None) => (ins.next().expect("peeked"), true),
            _ => (outs.next().expect("peeked"), false),
        };
        let r = g.transfer(id);
        if r.asset != asset || r.src == r.dst {
            continue;
        }
        if incoming {
            b.add_sat(r.amount);
        } else {
            b = b.saturating_sub(r.amount);
        }
    }
    b
}

/// No first tainted time (see [`AddressRows`]).
const NO_TIME: i64 = i64::MIN;

/// An address in the report's sort order: Ethereum addresses by their
/// bytes (their `0x` lower-case hex sorts the same way), others by text.
enum SortAddr {
    Eth([u8; 20]),
    Text(Box<str>),
}

impl SortAddr {
    fn of(a: Address) -> Self {
        match a {
            Address::Eth(b) => SortAddr::Eth(b),
            other => SortAddr::Text(other.to_string().into()),
        }
    }
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            SortAddr::Eth(b) => Address::Eth(*b).to_string().into(),
            SortAddr::Text(s) => (&**s).into(),
        }
    }
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        match (self, o) {
            (SortAddr::Eth(a), SortAddr::Eth(b)) => a.cmp(b),
            _ => self.text().cmp(&o.text()),
        }
    }
}

/// The report's `addresses`, made one at a time in report order (seeds
/// first, then by hop count and address) from the trace result, so that
/// a report is written as it is built ([`write_report_json`], the Parquet
/// trace export): a trace that reaches millions of addresses never holds
/// them all as [`AddressOut`]s (about 1.5 KiB each, with their amount
/// maps), only the order with each row's address (32 bytes a node) and
/// first tainted times (8).
pub struct AddressRows<'a, G: TransferGraph> {
    g: &'a G,
    r: &'a TraceResult,
    /// Hops, node index and address of each row, in report order.
    rows: Vec<(u32, u32, SortAddr)>,
    /// First tainted time (unix seconds) per node, [`NO_TIME`] for none.
    first: Vec<i64>,
    /// Report key per asset of any node's amounts.
    keys: FxHashMap<AssetId, String>,
    /// What the pattern tagger found ([`build_report`]); empty for
    /// outputs without patterns.
    patterns: FxHashMap<AddrId, BTreeSet<Pattern>>,
}

/// First tainted time (unix seconds) of each node of a trace, in node
/// order: a node's first flow in, or for a seed its first flow out. Made
/// apart from [`AddressRows`] so that a writer can free the flows
/// ([`TraceResult::release_flows_and_index`]) before the rows are made.
pub struct FirstTainted(Vec<i64>);

impl FirstTainted {
    /// The times of `r`'s nodes, reading each flow's row from `g` once.
    pub fn of<G: TransferGraph>(g: &G, r: &TraceResult) -> Self {
        Self::with_rows(r, |id| {
            let row = g.transfer(id);
            (row.src, row.dst, row.timestamp)
        })
    }

    /// `row(id)`: payer, payee and time of flow `id`.
    fn with_rows(r: &TraceResult, row: impl Fn(TransferId) -> (AddrId, AddrId, i64)) -> Self {
        let mut first = vec![NO_TIME; r.nodes.len()];
        for f in &r.flows {
            let (src, dst, ts) = row(f.id);
            if let Some(i) = r.node_of.get(dst) {
                if first[i as usize] == NO_TIME {
                    first[i as usize] = ts;
                }
            }
            if let Some(i) = r.node_of.get(src) {
                if r.nodes[i as usize].role == Role::Seed && first[i as usize] == NO_TIME {
                    first[i as usize] = ts;
                }
            }
        }
        FirstTainted(first)
    }
}

impl<'a, G: TransferGraph> AddressRows<'a, G> {
    /// The rows of `r`, without pattern tags (the Parquet trace export has
    /// no pattern column); reads each flow's row from `g` once.
    pub fn new(g: &'a G, r: &'a TraceResult, native: Chain) -> Self {
        Self::with_first(g, r, native, FirstTainted::of(g, r), FxHashMap::default())
    }

    /// The rows of `r` with its nodes' `first` times, which is all of the
    /// flows they need: `r`'s flows and index may have been released.
    pub fn with_first(
        g: &'a G,
        r: &'a TraceResult,
        native: Chain,
        first: FirstTainted,
        patterns: FxHashMap<AddrId, BTreeSet<Pattern>>,
    ) -> Self {
        let first = first.0;
        // Report order: seeds first, then by hop count, address and node
        // index; seeds are put first here, each part sorted by the rest.
        // Per row the node index, its hops and its address are kept (32
        // bytes a row), so rows are made without reading the address again.
        let is_seed = |n: &Node| n.role == Role::Seed;
        let rows_of = |seeds: bool| {
            r.nodes
                .iter()
                .enumerate()
                .filter(move |(_, n)| is_seed(n) == seeds)
                .map(|(i, n)| (n.hops, i as u32, SortAddr::Eth([0; 20])))
        };
        let mut rows: Vec<(u32, u32, SortAddr)> = Vec::with_capacity(r.nodes.len());
        rows.extend(rows_of(true));
        let seeds = rows.len();
        rows.extend(rows_of(false));
        // Addresses decoded in id order: the dictionary is laid out by id,
        // so the reads are nearly sequential and the store unmaps the
        // pages behind them (in node order they map the whole dictionary,
        // 5.4 GB at 5×10^8 transfers, and keep it mapped).
        let mut by_id: Vec<(AddrId, u32)> = rows
            .iter()
            .enumerate()
            .map(|(k, row)| (r.nodes[row.1 as usize].addr, k as u32))
            .collect();
        by_id.sort_unstable();
        for (a, k) in by_id {
            rows[k as usize].2 = SortAddr::of(g.address(a));
        }
        let by_rest = |a: &(u32, u32, SortAddr), b: &(u32, u32, SortAddr)| {
            a.0.cmp(&b.0)
                .then_with(|| a.2.cmp(&b.2))
                .then(a.1.cmp(&b.1))
        };
        rows[..seeds].sort_unstable_by(by_rest);
        rows[seeds..].sort_unstable_by(by_rest);
        let mut keys = FxHashMap::default();
        for (_, asset, _) in r.received.iter().chain(r.held.iter()) {
            keys.entry(asset)
                .or_insert_with(|| asset_key(g, asset, native));
        }
        AddressRows {
            g,
            r,
            rows,
            first,
            keys,
            patterns,
        }
    }

    /// Number of rows (the trace's nodes).
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Assets of any row's `taint` or `held`.
    pub fn assets(&self) -> impl Iterator<Item = AssetId> + '_ {
        self.keys.keys().copied()
    }

    /// Row `k` in report order (`k < len()`).
    pub fn get(&self, k: usize) -> AddressOut {
        let (g, r) = (self.g, self.r);
        let (_, i, address) = &self.rows[k];
        let i = *i as usize;
        let n = &r.nodes[i];
        let amounts = |v: crate::taint::AmountsOf<'_>| -> BTreeMap<String, String> {
            v.map(|(a, x)| (self.keys[&a].clone(), x.to_string()))
                .collect()
        };
        AddressOut {
            address: address.text().into_owned(),
            taint: amounts(r.received.of_node(i)),
            held: amounts(r.held.of_node(i)),
            hops: n.hops,
            first_tainted: (self.first[i] != NO_TIME).then(|| rfc3339(self.first[i])),
            role: n.role,
            labels: labels_out(g, n.addr),
            patterns: self
                .patterns
                .get(&n.addr)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// Every row, in report order.
    pub fn iter(&self) -> impl Iterator<Item = AddressOut> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }
}

/// The report's `seeds`: seed addresses in the trace's node order.
pub fn report_seeds<G: TransferGraph>(g: &G, r: &TraceResult) -> Vec<String> {
    r.nodes
        .iter()
        .filter(|n| n.role == Role::Seed)
        .map(|n| g.address(n.addr).to_string())
        .collect()
}

/// The report's `totals`: per asset key, the books of the trace.
pub fn report_totals<G: TransferGraph>(
    g: &G,
    r: &TraceResult,
    opts: &ReportOptions,
) -> BTreeMap<String, TotalsOut> {
    r.totals
        .iter()
        .map(|(&asset, t)| {
            (
                asset_key(g, asset, opts.native),
                totals_out(
                    t,
                    r.policy,
                    asset_meta(g, asset, opts.native, &opts.tokens, false),
                ),
            )
        })
        .collect()
}

/// Everything of a report, its addresses as [`AddressRows`].
struct Parts<'a, G: TransferGraph> {
    seeds: Vec<String>,
    addresses: AddressRows<'a, G>,
    endpoints: Vec<EndpointOut>,
    paths: Vec<PathOut>,
    spam: Vec<SpamOut>,
    swaps: Vec<SwapOut>,
    totals: BTreeMap<String, TotalsOut>,
    assets: BTreeMap<String, AssetOut>,
}

/// Build the report of a finished trace.
pub fn build_report<G: TransferGraph>(g: &G, r: &TraceResult, opts: &ReportOptions) -> Report {
    let p = report_parts(g, r, opts);
    Report {
        policy: r.policy,
        seeds: p.seeds,
        from: opts.from.map(rfc3339),
        addresses: p.addresses.iter().collect(),
        endpoints: p.endpoints,
        paths: p.paths,
        spam: p.spam,
        swaps: p.swaps,
        totals: p.totals,
        assets: p.assets,
    }
}

/// The report that [`crate::text::summary`] prints, made without what the
/// summary does not show: its `addresses` are the seeds' rows only
/// (without pattern tags), and it has no `paths`, `spam` or `swaps`; the
/// seeds, endpoints, totals and assets (every asset the full report names,
/// so that display names are the same) are those of [`build_report`].
/// The flows are read once, in chain order, and nothing is kept per flow
/// or per node: [`build_report`] holds every flow's transfer row (~100
/// bytes a flow) and every address row, too much for a trace that reaches
/// tens of millions of addresses.
pub fn build_summary_report<G: TransferGraph>(
    g: &G,
    r: &TraceResult,
    opts: &ReportOptions,
) -> Report {
    let used: RefCell<BTreeSet<AssetId>> = RefCell::default();
    let key = |asset: AssetId| {
        used.borrow_mut().insert(asset);
        asset_key(g, asset, opts.native)
    };
    // The rows of the spam hits and swap legs, read in ascending order
    // (the store then unmaps the pages behind the reads; a swap's legs
    // out of order kept 1.5 GB of store pages mapped at 5×10^8
    // transfers): the assets the full report's spam and swap lists name,
    // and those of whole spam tokens.
    let mut ids: Vec<TransferId> = r.spam.iter().map(|s| s.id).collect();
    for s in &r.swaps {
        ids.push(s.input);
        ids.extend(s.outputs.iter().map(|o| o.0));
    }
    ids.sort_unstable();
    ids.dedup();
    let asset_of: FxHashMap<TransferId, AssetId> =
        ids.iter().map(|&id| (id, g.transfer(id).asset)).collect();
    drop(ids);
    let spam_assets: FxHashSet<AssetId> = r
        .spam
        .iter()
        .filter(|s| s.reason.marks_the_token())
        .map(|s| asset_of[&s.id])
        .collect();
    let meta = |asset: AssetId| {
        asset_meta(
            g,
            asset,
            opts.native,
            &opts.tokens,
            spam_assets.contains(&asset),
        )
    };
    // One pass over the flows: arrivals at endpoints, the seeds' first
    // tainted times (first flow in, else first flow out, as in
    // [`AddressRows`]) and the assets of the flows (the full report's
    // paths and endpoints name only those).
    let swapped_inputs: FxHashSet<TransferId> = r.swaps.iter().map(|s| s.input).collect();
    let mut arrivals = Arrivals::new();
    let mut seed_first: FxHashMap<usize, i64> = FxHashMap::default();
    let mut flow_assets: Vec<bool> = Vec::new();
    for f in &r.flows {
        let row = g.transfer(f.id);
        note_arrival(&mut arrivals, r, &swapped_inputs, f.id, f.carried, &row);
        for a in [row.dst, row.src] {
            if let Some(i) = r.node_of.get(a) {
                if r.nodes[i as usize].role == Role::Seed {
                    seed_first.entry(i as usize).or_insert(row.timestamp);
                }
            }
        }
        let asset = row.asset as usize;
        if flow_assets.len() <= asset {
            flow_assets.resize(asset + 1, false);
        }
        flow_assets[asset] = true;
    }
    for (asset, _) in flow_assets.iter().enumerate().filter(|e| *e.1) {
        used.borrow_mut().insert(asset as AssetId);
    }
    let endpoints = endpoints_of(g, r, &arrivals, &key, &meta);
    // The assets the full report's other parts name.
    for (_, asset, _) in r.received.iter().chain(r.held.iter()) {
        used.borrow_mut().insert(asset);
    }
    used.borrow_mut().extend(asset_of.values().copied());
    let totals = r
        .totals
        .iter()
        .map(|(&asset, t)| (key(asset), totals_out(t, r.policy, meta(asset))))
        .collect();
    // The seeds' rows, in report order (by hops, address, node index).
    let mut seeds: Vec<(u32, u32, SortAddr)> = r
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.role == Role::Seed)
        .map(|(i, n)| (n.hops, i as u32, SortAddr::of(g.address(n.addr))))
        .collect();
    seeds.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.2.cmp(&b.2))
            .then(a.1.cmp(&b.1))
    });
    let amounts = |v: crate::taint::AmountsOf<'_>| -> BTreeMap<String, String> {
        v.map(|(a, x)| (asset_key(g, a, opts.native), x.to_string()))
            .collect()
    };
    let addresses = seeds
        .iter()
        .map(|(_, i, address)| {
            let i = *i as usize;
            let n = &r.nodes[i];
            AddressOut {
                address: address.text().into_owned(),
                taint: amounts(r.received.of_node(i)),
                held: amounts(r.held.of_node(i)),
                hops: n.hops,
                first_tainted: seed_first.get(&i).map(|&t| rfc3339(t)),
                role: n.role,
                labels: labels_out(g, n.addr),
                patterns: Vec::new(),
            }
        })
        .collect();
    let assets = assets_out(g, used.take(), opts.native, &meta);
    Report {
        policy: r.policy,
        seeds: report_seeds(g, r),
        from: opts.from.map(rfc3339),
        addresses,
        endpoints,
        paths: Vec::new(),
        spam: Vec::new(),
        swaps: Vec::new(),
        totals,
        assets,
    }
}

/// The report of a finished trace, serialised as it is built: it
/// serialises exactly as [`build_report`]'s [`Report`] does, but each
/// address row is made, serialised and dropped in turn (see
/// [`AddressRows`]). `serde_json::to_writer_pretty(out, &report_stream(…))`
/// writes the same bytes as `to_string_pretty(&build_report(…))`.
pub fn report_stream<'a, G: TransferGraph>(
    g: &'a G,
    r: &'a TraceResult,
    opts: &ReportOptions,
) -> ReportStream<'a, G> {
    ReportStream {
        policy: r.policy,
        from: opts.from.map(rfc3339),
        parts: report_parts(g, r, opts),
    }
}

/// See [`report_stream`].
pub struct ReportStream<'a, G: TransferGraph> {
    policy: TaintPolicy,
    from: Option<String>,
    parts: Parts<'a, G>,
}

impl<G: TransferGraph> Serialize for ReportStream<'_, G> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// [`Report`]'s fields in its order, `addresses` streamed.
        #[derive(Serialize)]
        struct View<'r, A: Serialize> {
            policy: TaintPolicy,
            seeds: &'r [String],
            from: &'r Option<String>,
            addresses: A,
            endpoints: &'r [EndpointOut],
            paths: &'r [PathOut],
            spam: &'r [SpamOut],
            swaps: &'r [SwapOut],
            totals: &'r BTreeMap<String, TotalsOut>,
            assets: &'r BTreeMap<String, AssetOut>,
        }
        struct Rows<'r, 'a, G: TransferGraph>(&'r AddressRows<'a, G>);
        impl<G: TransferGraph> Serialize for Rows<'_, '_, G> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter())
            }
        }
        let p = &self.parts;
        View {
            policy: self.policy,
            seeds: &p.seeds,
            from: &self.from,
            addresses: Rows(&p.addresses),
            endpoints: &p.endpoints,
            paths: &p.paths,
            spam: &p.spam,
            swaps: &p.swaps,
            totals: &p.totals,
            assets: &p.assets,
        }
        .serialize(s)
    }
}

fn report_parts<'a, G: TransferGraph>(
    g: &'a G,
    r: &'a TraceResult,
    opts: &ReportOptions,
) -> Parts<'a, G> {
    // Every asset a row names, for the report's `assets` table.
    let used: RefCell<BTreeSet<AssetId>> = RefCell::default();
    let key = |asset: AssetId| {
        used.borrow_mut().insert(asset);
        asset_key(g, asset, opts.native)
    };
    let spam_assets = spam_assets(g, r);
    let meta = |asset: AssetId| {
        asset_meta(
            g,
            asset,
            opts.native,
            &opts.tokens,
            spam_assets.contains(&asset),
        )
    };
    let rows: FxHashMap<TransferId, tripoint_chain::TransferRow> =
        r.flows.iter().map(|f| (f.id, g.transfer(f.id))).collect();
    let patterns = tag_patterns(g, r, &rows, &opts.patterns);

    let first = FirstTainted::with_rows(r, |id| {
        let row = &rows[&id];
        (row.src, row.dst, row.timestamp)
    });
    let addresses = AddressRows::with_first(g, r, opts.native, first, patterns);
    used.borrow_mut().extend(addresses.assets());
    let seeds = report_seeds(g, r);

    // Endpoints: taint that arrived at terminal addresses (and DEX deposits
    // that did not come back), per (address, asset).
    let swapped_inputs: FxHashSet<TransferId> = r.swaps.iter().map(|s| s.input).collect();
    let mut arrivals = Arrivals::new();
    let mut into: FxHashMap<AddrId, Vec<(TransferId, Amount, AssetId)>> = FxHashMap::default();
    for f in &r.flows {
        let row = &rows[&f.id];
        into.entry(row.dst)
            .or_default()
            .push((f.id, f.carried, row.asset));
        note_arrival(&mut arrivals, r, &swapped_inputs, f.id, f.carried, row);
    }
    let endpoints = endpoints_of(g, r, &arrivals, &key, &meta);

    // Top paths: from the largest arrival at each endpoint, walk back along
    // the largest earlier tainted transfer into each address until a seed.
    let mut best_arrival: Vec<(Amount, TransferId)> = Vec::new();
    for &(addr, asset) in arrivals.keys() {
        if let Some(&(id, c, _)) = into
            .get(&addr)
            .into_iter()
            .flatten()
            .filter(|(_, _, a)| *a == asset)
            .max_by_key(|(id, c, _)| (*c, std::cmp::Reverse(*id)))
        {
            best_arrival.push((c, id));
        }
    }
    best_arrival.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let hop = |id: TransferId, c: Amount| {
        let row = &rows[&id];
        HopOut {
            from: g.address(row.src).to_string(),
            to: g.address(row.dst).to_string(),
            tx: g.tx_hash(id).to_string(),
            asset: key(row.asset),
            symbol: meta(row.asset).symbol,
            decimals: meta(row.asset).decimals,
            amount: c.to_string(),
            time: rfc3339(row.timestamp),
            kind: if tripoint_chain::Position::internal_of(row.sub_index).is_some() {
                "internal"
            } else {
                "transfer"
            },
        }
    };
    let paths = best_arrival
        .iter()
        .take(opts.max_paths)
        .map(|&(c, id)| {
            let last = &rows[&id];
            let mut hops = vec![hop(id, c)];
            let mut cur = id;
            let mut asset = last.asset;
            let mut visited = BTreeSet::new();
            while hops.len() < 256 {
                let src = rows[&cur].src;
                if r.node(src).is_none_or(|n| n.role == Role::Seed) || !visited.insert(src) {
                    break;
                }
                let cands = into.get(&src).map(Vec::as_slice).unwrap_or(&[]);
                let pick = cands
                    .iter()
                    .filter(|(i, _, a)| *i < cur && *a == asset)
                    .max_by_key(|(i, c, _)| (*c, std::cmp::Reverse(*i)))
                    .or_else(|| {
                        cands
                            .iter()
                            .filter(|(i, _, _)| *i < cur)
                            .max_by_key(|(i, c, _)| (*c, std::cmp::Reverse(*i)))
                    });
                let Some(&(pid, pc, pa)) = pick else { break };
                hops.push(hop(pid, pc));
                cur = pid;
                asset = pa;
            }
            hops.reverse();
            PathOut {
                endpoint: g.address(last.dst).to_string(),
                asset: key(last.asset),
                symbol: meta(last.asset).symbol,
                decimals: meta(last.asset).decimals,
                amount: c.to_string(),
                hops,
            }
        })
        .collect();

    let spam = r
        .spam
        .iter()
        .map(|s| {
            let row = g.transfer(s.id);
            SpamOut {
                tx: g.tx_hash(s.id).to_string(),
                from: g.address(row.src).to_string(),
                to: g.address(row.dst).to_string(),
                asset: key(row.asset),
                symbol: meta(row.asset).symbol,
                decimals: meta(row.asset).decimals,
                amount: row.amount.to_string(),
                reason: s.reason.as_str().to_string(),
            }
        })
        .collect();

    let leg = |id: TransferId, taint: Amount| {
        let row = g.transfer(id);
        SwapLegOut {
            asset: key(row.asset),
            symbol: meta(row.asset).symbol,
            decimals: meta(row.asset).decimals,
            amount: row.amount.to_string(),
            taint: taint.to_string(),
        }
    };
    let swaps = r
        .swaps
        .iter()
        .map(|s| {
            let row = g.transfer(s.input);
            SwapOut {
                tx: g.tx_hash(s.input).to_string(),
                time: rfc3339(row.timestamp),
                trader: g.address(s.trader).to_string(),
                counterparty: g.address(row.dst).to_string(),
                input: leg(s.input, s.input_taint),
                outputs: s.outputs.iter().map(|&(id, c)| leg(id, c)).collect(),
            }
        })
        .collect();

    let totals = r
        .totals
        .iter()
        .map(|(&asset, t)| (key(asset), totals_out(t, r.policy, meta(asset))))
        .collect();
    let assets = assets_out(g, used.take(), opts.native, &meta);

    Parts {
        seeds,
        addresses,
        endpoints,
        paths,
        spam,
        swaps,
        totals,
        assets,
    }
}

/// The report's asset table: every asset it names, by report key, with
/// display names made unique.
fn assets_out<G: TransferGraph>(
    g: &G,
    used: BTreeSet<AssetId>,
    native: Chain,
    meta: &dyn Fn(AssetId) -> AssetOut,
) -> BTreeMap<String, AssetOut> {
    let mut assets: BTreeMap<String, AssetOut> = used
        .into_iter()
        .map(|a| (asset_key(g, a, native), meta(a)))
        .collect();
    crate::assets::display_names(&mut assets);
    assets
}

/// Tainted arrivals per (endpoint address, asset): amount, first and last
/// time.
type Arrivals = BTreeMap<(AddrId, AssetId), (Amount, i64, i64)>;

/// Assets of the spam hits that mark a whole token as spam.
fn spam_assets<G: TransferGraph>(g: &G, r: &TraceResult) -> FxHashSet<AssetId> {
    r.spam
        .iter()
        .filter(|s| s.reason.marks_the_token())
        .map(|s| g.transfer(s.id).asset)
        .collect()
}

/// Book flow `id` (carrying `carried`, transfer `row`) if it arrives at an
/// endpoint: a terminal, or a DEX it was not swapped through.
fn note_arrival(
    arrivals: &mut Arrivals,
    r: &TraceResult,
    swapped_inputs: &FxHashSet<TransferId>,
    id: TransferId,
    carried: Amount,
    row: &tripoint_chain::TransferRow,
) {
    let Some(n) = r.node(row.dst) else { return };
    let is_end = n.role == Role::Endpoint || (n.role == Role::Dex && !swapped_inputs.contains(&id));
    if is_end {
        let e = arrivals.entry((row.dst, row.asset)).or_insert((
            Amount::ZERO,
            row.timestamp,
            row.timestamp,
        ));
        e.0.add_sat(carried);
        e.2 = row.timestamp;
    }
}

/// The report's endpoints from the arrivals, freeze candidates first, then
/// by amount and address; `key` and `meta` give an asset's report key and
/// symbol and decimals.
fn endpoints_of<G: TransferGraph>(
    g: &G,
    r: &TraceResult,
    arrivals: &Arrivals,
    key: &dyn Fn(AssetId) -> String,
    meta: &dyn Fn(AssetId) -> AssetOut,
) -> Vec<EndpointOut> {
    let mut endpoints: Vec<(Amount, EndpointOut)> = arrivals
        .iter()
        .map(|(&(addr, asset), &(amount, t0, t1))| {
            let n = r.node(addr).expect("endpoint node");
            let category = n
                .category
                .as_deref()
                .cloned()
                .unwrap_or(Category::Other("unknown".into()));
            // Funds in a mixer pool or gone over a bridge are beyond reach:
            // only custodial endpoints (exchanges, sanctioned wallets…) hold.
            let custodial = !matches!(category, Category::Mixer | Category::Bridge | Category::Dex);
            let held_amount = if custodial {
                final_balance(g, addr, asset).min(amount)
            } else {
                Amount::ZERO
            };
            let held = held_amount > Amount::ZERO;
            (
                amount,
                EndpointOut {
                    address: g.address(addr).to_string(),
                    category: category.to_string(),
                    labels: labels_out(g, addr),
                    asset: key(asset),
                    symbol: meta(asset).symbol,
                    decimals: meta(asset).decimals,
                    amount: amount.to_string(),
                    first_arrival: rfc3339(t0),
                    last_arrival: rfc3339(t1),
                    held,
                    held_amount: held_amount.to_string(),
                    freeze_candidate: held && category == Category::Exchange,
                },
            )
        })
        .collect();
    endpoints.sort_by(|a, b| {
        (!a.1.freeze_candidate, std::cmp::Reverse(a.0), &a.1.address).cmp(&(
            !b.1.freeze_candidate,
            std::cmp::Reverse(b.0),
            &b.1.address,
        ))
    });

    endpoints.into_iter().map(|e| e.1).collect()
}

/// An asset's report key, symbol and decimals (see [`asset_meta`]), for
/// outputs other than the trace report (screening).
pub fn asset_info<G: TransferGraph>(
    g: &G,
    asset: AssetId,
    native: Chain,
    tokens: &TokenDirectory,
) -> (String, String, Option<u8>) {
    let m = asset_meta(g, asset, native, tokens, false);
    (asset_key(g, asset, native), m.symbol, m.decimals)
}

/// Symbol and decimals of an asset: the store's token metadata first, then
/// the directory (built-in well-known tokens, Etherscan symbols).
fn asset_meta<G: TransferGraph>(
    g: &G,
    asset: AssetId,
    native: Chain,
    tokens: &TokenDirectory,
    spam: bool,
) -> AssetOut {
    let (mut symbol, mut decimals) = if asset == NATIVE_ASSET {
        (
            native.native_symbol().to_string(),
            Some(native.native_decimals()),
        )
    } else {
        (String::new(), None)
    };
    if let Some(t) = g.token(asset) {
        symbol = t.symbol.trim().to_string();
        decimals = t.decimals;
        if let Some((s, d)) = tokens.get(&t.address) {
            if symbol.is_empty() {
                symbol = s.clone();
            }
            decimals = decimals.or(*d);
        }
    }
    AssetOut {
        symbol,
        decimals,
        spam,
        label: String::new(),
    }
}

fn totals_out(t: &Totals, policy: TaintPolicy, asset: AssetOut) -> TotalsOut {
    TotalsOut {
        symbol: asset.symbol,
        decimals: asset.decimals,
        seeded: t.seeded.to_string(),
        held: t.held.to_string(),
        exited: t.exited.to_string(),
        unaccounted: t.unaccounted().to_string(),
        dust: t.dust.to_string(),
        beyond_hops: t.beyond_hops.to_string(),
        spam: t.spam.to_string(),
        swapped_in: t.swapped_in.to_string(),
        swapped_out: t.swapped_out.to_string(),
        reconciles: policy != TaintPolicy::Poison && t.reconciles(),
    }
}

/// Graphviz rendering: reached addresses as nodes, tainted transfers
/// aggregated per (from, to, asset) as edges.
pub fn to_dot(report: &Report, g_edges: &[(String, String, String, String)]) -> String {
    let mut s =
        String::from("digraph trace {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n");
    for a in &report.addresses {
        let shape = match a.role {
            Role::Seed => "doubleoctagon",
            Role::Endpoint => "house",
            Role::Dex => "diamond",
            Role::Walked => "box",
        };
        let label = a
            .labels
            .first()
            .map(|l| format!("\\n{}", l.label.replace('"', "'")))
            .unwrap_or_default();
        s.push_str(&format!(
            "  \"{}\" [shape={shape}, label=\"{}{label}\"];\n",
            a.address, a.address
        ));
    }
    for (from, to, asset, amount) in g_edges {
        // Edge labels are for people: whole units and the asset's name.
        let label = report.amount(asset, amount).replace('"', "'");
        s.push_str(&format!("  \"{from}\" -> \"{to}\" [label=\"{label}\"];\n"));
    }
    s.push_str("}\n");
    s
}

/// Tainted transfers aggregated per (from, to, asset), for [`to_dot`].
pub fn flow_edges<G: TransferGraph>(
    g: &G,
    r: &TraceResult,
    native: Chain,
) -> Vec<(String, String, String, String)> {
    let mut agg: BTreeMap<(AddrId, AddrId, AssetId), Amount> = BTreeMap::new();
    for f in &r.flows {
        let row = g.transfer(f.id);
        agg.entry((row.src, row.dst, row.asset))
            .or_default()
            .add_sat(f.carried);
    }
    agg.into_iter()
        .map(|((s, d, a), v)| {
            (
                g.address(s).to_string(),
                g.address(d).to_string(),
                asset_key(g, a, native),
                v.to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_648_512_000), "2022-03-29T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
