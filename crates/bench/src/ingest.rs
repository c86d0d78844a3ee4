//! `tripoint bench ingest`: `tripoint ingest` of generated ethereum-etl
//! CSVs (as its own process, so its peak memory is its own), the importers
//! alone, store reopen time and bytes on disk, beside DuckDB loading the same
//! CSVs; then the generated `traces.csv` (internal transfers) alone, beside
//! DuckDB loading it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tripoint_ingest::{EthereumEtlFiles, ImportOptions};
use tripoint_store::Store;

use crate::error::{Context as _, Result};
use crate::stats::median;
use crate::{run_measured, GeneratedCsv, Peers, Tripoint, WorkDir};

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Transfers to generate (transactions + token transfers).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10_000_000))]
    pub transfers: u64,
    /// A 10^5-transfer run that finishes in seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Working directory: new or empty, kept afterwards (default: a temporary one, removed).
    #[cfg_attr(feature = "cli", arg(long))]
    pub dir: Option<PathBuf>,
    /// Leave out the DuckDB peer.
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_peer: bool,
    /// Print the figures as JSON.
    #[cfg_attr(feature = "cli", arg(long))]
    pub json: bool,
    /// Share of contract-mediated flows in the generated input (0 to 1);
    /// above 0 the scenario has a traces.csv, whose ingest is measured
    /// beside DuckDB loading it. 0 leaves the traces part out.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 0.3))]
    pub contract_share: f64,
}

/// One tool's load of `traces.csv`.
struct TracesRun {
    /// Wall seconds of the child process, start to exit.
    seconds: f64,
    /// Records it stored (internal transfers; tripoint also WETH mints and burns).
    records: u64,
    peak_rss_bytes: Option<u64>,
}

/// The traces part: `tripoint ingest` of `traces.csv` alone into a store
/// of its own (an empty transactions file: the traces carry their block
/// times), and DuckDB loading the same file, each a child process measured
/// from outside ([`run_measured`]).
fn traces_part(
    work: &Path,
    traces: &Path,
    peer: bool,
) -> Result<(TracesRun, Option<TracesRun>, serde_json::Value)> {
    let p = |x: &Path| x.display().to_string();
    let empty = work.join("no-transactions.csv");
    std::fs::write(
        &empty,
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n",
    )?;
    let m = Tripoint::current()?.run_measured(&[
        "ingest".to_string(),
        "--store".into(),
        p(&work.join("traces-store")),
        "--json".into(),
        "ethereum-etl".into(),
        "--transactions".into(),
        p(&empty),
        "--traces".into(),
        p(traces),
    ])?;
    let summary: serde_json::Value =
        serde_json::from_slice(&m.stdout).context("tripoint ingest printed no JSON summary")?;
    let ours = TracesRun {
        seconds: m.seconds,
        records: summary["records"].as_u64().unwrap_or(0),
        peak_rss_bytes: m.peak_rss_bytes,
    };
    let theirs = if peer {
        let peers = Peers::find()?;
        let mut cmd = std::process::Command::new(peers.python());
        cmd.arg(peers.script("duckdb_traces.py")).args([
            "--traces",
            &p(traces),
            "--db",
            &p(&work.join("traces.duckdb")),
        ]);
        let m = run_measured(cmd)?;
        let v = crate::peers::last_json(&String::from_utf8_lossy(&m.stdout))
            .context("duckdb_traces.py printed no JSON result")?;
        Some(TracesRun {
            seconds: m.seconds,
            records: v["rows"].as_u64().unwrap_or(0),
            peak_rss_bytes: m.peak_rss_bytes,
        })
    } else {
        None
    };
    Ok((ours, theirs, summary))
}

/// A sink that only counts: measures the importers without the store.
#[derive(Default)]
struct CountingSink {
    transfers: u64,
}

