//! `tripoint eval`: trace a generated scenario from its seeds and score the
//! result against the generator's ground truth (`truth.json`).

use std::path::PathBuf;

use anyhow::Context;
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let policy: TaintPolicy = args.policy.parse()?;
    let ground = GroundTruth::read(&args.truth)?;
    let truth = Truth::from_addresses(
        ground.laundering_addresses.iter().map(|l| &l.address),
        ground.endpoints.iter().map(|e| &e.address),
        &ground.spam_addresses,
    );
    let (seeds, start) = (&ground.seeds.addresses, ground.seeds.start_time);
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let scores = if !args.no_cluster {
        let labels = store.all_labels().context("reading the store's labels")?;
        let g = ClusteredGraph::new(&store, &labels);
        evaluate(&g, seeds, start, policy, &truth)?
    } else {
        evaluate(&store, seeds, start, policy, &truth)?
    };
    match args.format {
        super::util::Format::Json => println!("{}", serde_json::to_string_pretty(&scores)?),
        super::util::Format::Table => print!("{}", scores.to_table()),
    }
    Ok(())
}
