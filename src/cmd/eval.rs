//! `tripoint eval`: trace a generated scenario from its seeds and score the
//! result against the generator's ground truth (`truth.json`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use tripoint_chain::Address;
use tripoint_gen::GroundTruth;
use tripoint_store::Store;
use tripoint_trace::cluster::ClusteredGraph;
use tripoint_trace::eval::{evaluate, Truth};
use tripoint_trace::TaintPolicy;

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
        super::util::Format::Table => print!("{}", scores.to_table()),
    }
    Ok(())
}
