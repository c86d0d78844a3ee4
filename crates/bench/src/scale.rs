//! `tripoint bench scale`: the whole single-machine path at one size —
//! generate, ingest, trace (haircut and poison), Parquet export — each as its
//! own child process with its own peak RSS, beside DuckDB scanning the export
//! (and the original CSVs, when there are any) in the same run, and the Spark
//! exposure job on `local[1]` and `local[2]` beside the engine, checked equal.
//!
//! Issue 15 asks for 5×10^8 transfers within 12 GiB, with no 100 GB of CSV
//! on the way. Three inputs: generated CSVs ingested by `tripoint ingest`
//! (the default up to 10^8 transfers); a store generated straight into by
//! `tripoint gen --store` (`--no-csv`, the default above 10^8); or an
//! existing store made that way (`--store DIR --truth DIR`), which is only
//! read. Without CSVs the DuckDB peer scans only the export.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tripoint_chain::TransferGraph;
use tripoint_gen::GroundTruth;
use tripoint_store::Store;

use crate::error::{fail, Context as _, Result};
use crate::{GeneratedCsv, Peers, Tripoint, WorkDir};

/// Above this many transfers the bench generates straight into the store:
/// the CSVs would take about 200 bytes a transfer (20 GB at 10^8).
pub const CSV_LIMIT: u64 = 100_000_000;

/// Parquet bytes per transfer assumed when checking the disk before the
/// export: the generated graph's format version 2 export measured 95
/// (2026-12-07, 10^7: binary hashes and addresses; version 1's hex text
/// took 150), plus a margin.
const EXPORT_BYTES_PER_TRANSFER: u64 = 105;

/// Disk left free after the export, for the other work on the machine
/// (the 15 GB the team keeps free on this shared disk).
const DISK_RESERVE: u64 = 15 << 30;

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
    /// Leave out the peers (DuckDB and Spark).
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_peer: bool,
    /// Leave out the Spark comparison only (DuckDB still runs).
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_spark: bool,
    /// Print the figures as JSON.
    #[cfg_attr(feature = "cli", arg(long))]
    pub json: bool,
    /// Generate straight into the store (`tripoint gen --store`, measured in
    /// place of ingest) instead of writing CSVs and ingesting them; the
    /// default above 10^8 transfers. DuckDB then scans only the export.
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_csv: bool,
    /// Measure an existing store made by `tripoint gen --store DIR --out
    /// TRUTH` instead of generating one (needs --truth; --transfers is
    /// ignored). The store is only read: traces and export go to --dir.
    #[cfg_attr(feature = "cli", arg(long, requires = "truth"))]
    pub store: Option<PathBuf>,
    /// That `tripoint gen --store` run's --out directory (or its truth.json):
    /// the generated thief is traced from it.
    #[cfg_attr(feature = "cli", arg(long, requires = "store"))]
    pub truth: Option<PathBuf>,
    /// Kill a step whose resident memory passes this many MiB and report it
    /// as killed, so a size that does not fit cannot push the shared machine
    /// into swap or the OOM killer. 0: no limit.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 14_000))]
    pub kill_above_mib: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transfers: 10_000_000,
            smoke: false,
            dir: None,
            no_peer: false,
            no_spark: false,
            json: false,
            no_csv: false,
            store: None,
            truth: None,
            kill_above_mib: 14_000,
        }
    }
}

/// One measured step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
    /// Items per second (transfers, or flows for a trace).
    pub per_sec: f64,
    pub peak_rss_bytes: Option<u64>,
    /// Why the step did not finish (killed above the memory limit, failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Where the transfers come from.
enum Input {
    /// Generated CSVs, ingested.
    Csv(Box<GeneratedCsv>),
    /// Generated straight into a store by this run.
    GenStore,
    /// A store given with `--store`.
    Existing,
}

impl Input {
    fn name(&self) -> &'static str {
        match self {
            Input::Csv(_) => "csv",
            Input::GenStore => "gen-store",
            Input::Existing => "existing-store",
        }
    }
}

