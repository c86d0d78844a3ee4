//! The Spark peer of `bench scale`: the batch-exposure job
//! (`jobs/exposure.py`) on `local[1]` and `local[2]` over the Parquet export
//! of a generated graph, beside tripoint's own engine on the same store, with
//! the exactness check (the same poison nodes and haircut amounts).

use std::path::{Path, PathBuf};
use std::time::Instant;

use tripoint_chain::Category;
use tripoint_export::exposure::{engine_exposure, exposure_job_command, Exposure};
use tripoint_export::{export, ExportOptions};
use tripoint_store::Store;

use crate::error::{Context as _, Result};

/// Hop limit of the comparison (the job's and the engine's).
pub const HOPS: u32 = 4;

/// Heap of the driver JVM. On `local[N]` the executors run inside it, and
/// Spark's default of 1 GiB ran out of memory on `local[2]` at 10^6
/// transfers (2026-12-07: `UNABLE_TO_ACQUIRE_MEMORY` in the reachability
/// window), so the bench gives it what a small cluster node would.
pub const DRIVER_MEMORY: &str = "4g";

/// One measured run of the job.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SparkRun {
    pub master: String,
    pub seconds: f64,
    /// Peak RSS of the driver JVM (executors run inside it on `local[N]`).
    pub peak_rss_bytes: Option<u64>,
}

/// The job against the engine on one generated graph.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SparkComparison {
    pub transfers: u64,
    pub hops: u32,
    pub runs: Vec<SparkRun>,
    /// Poison and haircut for both seed categories, in process.
    pub engine_seconds: f64,
    pub equal: bool,
    /// The first differences (job value first), when not equal.
    pub differences: Vec<String>,
}

/// `spark-submit` and the job, or why they are unavailable.
fn find() -> std::result::Result<(PathBuf, PathBuf), String> {
    let project = crate::locate::project_dir()
        .ok_or("the project folder is unknown: set TRIPOINT_HOME".to_string())?;
    let submit = tripoint_export::exposure::find_spark_submit(&project)?;
    Ok((submit, project.join("jobs/exposure.py")))
}

/// Generate `transfers` transfers of the exposure graph into `work`, export
/// them, run the job on `local[1]` and `local[2]` and the engine, and compare.
/// `Ok(Err(why))` when Spark is not installed.
pub fn compare(
    work: &Path,
    transfers: u64,
) -> Result<std::result::Result<SparkComparison, String>> {
    let (submit, job) = match find() {
        Ok(found) => found,
        Err(why) => return Ok(Err(why)),
    };
    let store_dir = work.join("spark-store");
    let export_dir = work.join("spark-parquet");
    {
        let store = Store::open_or_create(&store_dir).context("creating the Spark store")?;
        let mut app = store.appender().context("opening the Spark store")?;
        let labels = tripoint_gen::write_exposure_graph(&mut app, transfers, 0x9e37_79b9)
            .context("writing the exposure graph")?;
        app.finish().context("finishing the Spark store")?;
        Store::open(&store_dir)
            .and_then(|s| s.import_labels(labels))
            .context("labelling the exposure graph")?;
    }
    let store = Store::open(&store_dir).context("opening the Spark store")?;
    export(
        &store,
        &export_dir,
        &ExportOptions {
            format_version: Some(tripoint_export::VERSION),
            ..ExportOptions::default()
        },
        &mut |_, _| {},
    )
    .context("exporting the exposure graph")?;

    let mut runs = Vec::new();
    let mut last_out = None;
    for cores in [1, 2] {
        let master = format!("local[{cores}]");
        let out = work.join(format!("spark-exposure-{cores}"));
        let cmd = exposure_job_command(
            &submit,
            &master,
            &["--driver-memory", DRIVER_MEMORY],
            &job,
            &export_dir,
            &out,
            HOPS,
        );
        // A failed run is reported with the figures of the steps before it
        // rather than losing them all.
        let m = match crate::run_measured(cmd) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Err(format!(
                    "the job failed on {master}: {}",
                    first_error(&e.to_string())
                )))
            }
        };
        runs.push(SparkRun {
            master,
            seconds: m.seconds,
            peak_rss_bytes: m.peak_rss_bytes,
        });
        last_out = Some(out);
    }
    let job_out =
        Exposure::read(&last_out.expect("two runs")).context("reading the job's output")?;

    let t = Instant::now();
    let mut differences = Vec::new();
    for (name, category) in [
        ("sanctioned", Category::Sanctioned),
        ("dprk-attributed", Category::DprkAttributed),
    ] {
        let engine = engine_exposure(&store, &category, HOPS).context("engine exposure")?;
        for d in job_out.category(name).differences(&engine, 8) {
            differences.push(format!("{name}: {d}"));
        }
    }
    let engine_seconds = t.elapsed().as_secs_f64();
    Ok(Ok(SparkComparison {
        transfers,
        hops: HOPS,
        runs,
        engine_seconds,
        equal: differences.is_empty(),
        differences,
    }))
}

/// The line of a failed job's output that says why (Spark prints the cause
/// among hundreds of lines of stack trace), shortened.
fn first_error(output: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.contains("Error:") || l.contains("Exception:"))
        .or_else(|| output.lines().next())
        .unwrap_or("")
        .trim();
    line.chars().take(300).collect()
}
