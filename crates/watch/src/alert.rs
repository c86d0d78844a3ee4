//! Alerts: what a case's new taint flows mean for an investigator, derived
//! from a [`LiveTrace`] step with no I/O.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tripoint_chain::{AddrId, Amount, AssetId, Category, Chain, Label, TransferGraph};
use tripoint_trace::report::{asset_key, rfc3339};
use tripoint_trace::{Advanced, LiveTrace, Role, TaintPolicy};

/// The label of a service that tainted value reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub label: String,
    pub category: String,
    pub actor: Option<String>,
    pub jurisdictions: Vec<String>,
    pub source: String,
    pub confidence: Option<String>,
}

/// One alert, as printed on stdout and POSTed to webhooks (the field names
/// are an interface: docs/watch.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable: the same case, transfer and kind always give the same id.
    pub alert_id: String,
    pub case_id: String,
    /// `service`, `new_hop` or `large_movement`.
    pub kind: String,
    pub chain: String,
    pub block: u64,
    /// RFC 3339 UTC time of the block.
    pub time: String,
    pub tx_hash: String,
    pub from: String,
    pub to: String,
    /// `ETH`, or the token contract.
    pub asset: String,
    pub symbol: String,
    /// The transfer's amount, base units.
    pub amount: String,
    /// The tainted part of it under the case's policy, base units.
    pub taint: String,
    /// `taint / amount` (0..1; 6 decimals).
    pub taint_share: f64,
    /// Hops from the nearest seed.
    pub hops: u32,
    pub policy: String,
    /// For `service` alerts: the label of the service reached.
    pub service: Option<Service>,
    /// `US`, `JP` or `KR`: the partner whose jurisdiction reaches the
    /// service (from the actor's jurisdictions), who can ask it to freeze.
    pub partner_with_jurisdiction: Option<String>,
}

/// Categories whose arrival raises a `service` alert: where funds can be
/// frozen or are about to vanish.
pub fn is_service(c: &Category) -> bool {
    match c {
        Category::Exchange | Category::Bridge | Category::Mixer | Category::Sanctioned => true,
        Category::Other(s) => s == "instant-exchanger",
        _ => false,
    }
}

/// The trilateral partners, in the order a jurisdiction is picked.
pub const PARTNERS: [&str; 3] = ["US", "JP", "KR"];

/// When a movement is worth an alert.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A transfer carrying at least this share (per mille) of the case's
    /// seeded taint in its asset is a `large_movement`.
    pub large_per_mille: u32,
    /// A payee is a `new_hop` once the taint it received in one asset
    /// reaches this share (parts per million) of what the case's seeds
    /// have paid out in that asset so far; below it, a new address is dust
    /// and raises no alert (a case's own `min_hop_ppm` overrides it).
    pub min_hop_ppm: u32,
}

/// Default of [`Thresholds::min_hop_ppm`] (`tripoint watch --min-hop-ppm`):
/// 10 ppm, i.e. 0.001 % of the seeded taint (4 ETH of a 400,000 ETH theft,
/// 0.01 ETH of a 1,000 ETH one).
pub const DEFAULT_MIN_HOP_PPM: u32 = 10;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            large_per_mille: 100,
            min_hop_ppm: DEFAULT_MIN_HOP_PPM,
        }
    }
}

/// One case's memory of which payees were alerted as new hops, kept
/// beside its live walk and rebuilt with it (the same flows in the same
/// order give the same ledger, so a restart alerts nothing twice).
#[derive(Debug, Clone, Default)]
pub struct HopLedger {
    /// Tainted value the seeds have paid out so far, per asset: the base
    /// of [`Thresholds::min_hop_ppm`] as of each flow.
    paid_by_seeds: HashMap<AssetId, Amount>,
    /// Taint received so far per payee and asset, for payees still below
    /// the minimum (most payees get one asset: a short list beats a map).
    below: tripoint_trace::fxhash::FxHashMap<(AddrId, AssetId), Amount>,
    /// Payees alerted as a new hop.
    alerted: HashSet<AddrId>,
}

