//! `tripoint bench scale`: the whole single-machine path at one size —
//! generate, ingest, trace (haircut and poison), Parquet export — each as its
//! own child process with its own peak RSS, beside DuckDB scanning the export
//! and the original CSVs on the same input in the same run, and the Spark
//! exposure job on `local[1]` and `local[2]` beside the engine, checked equal.
//!
//! Issue 15 asks for 5×10^8 transfers within 12 GiB; this command measures
//! any size (`--transfers`) and says whether the goals were met at the size
//! run. The generator still writes CSV first (about 200 bytes per transfer),
//! so disk, not this command, limits the largest size here.

use std::path::Path;
use std::time::Instant;

use tripoint_gen::GroundTruth;

use crate::error::{Context as _, Result};
use crate::{GeneratedCsv, Peers, Tripoint, WorkDir};

/// What to run: the same size, work-dir, peer and output options as
/// `tripoint bench ingest`, whose first steps this benchmark repeats.
pub use crate::ingest::Options;

/// One measured step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
    /// Items per second (transfers, or flows for a trace).
    pub per_sec: f64,
    pub peak_rss_bytes: Option<u64>,
}

pub fn run(args: &Options) -> Result<()> {
    let n = if args.smoke { 100_000 } else { args.transfers };
    let work_dir = WorkDir::new(args.dir.as_deref(), "scale")?;
    let work = work_dir.path();
    let csv = work.join("csv");
    let store_dir = work.join("store");
    let export_dir = work.join("parquet");
    let p = |x: &Path| x.display().to_string();
    let tripoint = Tripoint::current()?;
    let mut steps = Vec::new();

    // 1. Input.
    let t = Instant::now();
    let input = GeneratedCsv::write(n, &csv)?;
    let gen = &input.summary;
    let gen_secs = t.elapsed().as_secs_f64();
    steps.push(Step {
        name: "generate (CSV)".into(),
        seconds: gen_secs,
        per_sec: gen.rows() as f64 / gen_secs,
        peak_rss_bytes: crate::stats::peak_rss_bytes(),
    });
    let (tx_f, tt_f) = (&input.transactions, &input.token_transfers);

    // 2. Ingest.
    let ingest = tripoint.run_measured(&input.ingest_args(&store_dir))?;
    let ingested = crate::peers::last_json(&String::from_utf8_lossy(&ingest.stdout))
        .context("tripoint ingest printed no JSON")?;
    let stored = ingested["stats"]["transfers"].as_u64().unwrap_or(0);
    let bytes_per_transfer = ingested["stats"]["bytes_per_transfer"]
        .as_f64()
        .unwrap_or(f64::NAN);
    steps.push(Step {
        name: "ingest".into(),
        seconds: ingest.seconds,
        per_sec: stored as f64 / ingest.seconds,
        peak_rss_bytes: ingest.peak_rss_bytes,
    });

    // 3. Trace from the thief, haircut and poison, whole reach.
    let truth = GroundTruth::read(&csv.join("truth.json"))?;
    let thief = truth
        .seeds
        .addresses
        .first()
        .context("truth.json has no seed address")?
        .to_string();
    let from = truth.seeds.start_time.to_string();
    for policy in ["haircut", "poison"] {
        let out_dir = work.join(format!("trace-{policy}"));
        let run = tripoint.run_measured(&[
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
        ])?;
        let flows = trace_flows(&out_dir)?;
        steps.push(Step {
            name: format!("trace {policy} (to Parquet)"),
            seconds: run.seconds,
            per_sec: flows as f64 / run.seconds,
            peak_rss_bytes: run.peak_rss_bytes,
        });
    }

    // 4. Parquet export of the whole store.
    let export = tripoint.run_measured(&[
        "export",
        "parquet",
        "--store",
        &p(&store_dir),
        "--out",
        &p(&export_dir),
    ])?;
    steps.push(Step {
        name: "export parquet".into(),
        seconds: export.seconds,
        per_sec: stored as f64 / export.seconds,
        peak_rss_bytes: export.peak_rss_bytes,
    });
    let export_rate = stored as f64 / export.seconds;

    // 5. DuckDB scanning the export vs the CSVs.
    let peer = if args.no_peer {
        None
    } else {
        Some(Peers::find()?.run_json(
            "duckdb_scan.py",
            &[
                "--parquet-dir".into(),
                p(&export_dir),
                "--transactions".into(),
                p(tx_f),
                "--token-transfers".into(),
                p(tt_f),
            ],
        )?)
    };

    // 6. Spark: the batch-exposure job on local[1] and local[2] beside the
    // engine, on a generated graph of at most 10^6 transfers (the job's
    // iterations, not the data, set its time).
    let spark_size = n.min(1_000_000);
    let spark = if args.no_peer {
        None
    } else {
        Some(crate::spark::compare(work, spark_size)?)
    };

    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let max_rss = steps
        .iter()
        .skip(1)
        .filter_map(|s| s.peak_rss_bytes)
        .max()
        .unwrap_or(0);
    if args.json {
        let out = serde_json::json!({
            "transfers_generated": gen.rows(),
            "transfers_stored": stored,
            "bytes_per_transfer": bytes_per_transfer,
            "steps": steps,
            "duckdb_scan": peer,
            "spark": match &spark {
                None => serde_json::Value::Null,
                Some(Ok(c)) => serde_json::to_value(c)?,
                Some(Err(why)) => serde_json::json!({ "unavailable": why }),
            },
            "load_average_1min": load,
            "goals": {
                "export_transfers_per_sec_at_least_5m": export_rate >= 5e6,
                "peak_rss_at_most_12_gib": max_rss <= 12 << 30,
                "size_is_5e8": stored >= 500_000_000,
                "spark_equals_engine": spark.as_ref().map(|s| s.as_ref().map(|c| c.equal).ok()),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mib = |b: Option<u64>| crate::stats::mib(b);
    println!(
        "scale: {} generated transfers, {} stored, {:.1} bytes/transfer on disk",
        gen.rows(),
        stored,
        bytes_per_transfer
    );
    println!(
        "{:<28} {:>10} {:>16} {:>12}",
        "step", "seconds", "per second", "peak RSS"
    );
    for s in &steps {
        println!(
            "{:<28} {:>10.2} {:>16.0} {:>12}",
            s.name,
            s.seconds,
            s.per_sec,
            mib(s.peak_rss_bytes)
        );
    }
    if let Some(d) = &peer {
        let secs = |k: &str| d[k]["seconds"].as_f64().unwrap_or(f64::NAN);
        println!(
            "duckdb scan (rows, exact sum): parquet export {:.3} s, original CSVs {:.3} s ({:.1}x), peak RSS {}",
            secs("parquet"),
            secs("csv"),
            secs("csv") / secs("parquet"),
            mib(d["peak_rss_bytes"].as_u64())
        );
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
        "  peak RSS <= 12 GiB (every step)     {} ({})",
        verdict(max_rss <= 12 << 30),
        mib(Some(max_rss))
    );
    if let Some(Ok(c)) = &spark {
        println!("  Spark path exactly equal           {}", verdict(c.equal));
    }
    if stored < 500_000_000 {
        println!(
            "  5x10^8 transfers                    not run at this size (--transfers 500000000)"
        );
    }
    Ok(())
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
