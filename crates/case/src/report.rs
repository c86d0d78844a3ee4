//! A case's report: the trace of its seeds over the store with the case's
//! settings, the labelled services the seeds dealt with directly (in both
//! directions: the exchange that funded a thief's wallet knows its
//! customer), and the intrusion sets the seeds' labels attribute them to.

use std::collections::BTreeMap;

use serde::Serialize;
use tripoint_chain::{Amount, Category, Chain, Label, TransferGraph};
use tripoint_stix::import::{attack_dprk_groups, AttackGroup};
use tripoint_store::Store;
use tripoint_trace::report::{asset_key, rfc3339 as trace_time};
use tripoint_trace::{
    build_report, trace, Report, ReportOptions, TaintPolicy, TraceConfig, TraceResult,
};

use crate::{now, Case, CaseError};

/// A labelled service a seed sent to or received from.
#[derive(Debug, Clone, Serialize)]
pub struct Counterparty {
    pub seed: String,
    pub address: String,
    /// `in` (the service paid the seed) or `out` (the seed paid the service).
    pub direction: &'static str,
    pub label: String,
    pub category: String,
    pub actor: Option<String>,
    pub jurisdictions: Vec<String>,
    pub source: String,
    pub asset: String,
    /// Sum over the transfers, base units.
    pub amount: String,
    pub transfers: u64,
    pub first: String,
    pub last: String,
}

/// An ATT&CK intrusion set the seeds are attributed to.
#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    pub intrusion_set: String,
    pub name: String,
    pub external_id: String,
    /// The seed labels that say so.
    pub evidence: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CaseReport {
    pub case: Case,
    /// RFC 3339 UTC.
    pub generated: String,
    pub chain: Option<Chain>,
    /// Seeds the store holds no transfer of (yet).
    pub seeds_not_in_store: Vec<String>,
    /// `None` while no seed is in the store.
    pub trace: Option<Report>,
    pub counterparties: Vec<Counterparty>,
    pub attribution: Vec<Attribution>,
    /// Freezes recorded for the case ([`crate::freeze`]), in the order recorded.
    pub freezes: Vec<crate::Freeze>,
    /// Frozen against still freezable per address and asset
    /// ([`crate::freeze::status`]).
    pub freeze_status: Vec<crate::FreezeLine>,
}

impl CaseReport {
    /// The report with the case's recorded freezes and, from them and the
    /// trace's freeze candidates, what is frozen and still freezable.
    pub fn with_freezes(mut self, freezes: Vec<crate::Freeze>) -> CaseReport {
        self.freeze_status = crate::freeze::status(&self, &freezes);
        self.freezes = freezes;
        self
    }
}

