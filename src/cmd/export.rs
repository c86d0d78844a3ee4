//! `tripoint export parquet`: a store's transfers and labels as Parquet for
//! DuckDB, DataFusion and Spark (schema: docs/scale.md).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use tripoint_export::ExportOptions;
use tripoint_store::Store;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Transfers (partitioned by block range) and labels as Parquet; incremental:
    /// only blocks after the last export in --out are written.
    Parquet(ParquetArgs),
}

#[derive(clap::Args)]
pub struct ParquetArgs {
    /// Store directory to export.
    #[arg(long)]
    pub store: PathBuf,
    /// Output directory (created if missing); holds tripoint-export.json,
    /// transfers/blocks-FIRST-LAST.parquet and labels/labels.parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// First block to export (default: after the last exported block).
    #[arg(long)]
    pub from_block: Option<u64>,
    /// Last block to export (default: the store's last block).
    #[arg(long)]
    pub to_block: Option<u64>,
    /// Close a transfers file at the first block boundary past this many rows.
    #[arg(long, default_value_t = 4 << 20)]
    pub rows_per_file: u64,
    /// Format version of a new export directory: 1 (default; hex text) or 2
    /// (binary hashes and addresses, about twice as fast and 2/3 the bytes).
    /// An existing directory keeps its version.
    #[arg(long)]
    pub format_version: Option<u32>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Parquet(a) => parquet(a),
    }
}

fn parquet(args: ParquetArgs) -> anyhow::Result<()> {
    tripoint_export::keep_freed_memory();
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let opts = ExportOptions {
        from_block: args.from_block,
        to_block: args.to_block,
        rows_per_file: args.rows_per_file,
        format_version: args.format_version,
        ..ExportOptions::default()
    };
    let bar = super::util::progress(0, "exporting");
    let t0 = Instant::now();
    let summary = tripoint_export::export(&store, &args.out, &opts, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| {
        format!(
            "exporting {} to {}",
            args.store.display(),
            args.out.display()
        )
    })?;
    bar.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    match summary.blocks {
        Some((first, last)) => println!(
            "exported {} transfers of blocks {first}..={last} in {} file(s) of format version {} to {} ({:.0} transfers/s); {} labels",
            summary.transfers,
            summary.files.len(),
            summary.version,
            args.out.display(),
            summary.transfers as f64 / secs.max(1e-9),
            summary.labels
        ),
        None => println!(
            "no new blocks to export (exported through block {}); {} labels rewritten",
            summary
                .through_block
                .map_or_else(|| "none".to_string(), |b| b.to_string()),
            summary.labels
        ),
    }
    Ok(())
}
