//! Scoring a trace report against a generated scenario's ground truth:
//! precision and recall of laundering addresses and of endpoints, and the
//! check that spam addresses are never tainted.

use std::collections::BTreeSet;

use serde::Serialize;
use tripoint_chain::{Address, TransferGraph};

use crate::report::{build_report, Report};
use crate::taint::{trace, Role, TaintPolicy, TraceConfig, TraceError};
use crate::text::{Align, TextTable};

/// Why a scenario could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("seed {0} of the truth file is not in the store")]
    SeedNotInStore(String),
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// The parts of a ground truth that scoring needs, as address strings.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub laundering: BTreeSet<String>,
    pub endpoints: BTreeSet<String>,
    pub spam: BTreeSet<String>,
}

impl Truth {
    /// The scored sets from a generator's addresses (laundering addresses,
    /// endpoints, spam), kept as their canonical strings.
    pub fn from_addresses<'a>(
        laundering: impl IntoIterator<Item = &'a Address>,
        endpoints: impl IntoIterator<Item = &'a Address>,
        spam: impl IntoIterator<Item = &'a Address>,
    ) -> Truth {
        let set = |it: &mut dyn Iterator<Item = &'a Address>| it.map(ToString::to_string).collect();
        Truth {
            laundering: set(&mut laundering.into_iter()),
            endpoints: set(&mut endpoints.into_iter()),
            spam: set(&mut spam.into_iter()),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PrecisionRecall {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    /// Up to 20 examples of each error, for diagnosis.
    pub false_positive_examples: Vec<String>,
    pub missed_examples: Vec<String>,
}

impl PrecisionRecall {
    pub fn of(predicted: &BTreeSet<String>, truth: &BTreeSet<String>) -> Self {
        let tp = predicted.intersection(truth).count();
        let fp: Vec<String> = predicted.difference(truth).cloned().collect();
        let missed: Vec<String> = truth.difference(predicted).cloned().collect();
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        PrecisionRecall {
            true_positives: tp,
            false_positives: fp.len(),
            false_negatives: missed.len(),
            precision: ratio(tp, tp + fp.len()),
            recall: ratio(tp, tp + missed.len()),
            false_positive_examples: fp.into_iter().take(20).collect(),
            missed_examples: missed.into_iter().take(20).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scores {
    pub policy: String,
    pub laundering_addresses: PrecisionRecall,
    pub endpoints: PrecisionRecall,
    /// Spam addresses that the trace tainted (must be empty).
    pub spam_tainted: Vec<String>,
    pub spam_transfers_listed: usize,
    pub totals_reconcile: bool,
}

/// Score a report. `sinks` are reached addresses that never paid anything
/// out (in the whole data): funds stopped there, so they count as endpoints
/// (e.g. an exchange deposit address not yet swept, which no heuristic can
/// tell from an ordinary wallet) rather than as laundering addresses.
pub fn score(report: &Report, truth: &Truth, sinks: &BTreeSet<String>) -> Scores {
    let mut laundering = BTreeSet::new();
    let mut endpoints: BTreeSet<String> =
        report.endpoints.iter().map(|e| e.address.clone()).collect();
    let mut tainted = BTreeSet::new();
    for a in &report.addresses {
        tainted.insert(a.address.clone());
        match a.role {
            Role::Seed | Role::Walked if sinks.contains(&a.address) => {
                endpoints.insert(a.address.clone());
            }
            Role::Seed | Role::Walked => {
                laundering.insert(a.address.clone());
            }
            _ => {}
        }
    }
    Scores {
        policy: report.policy.as_str().to_string(),
        laundering_addresses: PrecisionRecall::of(&laundering, &truth.laundering),
        endpoints: PrecisionRecall::of(&endpoints, &truth.endpoints),
        spam_tainted: truth.spam.intersection(&tainted).cloned().collect(),
        spam_transfers_listed: report.spam.len(),
        totals_reconcile: report.totals.values().all(|t| t.reconciles),
    }
}

/// Trace a scenario from its seeds with `policy` on any graph view and score
/// the report against `truth`.
pub fn evaluate<G: TransferGraph>(
    g: &G,
    seeds: &[Address],
    start: i64,
    policy: TaintPolicy,
    truth: &Truth,
) -> Result<Scores, EvalError> {
    let ids = seeds
        .iter()
        .map(|s| {
            g.lookup(s)
                .ok_or_else(|| EvalError::SeedNotInStore(s.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut cfg = TraceConfig::new(policy, ids);
    cfg.from = start;
    let result = trace(g, &cfg)?;
    let report = build_report(g, &result, &Default::default());
    // Reached addresses that never pay anything out: the funds stopped there.
    let sinks: BTreeSet<String> = result
        .nodes
        .iter()
        .filter(|n| g.outgoing(n.addr).next().is_none())
        .map(|n| g.address(n.addr).to_string())
        .collect();
    Ok(score(&report, truth, &sinks))
}

impl Scores {
    /// The scores as people read them: one row per scored set, then the
    /// spam and reconciliation checks.
    pub fn to_table(&self) -> String {
        let mut t = TextTable::new(&[
            ("scored", Align::Left),
            ("precision", Align::Right),
            ("recall", Align::Right),
            ("true pos", Align::Right),
            ("false pos", Align::Right),
            ("false neg", Align::Right),
        ]);
        for (name, pr) in [
            ("laundering addresses", &self.laundering_addresses),
            ("endpoints", &self.endpoints),
        ] {
            t.row(vec![
                name.to_string(),
                format!("{:.3}", pr.precision),
                format!("{:.3}", pr.recall),
                pr.true_positives.to_string(),
                pr.false_positives.to_string(),
                pr.false_negatives.to_string(),
            ]);
        }
        format!(
            "policy {}\n{}spam addresses tainted: {}   spam transfers listed: {}   totals reconcile: {}\n",
            self.policy,
            t.render(),
            self.spam_tainted.len(),
            self.spam_transfers_listed,
            self.totals_reconcile
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_from_addresses_keeps_each_set_apart_in_canonical_form() {
        let a = Address::parse("0xAbC0000000000000000000000000000000000001").unwrap();
        let b = Address::parse("0x00000000000000000000000000000000000000b2").unwrap();
        let truth = Truth::from_addresses([&a], [&a, &b], []);
        assert_eq!(truth.laundering.len(), 1);
        assert_eq!(truth.endpoints.len(), 2);
        assert!(truth.spam.is_empty());
        assert!(truth.laundering.contains(&a.to_string()));
        assert_eq!(a.to_string(), "0xabc0000000000000000000000000000000000001");
    }

    #[test]
    fn precision_recall_counts() {
        let p: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let t: BTreeSet<String> = ["b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
        let pr = PrecisionRecall::of(&p, &t);
        assert_eq!(
            (pr.true_positives, pr.false_positives, pr.false_negatives),
            (2, 1, 2)
        );
        assert!((pr.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((pr.recall - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_table_shows_each_scored_set_and_the_checks() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let scores = Scores {
            policy: "fifo".into(),
            laundering_addresses: PrecisionRecall::of(&set(&["a", "b"]), &set(&["a"])),
            endpoints: PrecisionRecall::of(&set(&["x"]), &set(&["x", "y"])),
            spam_tainted: vec!["s".into()],
            spam_transfers_listed: 3,
            totals_reconcile: true,
        };
        let table = scores.to_table();
        assert!(table.starts_with("policy fifo\n"), "{table}");
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap()
                .to_string()
        };
        assert!(row("laundering addresses").contains("0.500"), "{table}");
        assert!(row("endpoints").contains("1.000"), "{table}");
        assert!(table.ends_with(
            "spam addresses tainted: 1   spam transfers listed: 3   totals reconcile: true\n"
        ));
    }
}
