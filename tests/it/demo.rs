//! Integration test: `tripoint demo`, the README's main job, end to end.

use crate::common::run_ok;

/// Pull "recall X" out of an eval line such as
/// `laundering addresses   precision 1.000  recall 1.000  (tp 103, ...)`.
fn figure(line: &str, name: &str) -> f64 {
    let rest = line
        .split(name)
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in {line}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn demo_runs_every_engine_and_the_trace_finds_the_laundering() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = run_ok(&[
        "demo",
        "--dir",
        work.to_str().unwrap(),
        "--transfers",
        "20000",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for step in 1..=7 {
        assert!(
            stdout.contains(&format!("== {step}/7")),
            "step {step} missing:\n{stdout}"
        );
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("laundering addresses"))
        .expect("eval line");
    assert!(figure(line, "recall") >= 0.95, "{line}");
    assert!(figure(line, "precision") >= 0.9, "{line}");
    assert!(work.join("trace.json").is_file());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("trace.json")).unwrap()).unwrap();
    assert_eq!(report["policy"], "haircut");
    assert!(stdout.contains("open alerts"), "ews board missing");

    // A second run clears its own folder and starts again…
    run_ok(&[
        "demo",
        "--dir",
        work.to_str().unwrap(),
        "--transfers",
        "10000",
    ]);
    // …but never a folder it did not make.
    let foreign = dir.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), b"user data").unwrap();
    let out = crate::common::tripoint()
        .args(["demo", "--dir", foreign.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(foreign.join("keep.txt").is_file());
}