impl tripoint_chain::TransferSink for CountingSink {
    type Error = std::convert::Infallible;
    fn token(&mut self, _: tripoint_chain::TokenInfo) -> Result<(), Self::Error> {
        Ok(())
    }
    fn transfer(&mut self, r: tripoint_chain::TransferRecord) -> Result<(), Self::Error> {
        self.transfers += 1;
        std::hint::black_box(r);
        Ok(())
    }
    fn checkpoint(&mut self, _: &tripoint_chain::SourceCursor) -> Result<(), Self::Error> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

pub fn run(args: &Options) -> Result<()> {
    let n = if args.smoke { 100_000 } else { args.transfers };
    let work_dir = WorkDir::new(args.dir.as_deref(), "ingest")?;
    let work = work_dir.path();
    let csv = work.join("csv");
    let store_dir = work.join("store");

    // 1. Input, generated once for both tools.
    if !(0.0..=1.0).contains(&args.contract_share) {
        crate::error::fail!(
            "--contract-share {} must be within 0..=1",
            args.contract_share
        );
    }
    let input = GeneratedCsv::write_with(n, &csv, args.contract_share)?;
    let gen = &input.summary;
    let (tx_f, tt_f, tok_f) = (&input.transactions, &input.token_transfers, &input.tokens);
    let csv_bytes = file_size(tx_f) + file_size(tt_f) + file_size(tok_f);

    // 2. tripoint ingest, as its own process so its peak RSS is its own.
    let p = |x: &Path| x.display().to_string();
    let ours = Tripoint::current()?.run_json(&input.ingest_args(&store_dir))?;
    let our_secs = ours["elapsed_secs"].as_f64().unwrap_or(f64::NAN);
    let our_rows = ours["records"].as_u64().unwrap_or(0);
    let our_rss = ours["peak_rss_bytes"].as_u64().unwrap_or(0);

    // 2b. The importers alone (parsing + join, no store), in this process.
    let t = Instant::now();
    let mut counting = CountingSink::default();
    tripoint_ingest::import_ethereum_etl(
        &EthereumEtlFiles {
            transactions: tx_f.clone(),
            token_transfers: Some(tt_f.clone()),
            tokens: Some(tok_f.clone()),
        },
        &mut counting,
        &ImportOptions::default(),
    )?;
    let parse_rate = counting.transfers as f64 / t.elapsed().as_secs_f64();

    // 3. Reopen (mmap) time, median of 9, and on-disk figures.
    let mut opens = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let s = Store::open(&store_dir)?;
        opens.push(t.elapsed().as_secs_f64() * 1e3);
        drop(s);
    }
    let reopen_ms = median(opens);
    let stats = Store::open(&store_dir)?.stats();
    let seg_bytes = stats.bytes_per_transfer * stats.transfers as f64;
    let with_dict = (seg_bytes + stats.dictionary_bytes as f64) / (stats.transfers.max(1) as f64);

    // 4. DuckDB on the same CSVs.
    let peer = if args.no_peer {
        None
    } else {
        Some(Peers::find()?.run_json(
            "duckdb_ingest.py",
            &[
                "--transactions".into(),
                p(tx_f),
                "--token-transfers".into(),
                p(tt_f),
                "--db".into(),
                p(&work.join("duckdb.db")),
            ],
        )?)
    };

    let our_rate = our_rows as f64 / our_secs;
    let tx_hash_per_transfer =
        stats.bytes_per_transfer - stats.bytes_per_transfer_without_tx_hashes;
    // Another process's load moves these figures (the peer uses both cores).
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let (d_secs, d_rows, d_rss, d_bytes) = match &peer {
        Some(d) => (
            d["seconds"].as_f64().unwrap_or(f64::NAN),
            d["rows"].as_u64().unwrap_or(0),
            d["peak_rss_bytes"].as_u64().unwrap_or(0),
            d["db_bytes"].as_u64().unwrap_or(0),
        ),
        None => (f64::NAN, 0, 0, 0),
    };
    let d_rate = d_rows as f64 / d_secs;
    let d_per = d_bytes as f64 / d_rows.max(1) as f64;

