//! `tripoint eval`: trace a generated scenario from its seeds and score the
//! result against the generator's ground truth (`truth.json`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use tripoint_chain::{Address, TransferGraph};
use tripoint_gen::GroundTruth;
use tripoint_store::Store;
use tripoint_trace::cluster::ClusteredGraph;
use tripoint_trace::eval::{score, Scores, Truth};
use tripoint_trace::{build_report, trace, TaintPolicy, TraceConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Store holding the ingested scenario (and its labels.csv).
    #[arg(long)]
    pub store: PathBuf,
    /// The generator's truth.json.
    #[arg(long)]
    pub truth: PathBuf,
    /// Taint policy: poison, haircut, fifo, lifo or tiho.
    #[arg(long, default_value = "haircut")]
    pub policy: String,
    /// Trace single addresses instead of clusters (by default the
    /// deposit-address and multi-input heuristics are applied).
    #[arg(long)]
    pub no_cluster: bool,
    /// Output: table (people) or json (tools).
    #[arg(long, value_enum, default_value = "table")]
    pub format: super::util::Format,
}

struct Loaded {
    truth: Truth,
    seeds: Vec<Address>,
    start: i64,
}

fn load_truth(path: &std::path::Path) -> anyhow::Result<Loaded> {
    let t = GroundTruth::read(path)?;
    let set = |it: &mut dyn Iterator<Item = &Address>| -> BTreeSet<String> {
        it.map(ToString::to_string).collect()
    };
    Ok(Loaded {
        truth: Truth {
            laundering: set(&mut t.laundering_addresses.iter().map(|l| &l.address)),
            endpoints: set(&mut t.endpoints.iter().map(|e| &e.address)),
            spam: set(&mut t.spam_addresses.iter()),
        },
        seeds: t.seeds.addresses,
        start: t.seeds.start_time,
    })
}

/// Trace and score on any graph view.
pub fn evaluate<G: TransferGraph>(
    g: &G,
    seeds: &[Address],
    start: i64,
    policy: TaintPolicy,
    truth: &Truth,
) -> anyhow::Result<Scores> {
    let mut ids = Vec::new();
    for s in seeds {
        match g.lookup(s) {
            Some(id) => ids.push(id),
            None => bail!("seed {s} of the truth file is not in the store"),
        }
    }
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let policy: TaintPolicy = args.policy.parse()?;
    let loaded = load_truth(&args.truth)?;
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let scores = if !args.no_cluster {
        let labels = store.all_labels().context("reading the store's labels")?;
        let g = ClusteredGraph::new(&store, &labels);
        evaluate(&g, &loaded.seeds, loaded.start, policy, &loaded.truth)?
    } else {
        evaluate(&store, &loaded.seeds, loaded.start, policy, &loaded.truth)?
    };
    match args.format {
        super::util::Format::Json => println!("{}", serde_json::to_string_pretty(&scores)?),
        super::util::Format::Table => {
            use tripoint_trace::text::{Align, TextTable};
            println!("policy {}", scores.policy);
            let mut t = TextTable::new(&[
                ("scored", Align::Left),
                ("precision", Align::Right),
                ("recall", Align::Right),
                ("true pos", Align::Right),
                ("false pos", Align::Right),
                ("false neg", Align::Right),
            ]);
            for (name, pr) in [
                ("laundering addresses", &scores.laundering_addresses),
                ("endpoints", &scores.endpoints),
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
            print!("{}", t.render());
            println!(
                "spam addresses tainted: {}   spam transfers listed: {}   totals reconcile: {}",
                scores.spam_tainted.len(),
                scores.spam_transfers_listed,
                scores.totals_reconcile
            );
        }
    }
    Ok(())
}