impl HopLedger {
    /// Estimated heap bytes (capacities), for `tripoint bench watch`.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        fn buckets(cap: usize) -> usize {
            if cap == 0 {
                0
            } else {
                (cap * 8 / 7).next_power_of_two()
            }
        }
        buckets(self.paid_by_seeds.capacity()) * (size_of::<(AssetId, Amount)>() + 1)
            + buckets(self.below.capacity()) * (size_of::<((AddrId, AssetId), Amount)>() + 1)
            + buckets(self.alerted.capacity()) * (size_of::<AddrId>() + 1)
    }

    /// Take in a flow into `dst`; `true` when it lifts `dst` to the
    /// minimum for the first time (the flow is then a `new_hop`).
    fn take(
        &mut self,
        src_is_seed: bool,
        dst: AddrId,
        asset: AssetId,
        carried: Amount,
        min_ppm: u32,
    ) -> bool {
        if src_is_seed {
            let p = self.paid_by_seeds.entry(asset).or_insert(Amount::ZERO);
            *p = p.saturating_add(carried);
        }
        if self.alerted.contains(&dst) {
            return false;
        }
        let got = self.below.entry((dst, asset)).or_insert(Amount::ZERO);
        *got = got.saturating_add(carried);
        if !reaches(*got, self.paid_by_seeds.get(&asset).copied(), min_ppm) {
            return false;
        }
        // (Its amounts in other assets stay, never read again.)
        self.alerted.insert(dst);
        self.below.remove(&(dst, asset));
        true
    }
}

/// `got >= ppm / 10^6 * base`, by integer arithmetic (0 ppm, or no base
/// because no seed paid out this asset, e.g. a swap's output: always).
fn reaches(got: Amount, base: Option<Amount>, ppm: u32) -> bool {
    if ppm == 0 {
        return true;
    }
    let base = base.unwrap_or(Amount::ZERO);
    let million = Amount::from(1_000_000u32);
    match (
        got.checked_mul(million),
        base.checked_mul(Amount::from(ppm)),
    ) {
        (Some(l), Some(r)) => l >= r,
        // Beyond 256 bits: compare at a coarser scale.
        _ => got >= (base / million).saturating_mul(Amount::from(ppm)),
    }
}

/// A stable alert id: a hash of the case, the transfer's key (tx hash and
/// position in it) and the kind.
pub fn alert_id(case_id: &str, tx_hash: &str, sub_index: u32, kind: &str) -> String {
    let mut h = Sha256::new();
    h.update(case_id.as_bytes());
    h.update([0]);
    h.update(tx_hash.as_bytes());
    h.update([0]);
    h.update(sub_index.to_be_bytes());
    h.update([0]);
    h.update(kind.as_bytes());
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("alert-{hex}")
}

/// `c / a` with 6 decimals, by integer arithmetic.
fn share(c: Amount, a: Amount) -> f64 {
    if a == Amount::ZERO {
        return 0.0;
    }
    let scale = Amount::from(1_000_000u32);
    let micro = match c.checked_mul(scale) {
        Some(p) => p / a,
        None => c / (a / scale).max(Amount::ONE),
    };
    micro.min(scale).as_u64() as f64 / 1e6
}

fn service_of(l: &Label) -> Service {
    Service {
        label: l.label.clone(),
        category: l.category.as_str().to_string(),
        actor: l.attribution.actor.clone(),
        jurisdictions: l.attribution.jurisdictions.clone(),
        source: l.source.clone(),
        confidence: l.attribution.confidence.clone(),
    }
}

/// Of a label's jurisdictions, the first that is a partner's.
pub fn partner_of(jurisdictions: &[String]) -> Option<String> {
    jurisdictions
        .iter()
        .map(|j| j.trim().to_ascii_uppercase())
        .find(|j| PARTNERS.contains(&j.as_str()))
}

