//! `tripoint bench <engine>`: every engine measured beside a peer tool on the
//! same input in the same run (see `tripoint-bench`).

use clap::Subcommand;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    engine: Engine,
}

#[derive(Subcommand)]
enum Engine {
    /// Ingest of generated transfers vs DuckDB loading the same CSVs.
    Ingest(tripoint_bench::ingest::Options),
    /// Taint propagation, follow-the-money latency, clustering and screening.
    Trace(tripoint_bench::trace::Options),
    /// TAXII GET/POST throughput and latency vs medallion and OpenTAXII.
    Intel(tripoint_bench::intel::Options),
    /// Full indicator recompute and back-test vs geopolrisk-py.
    Ews(tripoint_bench::ews::Options),
    /// Generate, ingest, trace (haircut, poison) and Parquet export at one size, with peak RSS, vs DuckDB scans.
    Scale(tripoint_bench::scale::Options),
    /// Live watch: mined-to-webhook latency, advancing open cases by a block, label import.
    Watch(tripoint_bench::watch::Options),
    /// Web console in chromium: server time per page vs TAXII GET, a 2,000-address case graph vs Cytoscape's layout, SSE alert latency.
    Console(tripoint_bench::console::Options),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.engine {
        Engine::Ingest(o) => tripoint_bench::ingest::run(&o)?,
        Engine::Trace(o) => tripoint_bench::trace::run(&o)?,
        Engine::Intel(o) => tripoint_bench::intel::run(&o)?,
        Engine::Ews(o) => tripoint_bench::ews::run(&o)?,
        Engine::Scale(o) => tripoint_bench::scale::run(&o)?,
        Engine::Watch(o) => tripoint_bench::watch::run(&o)?,
        Engine::Console(o) => tripoint_bench::console::run(&o)?,
    }
    Ok(())
}
