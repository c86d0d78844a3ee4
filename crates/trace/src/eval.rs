//! Scoring a trace report against a generated scenario's ground truth:
//! precision and recall of laundering addresses and of endpoints, and the
//! check that spam addresses are never tainted.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::report::Report;
use crate::taint::Role;

/// The parts of a ground truth that scoring needs, as address strings.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub laundering: BTreeSet<String>,
    pub endpoints: BTreeSet<String>,
    pub spam: BTreeSet<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
