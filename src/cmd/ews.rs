//! `tripoint ews`: supply-chain early warning — import, status board, back-test;
//! and `tripoint bench ews`.

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tripoint_ews::chrono::NaiveDate;
use tripoint_ews::{Config, Dataset};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read every data set under DIR, check it, and write a compact snapshot.
    Import(ImportArgs),
    /// The board: risk level per mineral x partner, with reasons, as known on a date.
    Status(StatusArgs),
    /// Replay history day by day (no look-ahead) and score alerts against events.
    Backtest(BacktestArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
struct Source {
    /// Data folder (`shared/data` or `shared/data/ews`). Default: ../shared/data when present.
    #[arg(long, conflicts_with_all = ["db", "synthetic"])]
    data: Option<PathBuf>,
    /// A snapshot written by `tripoint ews import`.
    #[arg(long, conflicts_with = "synthetic")]
    db: Option<PathBuf>,
    /// Use the generated (synthetic, clearly labelled) data set with this seed.
    #[arg(long)]
    synthetic: Option<u64>,
    /// Thresholds (TOML; see config/ews.toml). Default: built-in defaults.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Data folder (`shared/data` or `shared/data/ews`).
    #[arg(long)]
    data: PathBuf,
    /// Snapshot file to write (gzip JSON, versioned).
    #[arg(long)]
    db: PathBuf,
}

#[derive(clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    source: Source,
    /// Date of the board (YYYY-MM-DD); default today.
    #[arg(long)]
    at: Option<String>,
    /// Extra events (same CSV format as events/export_restriction_events.csv), appended at run time.
    #[arg(long = "events")]
    events: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(clap::Args)]
struct BacktestArgs {
    #[command(flatten)]
    source: Source,
    /// Events to score (CSV, export_restriction_events.csv format).
    #[arg(long)]
    events: PathBuf,
    /// Replay up to this date only (default: config backtest.end).
    #[arg(long)]
    until: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

fn parse_date(s: &str, what: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{what}: {s:?} is not a YYYY-MM-DD date"))
}

fn today() -> NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + tripoint_ews::chrono::Duration::days((secs / 86_400) as i64)
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

fn load_source(src: &Source) -> anyhow::Result<Dataset> {
    if let Some(seed) = src.synthetic {
        return Ok(tripoint_ews::synthetic_dataset(seed));
    }
    if let Some(db) = &src.db {
        return Ok(tripoint_ews::load_snapshot(db)?);
    }
    let dir = match &src.data {
        Some(d) => d.clone(),
        None => match super::util::shared_data_dir() {
            Some(d) => d,
            None => bail!("no data: pass --data DIR, --db FILE, or --synthetic SEED (../shared/data is absent)"),
        },
    };
    Ok(Dataset::load_dir(&dir)?)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Import(a) => {
            let t = Instant::now();
            let ds = Dataset::load_dir(&a.data)?;
            let read = t.elapsed();
            tripoint_ews::save_snapshot(&ds, &a.db)?;
            let size = std::fs::metadata(&a.db).map(|m| m.len()).unwrap_or(0);
            println!(
                "imported {} rows ({} duplicates dropped, {} warnings) in {:.0} ms; snapshot {} ({:.1} MB) in {:.0} ms",
                ds.report.rows_read,
                ds.report.duplicates_dropped,
                ds.report.warnings_total,
                read.as_secs_f64() * 1e3,
                a.db.display(),
                size as f64 / 1e6,
                (t.elapsed() - read).as_secs_f64() * 1e3
            );
            println!(
                "production {} | trade {} | monthly {} | price series {} | WGI {} | pv {} | USGS {} | events {}",
                ds.production.len(),
                ds.trade.len(),
                ds.monthly.len(),
                ds.prices.len(),
                ds.governance.len(),
                ds.pv_normalized.len(),
                ds.usgs.len(),
                ds.events.len()
            );
            for w in &ds.report.warnings {
                eprintln!("warning: {w}");
            }
            Ok(())
        }
        Command::Status(a) => {
            let cfg = load_config(a.source.config.as_deref())?;
            let ds = load_source(&a.source)?;
            let at = match &a.at {
                Some(s) => parse_date(s, "--at")?,
                None => today(),
            };
            let mut extra = Vec::new();
            for f in &a.events {
                extra.extend(tripoint_ews::load_events(f)?);
            }
            let b = tripoint_ews::board(&ds, &cfg, at, &extra);
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&b)?),
                Format::Table => print!("{}", b.render_table()),
            }
            Ok(())
        }
        Command::Backtest(a) => {
            let mut cfg = load_config(a.source.config.as_deref())?;
            if let Some(u) = &a.until {
                cfg.backtest.end = parse_date(u, "--until")?;
            }
            let ds = load_source(&a.source)?;
            let events = tripoint_ews::load_events(&a.events)?;
            let r = tripoint_ews::backtest(&ds, &events, &cfg);
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                Format::Table => print!("{}", r.render_table()),
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn bench(_args: BenchArgs) -> anyhow::Result<()> {
    bail!("`tripoint bench ews` is not available in this build yet")
}