/// The alerts of one live-trace step for `case_id`: one per new flow at
/// most (a service reached, else a payee whose taint just reached the
/// case's minimum for the first time, else a large movement), for flows in
/// blocks after `after_block`. `ledger` is the case's, taken through every
/// flow of the step (also those at or before `after_block`).
pub fn derive<G: TransferGraph>(
    g: &G,
    case_id: &str,
    live: &LiveTrace,
    step: &Advanced,
    after_block: Option<u64>,
    th: Thresholds,
    ledger: &mut HopLedger,
) -> Vec<Alert> {
    let policy: TaintPolicy = live.config().policy;
    let seeds = &live.config().seeds;
    let mut out = Vec::new();
    for f in live.flows_of(step).iter() {
        let r = g.transfer(f.id);
        let node = live.node(r.dst);
        let hop = node.is_some_and(|n| matches!(n.role, Role::Walked | Role::Endpoint))
            && ledger.take(
                seeds.contains(&r.src),
                r.dst,
                r.asset,
                f.carried,
                th.min_hop_ppm,
            );
        if after_block.is_some_and(|b| r.block <= b) {
            continue;
        }
        let Some(node) = node else {
            continue;
        };
        let labels = if g.may_have_labels(r.dst) {
            g.labels(r.dst)
        } else {
            Vec::new()
        };
        let service = labels.iter().find(|l| is_service(&l.category));
        let kind = if service.is_some() {
            "service"
        } else if hop {
            "new_hop"
        } else {
            let seeded = live.seeded(r.asset);
            let large = seeded > Amount::ZERO
                && f.carried.checked_mul(Amount::from(1000u32))
                    >= seeded.checked_mul(Amount::from(th.large_per_mille));
            if !large {
                continue;
            }
            "large_movement"
        };
        let tx_hash = g.tx_hash(f.id).to_string();
        let asset = asset_key(g, r.asset, Chain::Ethereum);
        let symbol = if r.asset == tripoint_chain::NATIVE_ASSET {
            Chain::Ethereum.native_symbol().to_string()
        } else {
            g.token(r.asset)
                .map(|t| t.symbol)
                .filter(|s| !s.is_empty())
                .unwrap_or_default()
        };
        let service = service.map(service_of);
        let partner = service.as_ref().and_then(|s| partner_of(&s.jurisdictions));
        out.push(Alert {
            alert_id: alert_id(case_id, &tx_hash, r.sub_index, kind),
            case_id: case_id.to_string(),
            kind: kind.to_string(),
            chain: "ethereum".into(),
            block: r.block,
            time: rfc3339(r.timestamp),
            tx_hash,
            from: g.address(r.src).to_string(),
            to: g.address(r.dst).to_string(),
            asset,
            symbol,
            amount: r.amount.to_string(),
            taint: f.carried.to_string(),
            taint_share: share(f.carried, r.amount),
            hops: node.hops,
            policy: policy.as_str().to_string(),
            service,
            partner_with_jurisdiction: partner,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = alert_id("case-1", "0xab", 0, "service");
        assert_eq!(a, alert_id("case-1", "0xab", 0, "service"));
        assert_ne!(a, alert_id("case-1", "0xab", 1, "service"));
        assert_ne!(a, alert_id("case-2", "0xab", 0, "service"));
        assert_ne!(a, alert_id("case-1", "0xab", 0, "new_hop"));
        assert!(a.starts_with("alert-") && a.len() == 6 + 32);
    }

    #[test]
    fn dust_is_no_new_hop_until_the_payee_has_received_the_minimum() {
        let eth = 0;
        let tok = 7;
        let mut l = HopLedger::default();
        // The seeds pay out 1,000,000 units; 10 ppm is 10 units.
        assert!(l.take(true, 1, eth, Amount::from(1_000_000u32), 10));
        // 9 units of dust: no alert, then 1 more lifts the payee to 10.
        assert!(!l.take(false, 2, eth, Amount::from(9u8), 10));
        assert!(l.take(false, 2, eth, Amount::from(1u8), 10));
        // Once alerted, never again.
        assert!(!l.take(false, 2, eth, Amount::from(1_000u32), 10));
        // Another asset's base is its own: 10 ppm of 100,000 token units
        // is 1 unit, so a payee still below it in ether is alerted for it.
        assert!(l.take(true, 6, tok, Amount::from(100_000u32), 10));
        assert!(!l.take(false, 3, eth, Amount::from(5u8), 10));
        assert!(l.take(false, 3, tok, Amount::from(1u8), 10));
        // An asset no seed paid out (a swap's output) has no base: no minimum.
        assert!(l.take(false, 5, 9, Amount::ONE, 10));
        // 0 ppm: the first flow of every payee, whatever it carries.
        let mut all = HopLedger::default();
        assert!(all.take(false, 4, eth, Amount::ZERO, 0));
        assert!(!all.take(false, 4, eth, Amount::ONE, 0));
        assert!(reaches(Amount::MAX, Some(Amount::MAX), 1_000_000));
        assert!(!reaches(Amount::MAX / 2, Some(Amount::MAX), 1_000_000));
    }

    #[test]
    fn shares_and_partners() {
        assert_eq!(share(Amount::from(1u8), Amount::from(4u8)), 0.25);
        assert_eq!(share(Amount::ZERO, Amount::ZERO), 0.0);
        assert_eq!(share(Amount::MAX, Amount::MAX), 1.0);
        let j = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(partner_of(&j(&["SC", "jp"])), Some("JP".into()));
        assert_eq!(partner_of(&j(&["KY"])), None);
        assert!(is_service(&Category::Other("instant-exchanger".into())));
        assert!(!is_service(&Category::Dex));
    }
}
