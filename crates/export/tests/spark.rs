//! The Spark job (jobs/exposure.py, run by spark-submit on local[2]) against
//! tripoint's own engine on a generated graph: the same poison nodes (role,
//! hops, first tainted transfer) and the same haircut amounts, exactly.
//!
//! Needs spark-submit and a Java runtime (scripts/setup-spark.sh, which
//! scripts/test.sh runs): `$TRIPOINT_SPARK_SUBMIT`, else the project venv's.
//! Without them the test says it skipped and passes.

use std::path::{Path, PathBuf};

use tripoint_chain::{Amount, Category, TransferGraph};
use tripoint_export::exposure::{
    engine_exposure, exposure_job_command, find_spark_submit, Exposure,
};
use tripoint_export::{export, ExportOptions};
use tripoint_gen::write_exposure_graph;
use tripoint_store::Store;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// spark-submit with a Java runtime, or why not.
fn spark_submit() -> Result<PathBuf, String> {
    find_spark_submit(&root())
}

/// The exposure graph (tripoint_gen) at `transfers`, stored and labelled.
fn generate(dir: &Path, transfers: u64, seed: u64) {
    let store = Store::open_or_create(dir).expect("store");
    let mut app = store.appender().expect("appender");
    let labels = write_exposure_graph(&mut app, transfers, seed).expect("graph");
    app.finish().expect("finish");
    Store::open(dir)
        .expect("open")
        .import_labels(labels)
        .expect("labels");
}

#[test]
fn spark_job_equals_the_engine_exactly() {
    let spark = match spark_submit() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: Spark not installed ({why}); run scripts/setup-spark.sh");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("tmp");
    // TRIPOINT_SPARK_KEEP=DIR keeps the store, export and job output there.
    let dir = std::env::var_os("TRIPOINT_SPARK_KEEP")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let dir = &dir;
    let st = dir.join("store");
    generate(&st, 8_000, 0x9e37_79b9_7f4a_7c15);
    let store = Store::open(&st).expect("open");
    let hops = 4;
    // The job reads both format versions; each must give the engine's answer.
    for version in [tripoint_export::VERSION, tripoint_export::VERSION_1] {
        let ex = dir.join(format!("export-v{version}"));
        let out = dir.join(format!("exposure-v{version}"));
        let opts = ExportOptions {
            rows_per_file: 6_000,
            format_version: Some(version),
            ..ExportOptions::default()
        };
        export(&store, &ex, &opts, &mut |_, _| {}).expect("export");
        let job = root().join("jobs/exposure.py");
        let status = exposure_job_command(&spark, "local[2]", &[], &job, &ex, &out, hops)
            .status()
            .expect("spark-submit runs");
        assert!(status.success(), "spark-submit failed: {status}");
        let job = Exposure::read(&out).expect("job output");
        assert_eq!(job.meta.hops, hops);

        for (name, category) in [
            ("sanctioned", Category::Sanctioned),
            ("dprk-attributed", Category::DprkAttributed),
        ] {
            let want = engine_exposure(&store, &category, hops).expect("engine");
            let got = job.category(name);
            assert!(want.nodes.len() > 50, "{name}: a trace worth comparing");
            assert!(
                want.nodes.values().any(|n| n.0 == "endpoint"),
                "{name}: terminals reached"
            );
            assert!(
                want.nodes.values().any(|n| n.1 == hops),
                "{name}: hop limit reached"
            );
            assert!(
                want.amounts.values().any(|a| a.1 > Amount::ZERO),
                "{name}: taint held"
            );
            let diff = got.differences(&want, 8);
            assert!(
                diff.is_empty(),
                "v{version} {name}: the job (left) and the engine (right) differ:\n{}",
                diff.join("\n")
            );
            // Every row names its address as the store does.
            for r in job.reach.iter().filter(|r| r.category == name) {
                assert_eq!(r.address, store.address(r.address_id as u32).to_string());
            }
        }
    }
}
