//! Alerts: what a case's new taint flows mean for an investigator, derived
//! from a [`LiveTrace`] step with no I/O.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tripoint_chain::{Amount, Category, Chain, Label, TransferGraph};
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

/// When a movement between already-tainted addresses is worth an alert.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A transfer carrying at least this share (per mille) of the case's
    /// seeded taint in its asset is a `large_movement`.
    pub large_per_mille: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            large_per_mille: 100,
        }
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
/// most (a service reached, else a newly reached address, else a large
/// movement), for flows in blocks after `after_block`.
pub fn derive<G: TransferGraph>(
    g: &G,
    case_id: &str,
    live: &LiveTrace,
    step: &Advanced,
    after_block: Option<u64>,
    th: Thresholds,
) -> Vec<Alert> {
    let policy: TaintPolicy = live.config().policy;
    let mut out = Vec::new();
    for f in &live.flows()[step.flows.clone()] {
        let r = g.transfer(f.id);
        if after_block.is_some_and(|b| r.block <= b) {
            continue;
        }
        let Some(node) = live.node(r.dst) else {
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
        } else if node.first == Some(f.id) && matches!(node.role, Role::Walked | Role::Endpoint) {
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
