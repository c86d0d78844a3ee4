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
    /// Saved investigations: open, list, show, note, close, and report them (JSON, table, STIX).
    Case(cmd::case::Args),
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
    /// Export a store as Parquet (transfers by block range, labels) for DuckDB, DataFusion, Spark.
    Export(cmd::export::Args),
    /// Benchmarks: each engine against a peer tool on the same input, in the same run.
    Bench(cmd::bench::Args),
    /// Follow a node live: append blocks, advance open cases, deliver signed freeze alerts.
    Watch(cmd::watch::Args),
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
        Command::Case(a) => cmd::case::run(a),
        Command::Screen(a) => cmd::screen::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Intel(a) => cmd::intel::run(a),
        Command::Ews(a) => cmd::ews::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Watch(a) => cmd::watch::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    fn missing_help(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if a.is_hide_set() || id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                missing.push(format!("{path} {} (no description)", sub.get_name()));
            }
            missing_help(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    /// Every flag and argument of the trace-side commands says what it is for
    /// in `--help`.
    #[test]
    fn every_flag_has_help_text() {
        let cli = Cli::command();
        let mut missing = Vec::new();
        for name in [
            "demo", "ingest", "labels", "gen", "trace", "screen", "eval", "bench",
        ] {
            let sub = cli.find_subcommand(name).expect("subcommand");
            missing_help(sub, name, &mut missing);
        }
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