    // 5. traces.csv alone, beside DuckDB loading it.
    let traces = match &input.traces {
        Some(t) => Some(traces_part(work, t, !args.no_peer)?),
        None => None,
    };
    let trace_rows = gen.trace_rows;
    let traces_json = traces.as_ref().map(|(ours, theirs, summary)| {
        let tool = |r: &TracesRun| {
            serde_json::json!({
                "seconds": r.seconds,
                "records": r.records,
                "rows_per_sec": trace_rows as f64 / r.seconds,
                "peak_rss_bytes": r.peak_rss_bytes,
            })
        };
        serde_json::json!({
            "rows": trace_rows,
            "internal_transfers": gen.internal_transfers,
            "bytes": file_size(input.traces.as_deref().unwrap_or(Path::new(""))),
            "tripoint": tool(ours),
            "tripoint_ingest_summary": summary,
            "duckdb": theirs.as_ref().map(tool),
        })
    });
    if args.json {
        let out = serde_json::json!({
            "transfers_generated": gen.rows(),
            "csv_bytes": csv_bytes,
            "tripoint": {
                "records": our_rows,
                "seconds": our_secs,
                "transfers_per_sec": our_rate,
                "peak_rss_bytes": our_rss,
                "bytes_per_transfer": stats.bytes_per_transfer,
                "bytes_per_transfer_with_dictionary": with_dict,
                "bytes_per_transfer_without_tx_hashes": stats.bytes_per_transfer_without_tx_hashes,
                "tx_hash_bytes_per_transfer": tx_hash_per_transfer,
                "reopen_ms_median": reopen_ms,
                "importers_only_transfers_per_sec": parse_rate,
                "stats": stats,
            },
            "duckdb": peer,
            "traces": traces_json,
            "load_average_1min": load,
            "ratios": {
                "throughput_vs_duckdb": our_rate / d_rate,
                "peak_rss_vs_duckdb": our_rss as f64 / d_rss as f64,
                "bytes_vs_duckdb": with_dict / d_per,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "ingest of {} generated transfers ({} transactions + {} token transfers, {:.0} MiB of CSV)",
        gen.rows(),
        gen.transactions,
        gen.token_transfers,
        mib(csv_bytes)
    );
    println!(
        "{:<34} {:>14} {:>14} {:>10}",
        "", "tripoint", "duckdb", "tri/duck"
    );
    let row = |name: &str, a: f64, b: f64, prec: usize| {
        println!(
            "{name:<34} {a:>14.prec$} {b:>14.prec$} {:>9.2}x",
            a / b,
            prec = prec
        );
    };
    row("records stored", our_rows as f64, d_rows as f64, 0);
    row("time (s)", our_secs, d_secs, 2);
    row("transfers/s", our_rate, d_rate, 0);
    println!("{:<34} {:>14.0}", "  importers alone, no store", parse_rate);
    row("peak RSS (MiB)", mib(our_rss), mib(d_rss), 1);
    row("bytes on disk/transfer (all)", with_dict, d_per, 1);
    println!(
        "{:<34} {:>14.1}",
        "  without address dictionary", stats.bytes_per_transfer
    );
    println!(
        "{:<34} {:>14.1}",
        "  without dictionary and tx hashes", stats.bytes_per_transfer_without_tx_hashes
    );
    println!(
        "{:<34} {:>14.1}",
        "  of which tx hashes + hash index", tx_hash_per_transfer
    );
    println!(
        "{:<34} {:>14.2}",
        "reopen Store::open (ms, median/9)", reopen_ms
    );
    if let Some((ours, theirs, _)) = &traces {
        println!(
            "traces.csv alone: {} rows ({} internal transfers, {:.0} MiB), each tool a process of its own",
            trace_rows,
            gen.internal_transfers,
            mib(file_size(input.traces.as_deref().unwrap_or(Path::new(""))))
        );
        let (d_s, d_rec, d_rss) = theirs.as_ref().map_or((f64::NAN, 0, None), |d| {
            (d.seconds, d.records, d.peak_rss_bytes)
        });
        let rss = |r: Option<u64>| r.map_or(f64::NAN, mib);
        row("  records stored", ours.records as f64, d_rec as f64, 0);
        row("  time, wall (s)", ours.seconds, d_s, 2);
        row(
            "  traces.csv rows/s",
            trace_rows as f64 / ours.seconds,
            trace_rows as f64 / d_s,
            0,
        );
        row("  peak RSS (MiB)", rss(ours.peak_rss_bytes), rss(d_rss), 1);
    }
    println!("{:<34} {:>14}", "load average (1 min, at the end)", load);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("goals:");
    println!(
        "  >= 1,000,000 transfers/s            {} ({our_rate:.0})",
        verdict(our_rate >= 1e6)
    );
    println!(
        "  <= 32 bytes/transfer (dict aside)   {} ({:.1}, with the 32-byte tx hashes)",
        verdict(stats.bytes_per_transfer <= 32.0),
        stats.bytes_per_transfer
    );
    println!(
        "  <= 32 bytes/transfer w/o tx hashes  {} ({:.1}, dictionary aside too)",
        verdict(stats.bytes_per_transfer_without_tx_hashes <= 32.0),
        stats.bytes_per_transfer_without_tx_hashes
    );
    println!(
        "  reopen < 50 ms                      {} ({reopen_ms:.2} ms)",
        verdict(reopen_ms < 50.0)
    );
    if peer.is_some() {
        println!(
            "  faster than DuckDB                  {} ({:.2}x)",
            verdict(our_rate > d_rate),
            our_rate / d_rate
        );
    }
    Ok(())
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
