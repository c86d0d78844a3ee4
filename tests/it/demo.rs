//! Integration test: `tripoint demo`, the README's main job, end to end: its
//! first screen answers the analyst's question in whole units, everything
//! else lands in files, and every hint it prints runs as printed.

use crate::common::{run_ok, tripoint};

#[test]
fn demo_opens_with_the_answer_and_every_hint_runs_as_printed() {
    use tripoint_chain::{format_units, Amount};
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = run_ok(&[
        "demo",
        "--dir",
        work.to_str().unwrap(),
        "--transfers",
        "20000",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("tripoint demo: "), "{stdout}");
    assert!(
        stdout.lines().count() < 80,
        "the summary is long:\n{stdout}"
    );

    // What was stolen, in whole units with symbols, as the report says.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("trace.json")).unwrap()).unwrap();
    assert_eq!(report["policy"], "haircut");
    let stolen = stdout.lines().find(|l| l.starts_with("STOLEN")).unwrap();
    let mut seeded = 0;
    for t in report["totals"].as_object().unwrap().values() {
        if t["seeded"] == "0" {
            continue;
        }
        seeded += 1;
        let whole = format_units(
            Amount::from_str_radix(t["seeded"].as_str().unwrap(), 10).unwrap(),
            t["decimals"].as_u64().unwrap() as u8,
        );
        let want = format!("{whole} {}", t["symbol"].as_str().unwrap());
        assert!(stolen.contains(&want), "{want} not in {stolen}");
    }
    assert!(seeded >= 2, "{stolen}");
    for part in [
        "WHERE IT IS NOW",
        "CAN STILL BE FROZEN: ",
        "TOP 5 ENDPOINTS",
        "CHECKED against the generator's ground truth",
        "EARLY WARNING: the 3 alerts that matter most",
        "Everything else is in ",
    ] {
        assert!(stdout.contains(part), "{part} missing:\n{stdout}");
    }
    // A freeze candidate of the report is on the first screen with its service.
    let fc = report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["freeze_candidate"] == true)
        .expect("a freeze candidate");
    let line = stdout
        .lines()
        .find(|l| l.contains(fc["address"].as_str().unwrap()))
        .unwrap();
    assert!(
        line.contains(fc["labels"][0]["label"].as_str().unwrap()),
        "{line}"
    );
    // Three alert rows under the early-warning header.
    let alerts: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("EARLY WARNING"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    for a in &alerts {
        let level = a.split_whitespace().next().unwrap();
        assert!(["red", "amber", "yellow"].contains(&level), "{a}");
    }
    // No base units on screen: long digit runs only inside addresses.
    for w in stdout.split_whitespace().filter(|w| !w.contains("0x")) {
        let digits = w.chars().filter(char::is_ascii_digit).count();
        assert!(digits < 16, "base units on the first screen: {w}");
    }

    // Everything else is in the folder, as listed.
    for f in [
        "steps.log",
        "trace.txt",
        "trace.json",
        "eval.json",
        "intel.txt",
        "ews-board.txt",
    ] {
        assert!(stdout.contains(&format!("  {f}")), "{f} not listed");
        assert!(work.join(f).is_file(), "{f} missing");
    }
    let board = std::fs::read_to_string(work.join("ews-board.txt")).unwrap();
    assert!(board.contains("open alerts"), "{board}");
    let trace_txt = std::fs::read_to_string(work.join("trace.txt")).unwrap();
    assert!(trace_txt.contains("TOTALS") && trace_txt.contains("SPAM"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(work.join("intel.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "intel.txt holds secrets");
    }
    let scores: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("eval.json")).unwrap()).unwrap();
    for part in ["laundering_addresses", "endpoints"] {
        assert!(scores[part]["recall"].as_f64().unwrap() >= 0.95, "{scores}");
        assert!(
            scores[part]["precision"].as_f64().unwrap() >= 0.9,
            "{scores}"
        );
    }

    // Every hint runs as printed.
    let hints: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "Next:")
        .skip(1)
        .map(str::trim)
        .collect();
    assert!(hints.len() >= 4, "{hints:?}");
    for h in &hints {
        let words: Vec<&str> = h.split_whitespace().collect();
        assert_eq!(words[0], "tripoint", "{h}");
        let out = run_ok(&words[1..]);
        assert!(!out.stdout.is_empty(), "{h} printed nothing");
    }

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
    let out = tripoint()
        .args(["demo", "--dir", foreign.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(foreign.join("keep.txt").is_file());
}
