//! `tripoint gen`: write a synthetic laundering scenario (ethereum-etl CSVs,
//! labels and ground truth) into a directory. See `docs/gen.md`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory (created if missing; existing scenario files are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same seed and size give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Rows to generate (transactions + token transfers), 10^4 to 10^8.
    #[arg(long, default_value_t = 10_000)]
    pub transfers: u64,
    /// Share of flows that go through contracts, 0 to 1 (e.g. 0.3): forwarders
    /// paying on by internal calls, swaps paid out in ETH, WETH wrap and
    /// unwrap; writes traces.csv too. 0 (the default) writes none.
    #[arg(long, default_value_t = 0.0)]
    pub contract_share: f64,
    /// Output: table (people) or json (tools).
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::cmd::util::Format,
    /// Same as `--format json` (kept for scripts written before `--format`).
    #[arg(long, hide = true)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = tripoint_gen::GenConfig {
        seed: args.seed,
        transfers: args.transfers,
        contract_share: args.contract_share,
        ..Default::default()
    };
    let bar = crate::cmd::util::progress(cfg.transfers, "generating");
    let started = Instant::now();
    let summary = tripoint_gen::generate_files(&cfg, &args.out, &mut |rows| bar.set_position(rows))
        .with_context(|| format!("generating a scenario into {}", args.out.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let rows = summary.rows();
    let rate = rows as f64 / elapsed.max(1e-9);
    let t = &summary.truth;
    if args.json || args.format == crate::cmd::util::Format::Json {
        let out = serde_json::json!({
            "out": args.out.display().to_string(),
            "seed": cfg.seed,
            "rows": rows,
            "transactions": summary.transactions,
            "token_transfers": summary.token_transfers,
            "trace_rows": summary.trace_rows,
            "internal_transfers": summary.internal_transfers,
            "blocks": summary.blocks,
            "first_block": summary.first_block,
            "last_block": summary.last_block,
            "laundering_addresses": t.laundering_addresses.len(),
            "endpoints": t.endpoints.len(),
            "spam_addresses": t.spam_addresses.len(),
            "elapsed_secs": elapsed,
            "rows_per_sec": rate,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "scenario written to {} (seed {})",
            args.out.display(),
            cfg.seed
        );
        // Counts for people: digits grouped.
        let n = |v: u64| tripoint_chain::group_digits(&v.to_string());
        println!(
            "  rows                 {} ({} transactions, {} token transfers)",
            n(rows),
            n(summary.transactions),
            n(summary.token_transfers)
        );
        if summary.trace_rows > 0 {
            println!(
                "  traces.csv           {} rows ({} internal transfers)",
                n(summary.trace_rows),
                n(summary.internal_transfers)
            );
        }
        println!(
            "  blocks               {} ({}..={})",
            summary.blocks, summary.first_block, summary.last_block
        );
        println!(
            "  laundering addresses {} (seed {} from unix time {})",
            t.laundering_addresses.len(),
            t.seeds
                .addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
            t.seeds.start_time
        );
        println!(
            "  endpoints            {} ({} still held)",
            t.endpoints.len(),
            t.endpoints.iter().filter(|e| e.held).count()
        );
        println!("  spam addresses       {}", t.spam_addresses.len());
        println!(
            "  elapsed              {elapsed:.2} s ({} rows/s)",
            n(rate as u64)
        );
    }
    Ok(())
}