/// Categories that make an address a service worth naming as a counterparty.
fn is_service(c: &Category) -> bool {
    matches!(
        c,
        Category::Exchange
            | Category::Bridge
            | Category::Mixer
            | Category::Dex
            | Category::Sanctioned
    ) || c.as_str() == "instant-exchanger"
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Intrusion sets named (by ATT&CK name or alias) in the labels' text or actor.
pub fn attributed_groups(labels: &[Label]) -> Vec<Attribution> {
    let groups: Vec<AttackGroup> = attack_dprk_groups();
    let mut out: Vec<Attribution> = Vec::new();
    for l in labels {
        let text = squash(&format!(
            "{} {} {}",
            l.label,
            l.source,
            l.attribution.actor.as_deref().unwrap_or("")
        ));
        for g in &groups {
            if g.aliases.iter().any(|a| text.contains(&squash(a))) {
                let evidence = format!("{}: {} ({})", l.address, l.label, l.source);
                match out.iter_mut().find(|a| a.intrusion_set == g.id) {
                    Some(a) => {
                        if !a.evidence.contains(&evidence) {
                            a.evidence.push(evidence)
                        }
                    }
                    None => out.push(Attribution {
                        intrusion_set: g.id.clone(),
                        name: g.name.clone(),
                        external_id: g.external_id.clone(),
                        evidence: vec![evidence],
                    }),
                }
            }
        }
    }
    out
}

/// Trace the case over `store` and collect its counterparties and attribution.
pub fn build_case_report(store: &Store, case: &Case) -> Result<CaseReport, CaseError> {
    build_case_report_traced(store, case).map(|(report, _)| report)
}

/// [`build_case_report`] and the trace it was built from (its per-transfer
/// flows draw the console's case graph); `None` while no seed is in the store.
pub fn build_case_report_traced(
    store: &Store,
    case: &Case,
) -> Result<(CaseReport, Option<TraceResult>), CaseError> {
    let chain = store.chain();
    let native = chain.unwrap_or(Chain::Ethereum);
    let policy: TaintPolicy = case.policy.parse()?;
    let mut seeds = Vec::new();
    let mut missing = Vec::new();
    let mut seed_labels = Vec::new();
    for s in &case.seeds {
        let a = tripoint_chain::Address::parse(s).map_err(|e| CaseError::Corrupt(e.to_string()))?;
        seed_labels.extend(store.labels_of(&a));
        match store.lookup(&a) {
            Some(id) => seeds.push(id),
            None => missing.push(s.clone()),
        }
    }
    let labels = store.all_labels()?;
    let mut cfg = TraceConfig::new(policy, seeds.clone());
    if let Some(f) = case.from {
        cfg.from = f;
    }
    cfg.max_hops = case.max_hops;
    cfg.spam.trusted_tokens.extend(
        labels
            .iter()
            .filter(|l| l.category.as_str() == "token")
            .map(|l| l.address.clone()),
    );
    let mut traced = None;
    let trace_report = if seeds.is_empty() {
        None
    } else {
        let result = trace(store, &cfg)?;
        let mut opts = ReportOptions {
            native,
            from: case.from,
            ..Default::default()
        };
        opts.patterns.native_decimals = if native == Chain::Bitcoin { 8 } else { 18 };
        let report = build_report(store, &result, &opts);
        traced = Some(result);
        Some(report)
    };

    // Direct counterparties of the seeds that are labelled services.
    type Key = (String, String, &'static str, String);
    let mut agg: BTreeMap<Key, (Counterparty, Amount, i64, i64)> = BTreeMap::new();
    for &seed in &seeds {
        let seed_text = store.address(seed).to_string();
        let dirs = [
            ("out", store.outgoing(seed).collect::<Vec<_>>()),
            ("in", store.incoming(seed).collect::<Vec<_>>()),
        ];
        for (dir, ids) in dirs {
            for id in ids {
                let row = store.transfer(id);
                if row.timestamp < case.from.unwrap_or(i64::MIN) && dir == "out" {
                    continue;
                }
                let other = if dir == "out" { row.dst } else { row.src };
                if !store.may_have_labels(other) {
                    continue;
                }
                let Some(l) = store
                    .labels(other)
                    .into_iter()
                    .find(|l| is_service(&l.category))
                else {
                    continue;
                };
                let asset = asset_key(store, row.asset, native);
                let address = store.address(other).to_string();
                let key = (seed_text.clone(), address.clone(), dir, asset.clone());
                let e = agg.entry(key).or_insert_with(|| {
                    (
                        Counterparty {
                            seed: seed_text.clone(),
                            address,
                            direction: dir,
                            label: l.label.clone(),
                            category: l.category.to_string(),
                            actor: l.attribution.actor.clone(),
                            jurisdictions: l.attribution.jurisdictions.clone(),
                            source: l.source.clone(),
                            asset,
                            amount: String::new(),
                            transfers: 0,
                            first: String::new(),
                            last: String::new(),
                        },
                        Amount::ZERO,
                        i64::MAX,
                        i64::MIN,
                    )
                });
                e.0.transfers += 1;
                e.1 += row.amount;
                e.2 = e.2.min(row.timestamp);
                e.3 = e.3.max(row.timestamp);
            }
        }
    }
    let counterparties = agg
        .into_values()
        .map(|(mut c, amount, t0, t1)| {
            c.amount = amount.to_string();
            c.first = trace_time(t0);
            c.last = trace_time(t1);
            c
        })
        .collect();
    let report = CaseReport {
        case: case.clone(),
        generated: now(),
        chain,
        seeds_not_in_store: missing,
        trace: trace_report,
        counterparties,
        attribution: attributed_groups(&seed_labels),
        freezes: Vec::new(),
        freeze_status: Vec::new(),
    };
    Ok((report, traced))
}

/// A terminal summary of a case report.
pub fn table(r: &CaseReport) -> String {
    use std::fmt::Write;
    let c = &r.case;
    let mut s = String::new();
    let _ = writeln!(s, "CASE {}  {}", c.id, c.name);
    let _ = writeln!(
        s,
        "status {}   partner {}   TLP:{}   policy {}   max hops {}   from {}",
        c.status.as_str(),
        c.partner,
        c.tlp.to_ascii_uppercase(),
        c.policy,
        c.max_hops,
        c.from.map(crate::rfc3339).unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(s, "seeds  {}", c.seeds.join(", "));
    if !r.seeds_not_in_store.is_empty() {
        let _ = writeln!(
            s,
            "not in the store yet: {}",
            r.seeds_not_in_store.join(", ")
        );
    }
    for a in &r.attribution {
        let _ = writeln!(s, "attributed to {} ({})", a.name, a.external_id);
    }
    let _ = writeln!(s, "\nENDPOINTS (base units)");
    let _ = writeln!(
        s,
        "{:<44} {:<12} {:>30} {:<8} {:<6} LABEL",
        "ADDRESS", "CATEGORY", "AMOUNT", "ASSET", "FREEZE"
    );
    if let Some(t) = &r.trace {
        for e in &t.endpoints {
            let _ = writeln!(
                s,
                "{:<44} {:<12} {:>30} {:<8} {:<6} {}",
                e.address,
                e.category,
                e.amount,
                e.asset,
                if e.freeze_candidate { "yes" } else { "no" },
                e.labels.first().map(|l| l.label.as_str()).unwrap_or("")
            );
        }
    }
    let _ = writeln!(
        s,
        "\nCOUNTERPARTIES OF THE SEEDS (labelled services, base units)"
    );
    let _ = writeln!(
        s,
        "{:<4} {:<44} {:<12} {:>30} {:<8} {:>5} {:<12} LABEL",
        "DIR", "ADDRESS", "CATEGORY", "AMOUNT", "ASSET", "TXS", "ACTOR"
    );
    for cp in &r.counterparties {
        let _ = writeln!(
            s,
            "{:<4} {:<44} {:<12} {:>30} {:<8} {:>5} {:<12} {}",
            cp.direction,
            cp.address,
            cp.category,
            cp.amount,
            cp.asset,
            cp.transfers,
            cp.actor.as_deref().unwrap_or("-"),
            cp.label
        );
    }
    let _ = writeln!(s, "\nFROZEN AND STILL FREEZABLE (base units)");
    let _ = writeln!(
        s,
        "{:<44} {:<8} {:>30} {:>30} {:>30} LABEL",
        "ADDRESS", "ASSET", "HELD", "FROZEN", "STILL FREEZABLE"
    );
    for l in &r.freeze_status {
        let _ = writeln!(
            s,
            "{:<44} {:<8} {:>30} {:>30} {:>30} {}",
            l.address,
            l.asset,
            l.held,
            l.frozen,
            if l.candidate {
                l.still_freezable.as_str()
            } else {
                "-"
            },
            l.label.as_deref().unwrap_or("")
        );
    }
    if !r.freezes.is_empty() {
        let _ = writeln!(s, "\nFREEZES RECORDED");
        for f in &r.freezes {
            let _ = writeln!(
                s,
                "{}  {} {} at {} ({}) asked by {} ref {} (recorded by {}){}",
                f.time,
                f.amount,
                f.asset,
                f.address,
                f.label.as_deref().unwrap_or("-"),
                f.partner.as_deref().unwrap_or("-"),
                f.reference.as_deref().unwrap_or("-"),
                f.recorded_by,
                f.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(s, "\nNOTES");
    for n in &c.notes {
        let _ = writeln!(s, "{}  {}: {}", n.time, n.author, n.text);
    }
    s
}
