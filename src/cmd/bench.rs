//! `tripoint bench <engine>`: every engine measured beside a peer tool on the
//! same input in the same run, so the printed ratio survives a noisy machine.

use clap::Subcommand;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    engine: Engine,
}

#[derive(Subcommand)]
enum Engine {
    /// Ingest of generated transfers vs DuckDB loading the same CSVs.
    Ingest(super::ingest::BenchArgs),
    /// Taint propagation, follow-the-money latency, clustering and screening.
    Trace(super::trace::BenchArgs),
    /// TAXII GET/POST throughput and latency vs medallion.
    Intel(super::intel::BenchArgs),
    /// Full indicator recompute and back-test vs geopolrisk-py.
    Ews(super::ews::BenchArgs),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.engine {
        Engine::Ingest(a) => super::ingest::bench(a),
        Engine::Trace(a) => super::trace::bench(a),
        Engine::Intel(a) => super::intel::bench(a),
        Engine::Ews(a) => super::ews::bench(a),
    }
}
