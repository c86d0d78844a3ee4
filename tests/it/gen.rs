//! Integration tests: `tripoint gen` (the real binary, real files).

use std::collections::HashSet;

use crate::common::{run_ok, tripoint};

const FILES: [&str; 5] = [
    "transactions.csv",
    "token_transfers.csv",
    "tokens.csv",
    "labels.csv",
    "truth.json",
];

fn parse_addr(s: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 + 2 * i..4 + 2 * i], 16).expect("hex address");
    }
    out
}

#[test]
fn gen_is_deterministic_and_prints_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let out = run_ok(&[
        "gen",
        "--out",
        a.to_str().unwrap(),
        "--seed",
        "7",
        "--transfers",
        "20000",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    for want in [
        "rows                 20,000",
        "laundering addresses",
        "endpoints",
        "rows/s",
    ] {
        assert!(stdout.contains(want), "summary lacks {want:?}:\n{stdout}");
    }
    run_ok(&[
        "gen",
        "--out",
        b.to_str().unwrap(),
        "--seed",
        "7",
        "--transfers",
        "20000",
    ]);
    for f in FILES {
        let x = std::fs::read(a.join(f)).unwrap();
        assert!(x.len() > 100, "{f} is nearly empty");
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs for the same seed"
        );
    }
}

#[test]
fn gen_json_summary_matches_the_files_and_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let out = run_ok(&[
        "gen",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        "3",
        "--transfers",
        "60000",
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"], 60_000);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
    assert_eq!(
        summary["endpoints"],
        truth["endpoints"].as_array().unwrap().len()
    );
    assert_eq!(
        summary["laundering_addresses"],
        truth["laundering_addresses"].as_array().unwrap().len()
    );

    // Calibration measured from the CSV the investigator would import.
    let text = std::fs::read_to_string(dir.join("transactions.csv")).unwrap();
    let mut cal = tripoint_gen::Calibration::new();
    let mut rows = 0u64;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        cal.observe(f[3].parse().unwrap(), &parse_addr(f[5]), &parse_addr(f[6]));
        rows += 1;
    }
    let tt = std::fs::read_to_string(dir.join("token_transfers.csv")).unwrap();
    rows += tt.lines().count() as u64 - 1;
    assert_eq!(rows, 60_000);
    let fig = cal.figures();
    use tripoint_gen::calibration::*;
    assert!(
        (fig.tx_per_block / TARGET_TX_PER_BLOCK - 1.0).abs() < 0.05,
        "{fig:?}"
    );
    assert!(
        (fig.edges_per_address / TARGET_EDGES_PER_ADDRESS - 1.0).abs() < 0.10,
        "{fig:?}"
    );
    // A 6*10^4-row sample is noisier than the library test's 10^5: allow 15% around the range.
    let (lo, hi) = TARGET_SKEW_RANGE;
    assert!(
        fig.supernode_skew > lo * 0.85 && fig.supernode_skew < hi * 1.15,
        "{fig:?}"
    );

    // Truth addresses are where the files say: every laundering address transacts.
    let launder: HashSet<String> = truth["laundering_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap().to_string())
        .collect();
    let senders: HashSet<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap())
        .collect();
    for a in &launder {
        assert!(
            senders.contains(a.as_str()),
            "laundering address {a} never sends"
        );
    }
}

#[test]
fn gen_refuses_bad_sizes_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let out = tripoint()
        .args(["gen", "--out", dir.to_str().unwrap(), "--transfers", "500"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("transfers") && err.contains("10000"), "{err}");
    assert!(!dir.join("transactions.csv").exists());
}

/// `gen --store` (no CSV in between) builds the store an ingest of the
/// written files builds: the same transfers, labels and trace; a rerun adds
/// nothing.
#[test]
fn gen_into_a_store_equals_ingesting_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let gen_args = [
        "--seed",
        "5",
        "--transfers",
        "30000",
        "--contract-share",
        "0.3",
    ];
    let (direct_store, truth_dir, files_dir) = (p("direct"), p("truth"), p("files"));
    let mut direct = vec!["gen", "--store", &direct_store, "--out", &truth_dir];
    direct.extend(gen_args);
    // A small checkpoint interval: several batches published in between.
    direct.extend(["--checkpoint-every", "7000", "--json"]);
    let first: serde_json::Value = serde_json::from_slice(&run_ok(&direct).stdout).unwrap();
    let appended = first["appended"].as_u64().unwrap();
    assert!(appended > 30_000, "{first}");
    assert!(
        first["internal_transfers"].as_u64().unwrap() > 1_000,
        "{first}"
    );
    assert!(first["labels_added"].as_u64().unwrap() > 10, "{first}");
    let written: Vec<_> = std::fs::read_dir(p("truth"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(written, ["truth.json"], "only the ground truth is written");

    let mut files = vec!["gen", "--out", &files_dir];
    files.extend(gen_args);
    run_ok(&files);
    let f = |name: &str| format!("{}/{name}", p("files"));
    run_ok(&[
        "ingest",
        "--store",
        &p("ingested"),
        "ethereum-etl",
        "--transactions",
        &f("transactions.csv"),
        "--token-transfers",
        &f("token_transfers.csv"),
        "--tokens",
        &f("tokens.csv"),
        "--traces",
        &f("traces.csv"),
    ]);
    run_ok(&[
        "labels",
        "import",
        "--store",
        &p("ingested"),
        &f("labels.csv"),
    ]);
    assert_eq!(
        std::fs::read(f("truth.json")).unwrap(),
        std::fs::read(format!("{}/truth.json", p("truth"))).unwrap()
    );

    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f("truth.json")).unwrap()).unwrap();
    let thief = truth["seeds"]["addresses"][0].as_str().unwrap().to_string();
    let trace = |store: &str| {
        run_ok(&[
            "trace", "--store", store, "--seed", &thief, "--policy", "haircut", "--format", "json",
        ])
        .stdout
    };
    let (a, b) = (trace(&p("direct")), trace(&p("ingested")));
    let report: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert!(
        !report["endpoints"].as_array().unwrap().is_empty(),
        "the labels reached the trace: {report}"
    );
    assert_eq!(a, b, "the same trace from both stores");

    let again: serde_json::Value = serde_json::from_slice(&run_ok(&direct).stdout).unwrap();
    assert_eq!(again["appended"], 0, "{again}");
    assert_eq!(again["duplicates_skipped"].as_u64(), Some(appended));
    assert_eq!(again["labels_added"], 0, "{again}");
}