pub fn run(args: &Options) -> Result<()> {
    let n = if args.smoke { 100_000 } else { args.transfers };
    let work_dir = WorkDir::new(args.dir.as_deref(), "scale")?;
    let work = work_dir.path();
    let export_dir = work.join("parquet");
    let p = |x: &Path| x.display().to_string();
    let tripoint = Tripoint::current()?;
    let guard = MemoryGuard::start(args.kill_above_mib << 20);
    let mut steps = Vec::new();

    // 1. Input: a store and the ground truth of its scenario.
    let (input, store_dir, truth_path, generated) = match (&args.store, &args.truth) {
        (Some(store), Some(truth)) => {
            let truth = if truth.is_dir() {
                truth.join("truth.json")
            } else {
                truth.clone()
            };
            // Its generated rows come from the truth file, read below.
            (Input::Existing, store.clone(), truth, None)
        }
        (None, None) if args.no_csv || n > CSV_LIMIT => {
            let store = work.join("store");
            let truth = work.join("truth");
            let m = guard.run(
                &tripoint,
                &[
                    "gen",
                    "--store",
                    &p(&store),
                    "--out",
                    &p(&truth),
                    "--transfers",
                    &n.to_string(),
                    "--format",
                    "json",
                ],
            );
            let rows = push_required_step(
                &mut steps,
                "generate into the store (gen --store)",
                "tripoint gen --store",
                m,
                &guard,
                |v| v["rows"].as_u64(),
            )?;
            (Input::GenStore, store, truth.join("truth.json"), Some(rows))
        }
        (None, None) => {
            let csv = work.join("csv");
            let t = Instant::now();
            let input = GeneratedCsv::write(n, &csv)?;
            let gen_secs = t.elapsed().as_secs_f64();
            let rows = input.summary.rows();
            steps.push(Step {
                name: "generate (CSV)".into(),
                seconds: gen_secs,
                per_sec: rows as f64 / gen_secs,
                peak_rss_bytes: crate::stats::peak_rss_bytes(),
                failed: None,
            });
            let store = work.join("store");
            let m = guard.run(&tripoint, &input.ingest_args(&store));
            push_required_step(&mut steps, "ingest", "tripoint ingest", m, &guard, |v| {
                v["stats"]["transfers"].as_u64()
            })?;
            (
                Input::Csv(Box::new(input)),
                store,
                csv.join("truth.json"),
                Some(rows),
            )
        }
        _ => fail!("--store and --truth go together"),
    };
    let truth = GroundTruth::read(&truth_path)?;
    let generated = generated.unwrap_or(truth.transfers);
    let (stored, store_bytes) = {
        let store = Store::open(&store_dir)
            .with_context(|| format!("opening the store {}", store_dir.display()))?;
        (store.transfer_count(), dir_bytes(&store_dir))
    };

    // 2. Trace from the thief, haircut and poison, whole reach.
    let thief = truth
        .seeds
        .addresses
        .first()
        .context("truth.json has no seed address")?
        .to_string();
    let from = truth.seeds.start_time.to_string();
    for policy in ["haircut", "poison"] {
        let out_dir = work.join(format!("trace-{policy}"));
        let m = guard.run(
            &tripoint,
            &[
                "trace",
                "--store",
                &p(&store_dir),
                "--seed",
                &thief,
                "--from",
                &from,
                "--policy",
                policy,
                "--format",
                "parquet",
                "--out",
                &p(&out_dir),
            ],
        );
        let flows = if m.is_ok() { trace_flows(&out_dir)? } else { 0 };
        steps.push(measured_step(
            &format!("trace {policy} (to Parquet)"),
            flows,
            m,
            &guard,
        ));
    }

    // 3. Parquet export: the whole store when the disk holds it, else the
    // blocks of the transfers that fit (the rate is the same per transfer).
    let (to_block, export_note) = export_range(&store_dir, work, stored)?;
    let mut export_args = vec![
        "export".to_string(),
        "parquet".into(),
        "--store".into(),
        p(&store_dir),
        "--out".into(),
        p(&export_dir),
        // The faster format is measured (docs/scale.md "Format version 2").
        "--format-version".into(),
        tripoint_export::VERSION.to_string(),
    ];
    if let Some(b) = to_block {
        export_args.extend(["--to-block".into(), b.to_string()]);
    }
    let m = guard.run(&tripoint, &export_args);
    let exported = if m.is_ok() {
        export_rows(&export_dir)?
    } else {
        0
    };
    let export_step = measured_step("export parquet", exported, m, &guard);
    let export_ok = export_step.failed.is_none();
    let export_rate = if export_ok { export_step.per_sec } else { 0.0 };
    steps.push(export_step);
    let export_bytes = export_ok.then(|| dir_bytes(&export_dir.join("transfers")));

    // 4. DuckDB scanning the export, and the CSVs when there are any.
    let csv_skipped = match &input {
        Input::Csv(_) => None,
        Input::GenStore => {
            Some("no CSVs: generated straight into the store (--no-csv, or above 10^8 transfers)")
        }
        Input::Existing => Some("no CSVs: an existing store (--store)"),
    };
    let peer = if args.no_peer || !export_ok {
        None
    } else {
        let mut peer_args = vec!["--parquet-dir".to_string(), p(&export_dir)];
        if let Input::Csv(csv) = &input {
            peer_args.extend([
                "--transactions".into(),
                p(&csv.transactions),
                "--token-transfers".into(),
                p(&csv.token_transfers),
            ]);
        }
        Some(Peers::find()?.run_json("duckdb_scan.py", &peer_args)?)
    };

    // 5. Spark: the batch-exposure job on local[1] and local[2] beside the
    // engine, on a generated graph of at most 10^6 transfers (the job's
    // iterations, not the data, set its time).
    let spark_size = n.min(generated).min(1_000_000);
    let spark = if args.no_peer || args.no_spark {
        None
    } else {
        Some(crate::spark::compare(work, spark_size)?)
    };
    guard.stop();

    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let max_rss = steps
        .iter()
        .filter(|s| s.name != "generate (CSV)")
        .filter_map(|s| s.peak_rss_bytes)
        .max()
        .unwrap_or(0);
    let all_finished = steps.iter().all(|s| s.failed.is_none());
    let per = |b: u64| b as f64 / stored.max(1) as f64;
    let store_bpt = per(store_bytes);
    let export_bpt = export_bytes.map(|b| b as f64 / exported.max(1) as f64);
    if args.json {
        let out = serde_json::json!({
            "input": input.name(),
            "store": p(&store_dir),
            "transfers_generated": generated,
            "transfers_stored": stored,
            "transfers_exported": exported,
            "export_partial": export_note,
            "store_bytes": store_bytes,
            "bytes_per_transfer": store_bpt,
            "export_bytes_per_transfer": export_bpt,
            "steps": steps,
            "duckdb_scan": peer,
            "duckdb_csv_skipped": csv_skipped,
            "spark": match &spark {
                None => serde_json::Value::Null,
                Some(Ok(c)) => serde_json::to_value(c)?,
                Some(Err(why)) => serde_json::json!({ "unavailable": why }),
            },
            "load_average_1min": load,
            "goals": {
                "export_transfers_per_sec_at_least_5m": export_rate >= 5e6,
                "peak_rss_at_most_12_gib": all_finished && max_rss <= 12 << 30,
                "size_is_5e8": generated >= 500_000_000,
                "spark_equals_engine": spark.as_ref().map(|s| s.as_ref().map(|c| c.equal).ok()),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mib = |b: Option<u64>| crate::stats::mib(b);
    println!(
        "scale: {generated} generated transfers, {stored} stored (input: {}; store {})",
        input.name(),
        store_dir.display()
    );
    println!(
        "disk: store {:.2} GB = {store_bpt:.1} bytes/transfer; Parquet export {}",
        store_bytes as f64 / 1e9,
        match (export_bytes, export_bpt) {
            (Some(b), Some(bpt)) => format!(
                "{:.2} GB = {bpt:.1} bytes/transfer ({exported} transfers)",
                b as f64 / 1e9
            ),
            _ => "not written".into(),
        }
    );
    if let Some(note) = &export_note {
        println!("export: {note}");
    }
    println!(
        "{:<38} {:>10} {:>16} {:>12}",
        "step", "seconds", "per second", "peak RSS"
    );
    for s in &steps {
        println!(
            "{:<38} {:>10.2} {:>16.0} {:>12}{}",
            s.name,
            s.seconds,
            s.per_sec,
            mib(s.peak_rss_bytes),
            s.failed
                .as_ref()
                .map(|w| format!("  FAILED: {w}"))
                .unwrap_or_default()
        );
    }
    if let Some(d) = &peer {
        let secs = |k: &str| d[k]["seconds"].as_f64().unwrap_or(f64::NAN);
        match csv_skipped {
            None => println!(
                "duckdb scan (rows, exact sum): parquet export {:.3} s, original CSVs {:.3} s ({:.1}x), peak RSS {}",
                secs("parquet"),
                secs("csv"),
                secs("csv") / secs("parquet"),
                mib(d["peak_rss_bytes"].as_u64())
            ),
            Some(why) => println!(
                "duckdb scan (rows, exact sum): parquet export {:.3} s, peak RSS {}; original CSVs not scanned ({why})",
                secs("parquet"),
                mib(d["peak_rss_bytes"].as_u64())
            ),
        }
    } else if !args.no_peer && !export_ok {
        println!("duckdb scan: not run (the export did not finish)");
    }
    match &spark {
        None => {}
        Some(Err(why)) => println!("spark exposure job: not compared ({why})"),
        Some(Ok(c)) => {
            for r in &c.runs {
                println!(
                    "spark exposure job {:<9} {:>8.2} s on {} transfers, {} hops, driver peak RSS {}",
                    r.master,
                    r.seconds,
                    c.transfers,
                    c.hops,
                    mib(r.peak_rss_bytes)
                );
            }
            if let [one, two] = &c.runs[..] {
                println!(
                    "spark scaling local[1] -> local[2]: {:.2}x",
                    one.seconds / two.seconds
                );
            }
            println!(
                "tripoint engine (poison + haircut, both categories) {:.2} s; job equals engine: {}",
                c.engine_seconds,
                if c.equal { "yes, exactly" } else { "NO" }
            );
            for d in &c.differences {
                println!("  {d}");
            }
        }
    }
    println!("load average (1 min, at the end): {load}");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("goals:");
    println!(
        "  export >= 5,000,000 transfers/s     {} ({export_rate:.0})",
        verdict(export_rate >= 5e6)
    );
    println!(
        "  peak RSS <= 12 GiB (every step)     {} ({}{})",
        verdict(all_finished && max_rss <= 12 << 30),
        mib(Some(max_rss)),
        if all_finished {
            ""
        } else {
            "; a step did not finish"
        }
    );
    if let Some(Ok(c)) = &spark {
        println!("  Spark path exactly equal           {}", verdict(c.equal));
    }
    if generated < 500_000_000 {
        println!(
            "  5x10^8 transfers                    not run at this size (--transfers 500000000)"
        );
    }
    Ok(())
}

/// A step the rest of the run needs (making the store): its items are
/// counted from the JSON the child prints last, and a failure ends the run.
fn push_required_step(
    steps: &mut Vec<Step>,
    name: &str,
    command: &str,
    run: Result<crate::Measured>,
    guard: &MemoryGuard,
    items: impl Fn(&serde_json::Value) -> Option<u64>,
) -> Result<u64> {
    let count = run
        .as_ref()
        .ok()
        .and_then(|m| crate::peers::last_json(&String::from_utf8_lossy(&m.stdout)))
        .and_then(|v| items(&v))
        .unwrap_or(0);
    let step = measured_step(name, count, run, guard);
    let failed = step.failed.clone();
    steps.push(step);
    if let Some(why) = failed {
        fail!("{command} failed: {why}");
    }
    Ok(count)
}

/// A step from a child's run, or from its failure (then its figures are
/// those of the failed run where known).
fn measured_step(
    name: &str,
    items: u64,
    run: Result<crate::Measured>,
    guard: &MemoryGuard,
) -> Step {
    match run {
        Ok(m) => Step {
            name: name.into(),
            seconds: m.seconds,
            per_sec: items as f64 / m.seconds,
            peak_rss_bytes: m.peak_rss_bytes,
            failed: None,
        },
        Err(e) => {
            let why = match guard.take_killed() {
                Some(rss) => format!(
                    "killed at {} MiB resident (--kill-above-mib {})",
                    rss >> 20,
                    guard.limit >> 20
                ),
                None => e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            };
            Step {
                name: name.into(),
                seconds: f64::NAN,
                per_sec: 0.0,
                peak_rss_bytes: None,
                failed: Some(why),
            }
        }
    }
}

/// The last block to export when the disk cannot hold the whole export
/// with [`DISK_RESERVE`] (at most half the free space) left over, and a
/// note saying so.
fn export_range(
    store_dir: &Path,
    work: &Path,
    stored: u64,
) -> Result<(Option<u64>, Option<String>)> {
    let Some(free) = free_bytes(work) else {
        return Ok((None, None));
    };
    let reserve = DISK_RESERVE.min(free / 2);
    let need = stored.saturating_mul(EXPORT_BYTES_PER_TRANSFER);
    if free >= need.saturating_add(reserve) {
        return Ok((None, None));
    }
    let fits = ((free - reserve) / EXPORT_BYTES_PER_TRANSFER).clamp(1, stored.max(1));
    let store = Store::open(store_dir)
        .with_context(|| format!("opening the store {}", store_dir.display()))?;
    let last = store.transfer(fits - 1).block;
    Ok((
        Some(last),
        Some(format!(
            "partial: blocks up to {last} (about {fits} of {stored} transfers): the disk has {:.1} GB free and the whole export needs about {:.1} GB ({EXPORT_BYTES_PER_TRANSFER} bytes/transfer) with {:.1} GB left free",
            free as f64 / 1e9,
            need as f64 / 1e9,
            reserve as f64 / 1e9
        )),
    ))
}

/// Free bytes for an unprivileged writer on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` is plain old data, so all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `st` a live local of the
    // type `statvfs` writes.
    let r = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    // The fields' integer types differ between platforms.
    #[allow(clippy::unnecessary_cast)]
    let free = st.f_bavail as u64 * st.f_frsize as u64;
    (r == 0).then_some(free)
}

/// Bytes of the files under `dir` (apparent sizes), recursively.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Flow rows a trace export holds, from its manifest.
fn trace_flows(dir: &Path) -> Result<u64> {
    let path = dir.join(tripoint_export::trace::TRACE_MANIFEST_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let m: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(m["flows"]
        .as_array()
        .map_or(0, |f| f.iter().filter_map(|p| p["rows"].as_u64()).sum()))
}

/// Transfer rows an export holds, from its manifest.
fn export_rows(dir: &Path) -> Result<u64> {
    let m = tripoint_export::ExportManifest::read(dir)
        .with_context(|| format!("reading the export manifest in {}", dir.display()))?
        .with_context(|| format!("{} has no export manifest", dir.display()))?;
    Ok(m.parts.iter().map(|p| p.rows).sum())
}

/// Kills any child of this process whose resident memory passes a limit,
/// checked five times a second on a thread of its own until stopped.
struct MemoryGuard {
    limit: u64,
    stop: Arc<AtomicBool>,
    /// The resident bytes of the last child killed, until taken.
    killed: Arc<Mutex<Option<u64>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl MemoryGuard {
    fn start(limit: u64) -> MemoryGuard {
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(Mutex::new(None));
        let thread = (limit > 0).then(|| {
            let (stop, killed) = (stop.clone(), killed.clone());
            std::thread::spawn(move || {
                let me = std::process::id();
                while !stop.load(Ordering::Acquire) {
                    for (pid, rss) in children_rss(me) {
                        if rss > limit {
                            // SAFETY: `kill` takes plain integers and touches
                            // no memory of ours. `pid` was our child a moment
                            // ago; a pid is reused only after its process is
                            // reaped, which `run_measured` does on exit, so
                            // the window is this scan's few milliseconds.
                            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                            if let Ok(mut k) = killed.lock() {
                                *k = Some(rss);
                            }
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            })
        });
        MemoryGuard {
            limit,
            stop,
            killed,
            thread: Mutex::new(thread),
        }
    }

    /// `tripoint <args>` measured ([`crate::run_measured`]) under the guard.
    fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        tripoint: &Tripoint,
        args: &[S],
    ) -> Result<crate::Measured> {
        self.take_killed();
        tripoint.run_measured(args)
    }

    fn take_killed(&self) -> Option<u64> {
        self.killed.lock().ok().and_then(|mut k| k.take())
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

impl Drop for MemoryGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// (pid, resident bytes) of every live child of `parent`.
fn children_rss(parent: u32) -> Vec<(u32, u64)> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name (which may hold spaces and
            // parentheses): state, ppid, …
            let ppid: u32 = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            if ppid != parent {
                return None;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kib: u64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((pid, kib << 10))
        })
        .collect()
}
