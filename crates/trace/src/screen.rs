//! Screening: is an address sanctioned or DPRK-attributed (direct hit), and
//! how much of what it received came from such sources within N hops
//! (indirect exposure)?
//!
//! Direct hits are hash lookups in a [`ScreenIndex`] built once from labels,
//! so batch screening of millions of addresses costs one lookup each.
//!
//! Exposure of address `a` within `k` hops, per asset, is value-weighted:
//! `E_k(a) = Σ_{t into a} amount(t) · R_{k-1}(src(t)) / Σ_{t into a} amount(t)`
//! with `R_j(s) = 1` if `s` is a risky source, else `E_j(s)` for `j ≥ 1`
//! and `0` for `j = 0`. Exchanges (and other non-risky labelled services
//! listed in [`ExposureRules::opaque`]) pass no exposure on: their pooled
//! funds would otherwise make every customer "exposed". Shares are ratios
//! (floats are fine here: no amount is stored as one).

use crate::arith::AddSaturating;
use serde::Serialize;
use tripoint_chain::{AddrId, Address, Amount, AssetId, Category, Label, TransferGraph};

use crate::fxhash::FxHashMap;

/// Categories that are a direct hit.
pub fn is_risky(c: &Category) -> bool {
    matches!(c, Category::Sanctioned | Category::DprkAttributed)
}

/// Labels by address, for direct-hit lookups.
#[derive(Debug, Default, Clone)]
pub struct ScreenIndex {
    by_eth: FxHashMap<[u8; 20], Vec<Label>>,
    other: FxHashMap<Address, Vec<Label>>,
}

impl ScreenIndex {
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a Label>) -> Self {
        let mut ix = ScreenIndex::default();
        for l in labels {
            match &l.address {
                Address::Eth(b) => ix.by_eth.entry(*b).or_default().push(l.clone()),
                a => ix.other.entry(a.clone()).or_default().push(l.clone()),
            }
        }
        ix
    }

    /// All labels of an address (empty slice if none).
    #[inline]
    pub fn labels(&self, a: &Address) -> &[Label] {
        let v = match a {
            Address::Eth(b) => self.by_eth.get(b),
            a => self.other.get(a),
        };
        v.map(Vec::as_slice).unwrap_or(&[])
    }

    /// Is the address a direct hit?
    #[inline]
    pub fn is_hit(&self, a: &Address) -> bool {
        self.labels(a).iter().any(|l| is_risky(&l.category))
    }

    pub fn len(&self) -> usize {
        self.by_eth.len() + self.other.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    pub label: String,
    pub category: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssetExposure {
    /// Share (0..1) of received value tainted from risky sources within `hops`.
    pub share: f64,
    pub symbol: String,
    pub decimals: Option<u8>,
    /// Received value, base units.
    pub received: String,
    /// Received directly from risky sources, base units (exact).
    pub direct_from_risky: String,
}

/// The screening verdict for one address.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub address: String,
    /// `true` when a label of a risky category (sanctioned, dprk-attributed) is on it.
    pub direct_hit: bool,
    /// Risky labels (label, category, source).
    pub hits: Vec<Hit>,
    /// Other labels, for context.
    pub labels: Vec<Hit>,
    /// Present when exposure was computed (address in the store and hops > 0): per asset key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<std::collections::BTreeMap<String, AssetExposure>>,
    /// Highest share over assets (0 if none).
    pub max_exposure: f64,
    pub in_store: bool,
}

/// Direct-hit verdict.
pub fn direct(ix: &ScreenIndex, a: &Address) -> Verdict {
    let mut hits = Vec::new();
    let mut labels = Vec::new();
    for l in ix.labels(a) {
        let h = Hit {
            label: l.label.clone(),
            category: l.category.to_string(),
            source: l.source.clone(),
        };
        if is_risky(&l.category) {
            hits.push(h);
        } else {
            labels.push(h);
        }
    }
    Verdict {
        address: a.to_string(),
        direct_hit: !hits.is_empty(),
        hits,
        labels,
        exposure: None,
        max_exposure: 0.0,
        in_store: false,
    }
}

#[derive(Debug, Clone)]
pub struct ExposureRules {
    pub hops: u32,
    /// Sources that pass no exposure on (pooled services).
    pub opaque: Vec<Category>,
}

impl Default for ExposureRules {
    fn default() -> Self {
        ExposureRules {
            hops: 2,
            opaque: vec![Category::Exchange, Category::Dex, Category::Bridge],
        }
    }
}

/// Exposure computation with memoisation across many screened addresses.
pub struct Exposure<'a, G: TransferGraph> {
    g: &'a G,
    ix: &'a ScreenIndex,
    rules: ExposureRules,
    memo: FxHashMap<(AddrId, u32), FxHashMap<AssetId, f64>>,
    risky: FxHashMap<AddrId, (bool, bool)>,
}

