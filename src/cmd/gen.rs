//! `tripoint gen`: write a synthetic laundering scenario (ethereum-etl CSVs,
//! labels and ground truth) into a directory, or straight into a store
//! (`--store`, no CSV in between). See `docs/gen.md`.

use std::path::{Path, PathBuf};

use std::time::Instant;
use tripoint_store::Store;

use anyhow::Context as _;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory (created if missing; existing scenario files are replaced). With --store, only truth.json is written here.
    #[arg(long, required_unless_present = "store")]
    pub out: Option<PathBuf>,
    /// Generate straight into this store (created if missing): transfers, tokens and labels, with no CSV in between, so sizes whose CSVs would not fit on disk can be built.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// With --store: make the store durable every N records (bounds the writer's memory).
    #[arg(long, default_value_t = 5_000_000, requires = "store")]
    pub checkpoint_every: u64,
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
    if let Some(store) = &args.store {
        return into_store(&args, &cfg, store);
    }
    let out = args
        .out
        .as_ref()
        .expect("clap requires --out without --store");
    let bar = crate::cmd::util::progress(cfg.transfers, "generating");
    let started = Instant::now();
    let summary = tripoint_gen::generate_files(&cfg, out, &mut |rows| bar.set_position(rows))
        .with_context(|| format!("generating a scenario into {}", out.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let rows = summary.rows();
    let rate = rows as f64 / elapsed.max(1e-9);
    let t = &summary.truth;
    if args.json || args.format == crate::cmd::util::Format::Json {
        let out = serde_json::json!({
            "out": out.display().to_string(),
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
        println!("scenario written to {} (seed {})", out.display(), cfg.seed);
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

/// `--store`: generate through the import pipeline into the store's
/// appender, then add the scenario's labels; with `--out`, write truth.json.
fn into_store(args: &Args, cfg: &tripoint_gen::GenConfig, dir: &Path) -> anyhow::Result<()> {
    let store =
        Store::open_or_create(dir).with_context(|| format!("opening store {}", dir.display()))?;
    let mut appender = store
        .appender()
        .with_context(|| format!("locking store {} for writing", dir.display()))?;
    let bar = crate::cmd::util::progress(cfg.transfers, "generating into the store");
    let progress_bar = bar.clone();
    let started = Instant::now();
    // On error the appender is dropped unfinished: only checkpointed batches
    // are published, and a rerun skips the records already stored.
    let generated =
        tripoint_ingest::import_generated(cfg, &mut appender, args.checkpoint_every, move |rows| {
            progress_bar.set_position(rows)
        })
        .with_context(|| {
            format!(
            "generating into {} stopped; checkpointed batches are stored, run again to complete",
            dir.display()
        )
        })?;
    let appended = appender.finish().context("publishing the last batch")?;
    bar.finish_and_clear();
    let labels_added = store
        .import_labels(generated.labels)
        .context("storing the scenario's labels")?;
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let partial = out.join("truth.json.partial");
        generated.summary.truth.write_json(&partial)?;
        std::fs::rename(&partial, out.join("truth.json"))
            .with_context(|| format!("writing {}", out.join("truth.json").display()))?;
    }
    let stats = Store::open(dir)?.stats();
    let summary = &generated.summary;
    let rate = summary.rows() as f64 / elapsed.max(1e-9);
    if args.json || args.format == crate::cmd::util::Format::Json {
        let out = serde_json::json!({
            "store": dir.display().to_string(),
            "truth": args.out.as_ref().map(|o| o.join("truth.json").display().to_string()),
            "seed": cfg.seed,
            "rows": summary.rows(),
            "transactions": summary.transactions,
            "token_transfers": summary.token_transfers,
            "internal_transfers": summary.internal_transfers,
            "appended": appended.appended,
            "duplicates_skipped": appended.duplicates_skipped,
            "segments_written": appended.segments_written,
            "labels_added": labels_added,
            "blocks": summary.blocks,
            "elapsed_secs": elapsed,
            "rows_per_sec": rate,
            "peak_rss_bytes": tripoint_bench::stats::peak_rss_bytes(),
            "stats": stats,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let n = |v: u64| tripoint_chain::group_digits(&v.to_string());
        println!(
            "scenario generated into {} (seed {})",
            dir.display(),
            cfg.seed
        );
        println!(
            "  rows                 {} ({} transactions, {} token transfers, {} internal transfers)",
            n(summary.rows()),
            n(summary.transactions),
            n(summary.token_transfers),
            n(summary.internal_transfers)
        );
        println!(
            "  appended             {} ({} already stored, skipped)",
            n(appended.appended),
            n(appended.duplicates_skipped)
        );
        println!("  labels added         {labels_added}");
        if let Some(out) = &args.out {
            println!(
                "  ground truth         {}",
                out.join("truth.json").display()
            );
        }
        println!(
            "  elapsed              {elapsed:.2} s ({} rows/s)",
            n(rate as u64)
        );
        println!("  store                {}", stats.summary_line());
    }
    Ok(())
}
