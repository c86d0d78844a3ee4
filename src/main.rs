//! `tripoint`: one binary for the trilateral programme's three engines —
//! trace (stolen-funds tracing), intel (STIX/TAXII exchange) and ews (critical
//! minerals early warning). This crate only parses the command line, wires
//! library crates together and reports; the work happens in `crates/`.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tripoint", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info`, `tripoint_store=debug`.
    #[arg(long, global = true, env = "TRIPOINT_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a laundering scenario, ingest it, trace it, and print a summary of every engine.
    Demo(cmd::demo::Args),
    /// Load chain data (ethereum-etl, bitcoin-etl, generic CSV, live JSON-RPC) into a graph store.
    Ingest(cmd::ingest::Args),
    /// Import and list address labels (sanctions lists, exchange tags, attributions).
    Labels(cmd::labels::Args),
    /// Generate a synthetic laundering scenario as ethereum-etl CSVs with ground truth.
    Gen(cmd::gen::Args),
    /// Follow tainted funds from seed addresses.
    Trace(cmd::trace::Args),
    /// Screen addresses against sanctions/attribution labels and tainted exposure.
    Screen(cmd::screen::Args),
    /// Score traces against a generated scenario's ground truth (precision/recall).
    Eval(cmd::eval::Args),
    /// Run the TAXII 2.1 server.
    Serve(cmd::serve::Args),
    /// Threat-intelligence store: import STIX content, administer partners, read the audit log.
    Intel(cmd::intel::Args),
    /// Supply-chain early warning: import data, board status, alerts, back-tests.
    Ews(cmd::ews::Args),
    /// Benchmarks: each engine against a peer tool on the same input, in the same run.
    Bench(cmd::bench::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cmd::util::init_logging(&cli.log);
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Ingest(a) => cmd::ingest::run(a),
        Command::Labels(a) => cmd::labels::run(a),
        Command::Gen(a) => cmd::gen::run(a),
        Command::Trace(a) => cmd::trace::run(a),
        Command::Screen(a) => cmd::screen::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Intel(a) => cmd::intel::run(a),
        Command::Ews(a) => cmd::ews::run(a),
        Command::Bench(a) => cmd::bench::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