impl<'a, G: TransferGraph> Exposure<'a, G> {
    pub fn new(g: &'a G, ix: &'a ScreenIndex, rules: ExposureRules) -> Self {
        Exposure {
            g,
            ix,
            rules,
            memo: FxHashMap::default(),
            risky: FxHashMap::default(),
        }
    }

    /// (risky, opaque) of an address, from the index and the graph's labels.
    fn kind(&mut self, a: AddrId) -> (bool, bool) {
        if let Some(&k) = self.risky.get(&a) {
            return k;
        }
        let addr = self.g.address(a);
        let mut labels: Vec<Label> = self.ix.labels(&addr).to_vec();
        labels.extend(self.g.labels(a));
        let risky = labels.iter().any(|l| is_risky(&l.category));
        let opaque = labels
            .iter()
            .any(|l| self.rules.opaque.contains(&l.category));
        self.risky.insert(a, (risky, opaque));
        (risky, opaque)
    }

    fn shares(&mut self, a: AddrId, k: u32) -> FxHashMap<AssetId, f64> {
        if k == 0 {
            return FxHashMap::default();
        }
        if let Some(m) = self.memo.get(&(a, k)) {
            return m.clone();
        }
        // Break cycles: while computing, the address counts as unexposed.
        self.memo.insert((a, k), FxHashMap::default());
        let g = self.g;
        let mut total: FxHashMap<AssetId, f64> = FxHashMap::default();
        let mut risky: FxHashMap<AssetId, f64> = FxHashMap::default();
        let incoming: Vec<_> = g.incoming(a).map(|id| g.transfer(id)).collect();
        for r in incoming {
            if r.amount == Amount::ZERO || r.src == a {
                continue;
            }
            let v = r.amount.as_f64();
            *total.entry(r.asset).or_default() += v;
            let (is_risky, opaque) = self.kind(r.src);
            let share = if is_risky {
                1.0
            } else if opaque || k == 1 {
                0.0
            } else {
                self.shares(r.src, k - 1)
                    .get(&r.asset)
                    .copied()
                    .unwrap_or(0.0)
            };
            *risky.entry(r.asset).or_default() += v * share;
        }
        let out: FxHashMap<AssetId, f64> = total
            .into_iter()
            .map(|(asset, t)| {
                let s = risky.get(&asset).copied().unwrap_or(0.0);
                (asset, if t > 0.0 { (s / t).min(1.0) } else { 0.0 })
            })
            .collect();
        self.memo.insert((a, k), out.clone());
        out
    }

    /// Full verdict: direct hit plus exposure within `rules.hops`.
    /// `asset` names an asset: (report key, symbol, decimals), as
    /// [`crate::report::asset_info`] does.
    pub fn verdict(
        &mut self,
        a: &Address,
        asset: impl Fn(AssetId) -> (String, String, Option<u8>),
    ) -> Verdict {
        let mut v = direct(self.ix, a);
        let Some(id) = self.g.lookup(a) else {
            return v;
        };
        v.in_store = true;
        for l in self.g.labels(id) {
            let h = Hit {
                label: l.label.clone(),
                category: l.category.to_string(),
                source: l.source.clone(),
            };
            let list = if is_risky(&l.category) {
                &mut v.hits
            } else {
                &mut v.labels
            };
            if !list.contains(&h) {
                list.push(h);
            }
        }
        v.direct_hit = !v.hits.is_empty();
        if self.rules.hops == 0 {
            return v;
        }
        let shares = self.shares(id, self.rules.hops);
        let g = self.g;
        let mut received: FxHashMap<AssetId, (Amount, Amount)> = FxHashMap::default();
        let incoming: Vec<_> = g.incoming(id).map(|t| g.transfer(t)).collect();
        for r in incoming {
            if r.src == id {
                continue;
            }
            let e = received.entry(r.asset).or_default();
            e.0.add_sat(r.amount);
            if self.kind(r.src).0 {
                e.1.add_sat(r.amount);
            }
        }
        let mut map = std::collections::BTreeMap::new();
        for (asset_id, (total, direct)) in received {
            let share = shares.get(&asset_id).copied().unwrap_or(0.0);
            v.max_exposure = v.max_exposure.max(share);
            let (key, symbol, decimals) = asset(asset_id);
            map.insert(
                key,
                AssetExposure {
                    symbol,
                    decimals,
                    share,
                    received: total.to_string(),
                    direct_from_risky: direct.to_string(),
                },
            );
        }
        v.exposure = Some(map);
        v
    }
}
