//! Integration tests: `tripoint trace`, `screen` and `eval` through the real
//! binary, on a generated scenario and on the real Ronin (Lazarus) export.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{run_ok, shared_data, tripoint};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Generate a scenario, ingest it and import its labels.
/// The scenario's ground truth, its first seed (the thief) and the start time.
fn thief(truth: &Path) -> (Value, String, String) {
    let t: Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
    let seed = t["seeds"]["addresses"][0].as_str().unwrap().to_string();
    let from = t["seeds"]["start_time"].as_i64().unwrap().to_string();
    (t, seed, from)
}

/// `tripoint trace` in `format` for one policy from `seed` at `from`, plus `extra` flags.
fn trace_out(
    store: &Path,
    seed: &str,
    from: &str,
    policy: &str,
    format: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "trace",
        "--store",
        s(store),
        "--seed",
        seed,
        "--from",
        from,
        "--policy",
        policy,
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    run_ok(&args)
}

/// `tripoint trace` JSON for one policy from `seed` at `from`, plus `extra` flags.
fn trace_json(store: &Path, seed: &str, from: &str, policy: &str, extra: &[&str]) -> Value {
    json(trace_out(store, seed, from, policy, "json", extra))
}

fn scenario(dir: &Path, seed: &str, transfers: &str) -> (PathBuf, PathBuf) {
    let gen = dir.join("gen");
    let store = dir.join("store");
    run_ok(&[
        "gen",
        "--out",
        s(&gen),
        "--seed",
        seed,
        "--transfers",
        transfers,
    ]);
    run_ok(&[
        "ingest",
        "--store",
        s(&store),
        "ethereum-etl",
        "--transactions",
        s(&gen.join("transactions.csv")),
        "--token-transfers",
        s(&gen.join("token_transfers.csv")),
        "--tokens",
        s(&gen.join("tokens.csv")),
    ]);
    run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        s(&gen.join("labels.csv")),
    ]);
    (store, gen.join("truth.json"))
}

fn json(out: std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn big(v: &Value) -> u128 {
    v.as_str()
        .expect("decimal string")
        .parse()
        .expect("integer")
}

#[test]
fn eval_meets_precision_and_recall_goals_on_a_generated_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "11", "20000");
    let scores = json(run_ok(&[
        "eval",
        "--store",
        s(&store),
        "--truth",
        s(&truth),
        "--format",
        "json",
    ]));
    for part in ["laundering_addresses", "endpoints"] {
        let pr = &scores[part];
        let (p, r) = (
            pr["precision"].as_f64().unwrap(),
            pr["recall"].as_f64().unwrap(),
        );
        assert!(r >= 0.95, "{part} recall {r}: {pr}");
        assert!(p >= 0.9, "{part} precision {p}: {pr}");
        assert!(pr["true_positives"].as_u64().unwrap() > 10, "{part}: {pr}");
    }
    assert_eq!(scores["spam_tainted"], Value::Array(vec![]), "spam tainted");
    assert!(scores["spam_transfers_listed"].as_u64().unwrap() > 0);
    assert_eq!(scores["totals_reconcile"], Value::Bool(true));
}

#[test]
fn trace_report_follows_the_schema_and_reconciles_for_every_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "5", "12000");
    let (t, seed, from) = thief(&truth);
    let spam: std::collections::HashSet<&str> = t["spam_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut reached_by = std::collections::BTreeMap::new();
    for policy in ["poison", "haircut", "fifo", "lifo", "tiho"] {
        let r = trace_json(&store, &seed, &from, policy, &["--cluster"]);
        assert_eq!(r["policy"], policy);
        assert_eq!(r["seeds"][0], seed.as_str());
        let addrs = r["addresses"].as_array().unwrap();
        for a in addrs {
            for k in [
                "address",
                "taint",
                "hops",
                "first_tainted",
                "labels",
                "patterns",
            ] {
                assert!(a.get(k).is_some(), "{policy}: address lacks {k}: {a}");
            }
            assert!(
                !spam.contains(a["address"].as_str().unwrap()),
                "{policy}: spam tainted"
            );
        }
        assert!(
            !r["spam"].as_array().unwrap().is_empty(),
            "{policy}: spam listed"
        );
        assert!(
            !r["paths"].as_array().unwrap().is_empty(),
            "{policy}: paths"
        );
        for p in r["paths"].as_array().unwrap() {
            let hops = p["hops"].as_array().unwrap();
            assert_eq!(
                hops[0]["from"],
                seed.as_str(),
                "{policy}: path starts at the seed"
            );
            assert_eq!(hops.last().unwrap()["to"], p["endpoint"]);
            assert!(hops.iter().all(|h| h["tx"].as_str().unwrap().len() == 66));
        }
        // Freeze candidates come first.
        let eps = r["endpoints"].as_array().unwrap();
        let first_non = eps
            .iter()
            .position(|e| e["freeze_candidate"] == false)
            .unwrap_or(eps.len());
        assert!(eps[first_non..]
            .iter()
            .all(|e| e["freeze_candidate"] == false));
        for (asset, tot) in r["totals"].as_object().unwrap() {
            if policy == "poison" {
                continue;
            }
            assert_eq!(tot["reconciles"], true, "{policy} {asset}: {tot}");
            let lhs = big(&tot["seeded"]) + big(&tot["swapped_in"]);
            let rhs = big(&tot["held"])
                + big(&tot["exited"])
                + big(&tot["unaccounted"])
                + big(&tot["swapped_out"]);
            assert_eq!(lhs, rhs, "{policy} {asset}");
        }
        if policy == "haircut" {
            // The stolen ETH is seeded exactly.
            let stolen = t["stolen"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["asset"] == "ETH")
                .unwrap();
            assert_eq!(big(&r["totals"]["ETH"]["seeded"]), big(&stolen["amount"]));
            let tags: std::collections::BTreeSet<&str> = addrs
                .iter()
                .flat_map(|a| {
                    a["patterns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_str().unwrap())
                })
                .collect();
            for want in [
                "round-amount-fan-out",
                "consolidation",
                "peel-chain",
                "pause-then-dispersion",
                "mixer-deposit",
                "bridge-exit",
                "exchange-deposit",
                "dex-swap",
                "address-poisoning",
            ] {
                assert!(tags.contains(want), "pattern {want} not found in {tags:?}");
            }
        }
        let reached: std::collections::BTreeSet<String> = addrs
            .iter()
            .map(|a| a["address"].as_str().unwrap().to_string())
            .collect();
        reached_by.insert(policy, reached);
    }
    for (policy, set) in &reached_by {
        assert!(
            set.is_subset(&reached_by["poison"]),
            "{policy} reached more than poison"
        );
    }
    // Other formats render.
    let dot = run_ok(&[
        "trace",
        "--store",
        s(&store),
        "--seed",
        &seed,
        "--format",
        "dot",
    ]);
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.starts_with("digraph trace {"));
    // Edge labels in whole units with the asset's symbol.
    assert!(dot.contains(" ETH\"]"), "{dot}");
    for w in dot.split(['"', ' ']).filter(|w| !w.contains("0x")) {
        let digits = w.chars().filter(char::is_ascii_digit).count();
        assert!(digits < 16, "base units in the dot graph: {w}");
    }
    let table = run_ok(&[
        "trace",
        "--store",
        s(&store),
        "--seed",
        &seed,
        "--format",
        "table",
    ]);
    assert!(String::from_utf8(table.stdout)
        .unwrap()
        .contains("ENDPOINTS"));
}

#[test]
fn trace_rejects_bad_input_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "3", "10000");
    let (_, seed, _) = thief(&truth);
    let unknown = "0x1111111111111111111111111111111111111111";
    let out = tripoint()
        .args(["trace", "--store", s(&store), "--seed", unknown])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(unknown) && err.contains("not found"), "{err}");
    let out = tripoint()
        .args([
            "trace",
            "--store",
            s(&store),
            "--seed",
            unknown,
            "--policy",
            "fifoo",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fifoo"));
    let out = tripoint()
        .args([
            "trace",
            "--store",
            s(&store),
            "--seed",
            "0xnothex",
            "--from",
            "2025-01-01",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seed 0xnothex"));
    // A short hex string is named for what it is not.
    let out = tripoint()
        .args(["trace", "--store", s(&store), "--seed", "0xdeadbeef"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'0xdeadbeef' is neither an Ethereum address")
            && err.contains("nor a Bitcoin address"),
        "{err}"
    );
    // Screening an address the store has never seen says so (no "0.00%").
    let table =
        String::from_utf8(run_ok(&["screen", "--store", s(&store), unknown]).stdout).unwrap();
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for col in ["address", "direct hit", "exposure ≤2 hops", "labels"] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(unknown) && row.contains("not in store"),
        "{row}"
    );
    assert!(!row.contains('%'), "{row}");
    for hops in ["0", "2"] {
        let v = json(run_ok(&[
            "screen",
            "--store",
            s(&store),
            unknown,
            "--hops",
            hops,
            "--format",
            "json",
        ]));
        assert_eq!(v[0]["in_store"], false, "--hops {hops}");
    }
    let bad = tmp.path().join("addrs.txt");
    std::fs::write(&bad, format!("address\n{unknown}\nnot-an-address!\n")).unwrap();
    let out = tripoint()
        .args(["screen", "--store", s(&store), "--file", s(&bad)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("addrs.txt:3: column address: 'not-an-address!'"),
        "{err}"
    );
    // The same reader, and the same message, for --trusted-tokens.
    let out = tripoint()
        .args(["trace", "--store", s(&store), "--seed", &seed])
        .args(["--trusted-tokens", s(&bad)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--trusted-tokens") && err.contains("addrs.txt:3: column address"),
        "{err}"
    );
}

/// `(address prefix, whole ETH, decimals as written)` from SOURCE.md's
/// "-> 0x35fb6f6d... (33,568.152 ETH)" list.
fn consolidation_hops(source: &str) -> Vec<(String, u128, u32)> {
    let mut out = Vec::new();
    for part in source.split("-> ").skip(1) {
        let Some((addr, rest)) = part.split_once("... (") else {
            continue;
        };
        let num: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .filter(|c| *c != ',')
            .collect();
        let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
        let scaled: u128 = format!("{int}{frac}").parse().unwrap();
        out.push((addr.to_ascii_lowercase(), scaled, frac.len() as u32));
    }
    out
}

#[test]
fn ronin_trace_reaches_the_sanctioned_wallets_and_screening_flags_lazarus() {
    let Some(data) = shared_data() else { return };
    let ronin = data.join("crypto/ronin-lazarus-dune");
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    run_ok(&[
        "ingest",
        "--store",
        s(&store),
        "transfers-csv",
        s(&ronin.join("LazarusTabularTxs1322519.csv")),
        "--map",
        "from=from,to=to,amount=total_eth,time=block_time",
    ]);
    run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        s(&data.join("crypto/ofac-0xb10c/sanctioned_addresses_ETH.txt")),
        s(&data.join("crypto/ofac-eth-ultrasound/data.csv")),
    ]);
    let exploiter = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
    let r = json(run_ok(&[
        "trace",
        "--store",
        s(&store),
        "--seed",
        exploiter,
        "--policy",
        "haircut",
        "--format",
        "json",
    ]));
    let hops = consolidation_hops(&std::fs::read_to_string(ronin.join("SOURCE.md")).unwrap());
    assert_eq!(hops.len(), 7, "SOURCE.md lists 7 consolidation hops");
    let eps = r["endpoints"].as_array().unwrap();
    for (prefix, scaled, decimals) in &hops {
        let e = eps
            .iter()
            .find(|e| e["address"].as_str().unwrap().starts_with(prefix.as_str()))
            .unwrap_or_else(|| panic!("{prefix} not reached: {eps:?}"));
        assert_eq!(e["category"], "sanctioned");
        // The tainted amount equals SOURCE.md's figure to the digits it gives.
        let wei = big(&e["amount"]);
        let unit = 10u128.pow(18 - decimals);
        let want = scaled * unit;
        let diff = wei.abs_diff(want);
        assert!(
            diff * 2 <= unit,
            "{prefix}: traced {wei} wei, SOURCE.md {want} (±{unit}/2)"
        );
    }
    assert_eq!(r["totals"]["ETH"]["reconciles"], true);

    // Screening: the 8 distinct OFAC Lazarus addresses of LazarusGroup.txt are direct hits.
    let out = run_ok(&[
        "screen",
        "--store",
        s(&store),
        "--file",
        s(&ronin.join("LazarusGroup.txt")),
        "--hops",
        "0",
        "--format",
        "json",
    ]);
    let verdicts = json(out);
    let distinct: std::collections::BTreeSet<&str> = verdicts
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(v["direct_hit"], true, "{v}");
            assert!(v["hits"][0]["source"].as_str().unwrap().len() > 3);
            v["address"].as_str().unwrap()
        })
        .collect();
    assert_eq!(distinct.len(), 8, "{distinct:?}");

    // Indirect exposure: a wallet paid by the exploiter, unlabelled itself.
    let paid = r["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "walked" && a["labels"].as_array().unwrap().is_empty())
        .unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let v = json(run_ok(&[
        "screen",
        "--store",
        s(&store),
        &paid,
        "--hops",
        "2",
        "--format",
        "json",
    ]));
    assert_eq!(v[0]["direct_hit"], false);
    let share = v[0]["max_exposure"].as_f64().unwrap();
    assert!(share > 0.5, "exposure of {paid}: {share}");
}

#[test]
fn bench_trace_smoke_runs_every_part() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(&[
        "bench",
        "trace",
        "--smoke",
        "--no-peers",
        "--dir",
        s(&tmp.path().join("b")),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "full-graph haircut",
        "sequential pass",
        "tripoint reach",
        "tripoint poison trace",
        "latency p50",
        "lookups/s",
        "multi-input clustering",
    ] {
        assert!(text.contains(want), "missing '{want}' in:\n{text}");
    }
    // The lean reachability and the full poison trace reach the same set.
    let reached = |prefix: &str| {
        let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
        let after = line.split("reached ").nth(1).unwrap();
        after.split_whitespace().next().unwrap().to_string()
    };
    assert_eq!(reached("tripoint reach"), reached("tripoint poison trace"));
    assert!(!text.contains("DIFFER"), "{text}");
}

/// The three traversals (sparse walk, sweep kernels, auto) are cost choices
/// only: the real binary on a generated store prints the same report with
/// each, for every policy (the fast kernels cover poison, haircut and TIHO;
/// FIFO/LIFO sweep on the general engine).
#[test]
fn trace_traversals_give_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "11", "20000");
    let (_, seed, from) = thief(&truth);
    for policy in ["poison", "haircut", "fifo", "lifo", "tiho"] {
        let report =
            |traversal: &str| trace_json(&store, &seed, &from, policy, &["--traversal", traversal]);
        let sparse = report("sparse");
        assert!(
            sparse["addresses"].as_array().unwrap().len() > 1,
            "{policy}: the trace reaches nothing"
        );
        for other in ["sweep", "auto"] {
            let r = report(other);
            for field in [
                "policy",
                "seeds",
                "addresses",
                "endpoints",
                "paths",
                "totals",
            ] {
                assert_eq!(r[field], sparse[field], "{policy} {other}: {field} differs");
            }
            // Without look-alike receipts the sparse poison walk skips
            // incoming spam that a sweep sees; other policies list the same.
            if policy != "poison" {
                assert_eq!(r["spam"], sparse["spam"], "{policy} {other}: spam differs");
            }
        }
    }
}

/// Amounts for people: the table prints whole units with the asset's symbol,
/// digits grouped, and TOTALS shows the swap columns so every row reconciles
/// on screen; the JSON keeps exact base units and adds symbol and decimals.
#[test]
fn trace_table_reads_in_whole_units_and_json_names_every_asset() {
    use tripoint_chain::{format_units, Amount};
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "5", "12000");
    let (_, seed, from) = thief(&truth);
    let r = trace_json(&store, &seed, &from, "haircut", &[]);
    let assets = r["assets"].as_object().unwrap();
    assert_eq!(assets["ETH"]["symbol"], "ETH");
    assert_eq!(assets["ETH"]["decimals"], 18);
    // stETH's symbol and decimals come from the scenario's tokens.csv.
    let steth = "0xae7ab96520de3a18e5e111b5eaab095312d7fe84";
    assert_eq!(assets[steth]["symbol"], "stETH", "{assets:?}");
    assert_eq!(assets[steth]["decimals"], 18);
    for e in r["endpoints"].as_array().unwrap() {
        let a = &assets[e["asset"].as_str().unwrap()];
        assert_eq!(
            (&e["symbol"], &e["decimals"]),
            (&a["symbol"], &a["decimals"])
        );
        big(&e["amount"]);
    }
    for x in r["spam"].as_array().unwrap() {
        assert!(assets.contains_key(x["asset"].as_str().unwrap()), "{x}");
    }

    let table =
        String::from_utf8(trace_out(&store, &seed, &from, "haircut", "table", &[]).stdout).unwrap();
    let mut lines = table.lines().skip_while(|l| !l.starts_with("TOTALS"));
    lines.next();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "asset",
            "seeded",
            "swapped_in",
            "swapped_out",
            "held",
            "exited",
            "unaccounted",
            "reconciles"
        ]
    );
    let rows: Vec<Vec<&str>> = lines
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let totals = r["totals"].as_object().unwrap();
    assert_eq!(rows.len(), totals.len());
    for (key, t) in totals {
        let sym = t["symbol"].as_str().unwrap();
        assert_eq!(sym, assets[key]["symbol"]);
        // No spam token is ever seeded.
        if assets[key]["spam"] == true {
            assert_eq!(t["seeded"], "0", "{key}");
        }
        let d = t["decimals"].as_u64().unwrap() as u8;
        let row = rows
            .iter()
            .find(|r| r[0] == sym)
            .unwrap_or_else(|| panic!("no TOTALS row for {sym}:\n{table}"));
        let whole = |f: &str| {
            format_units(
                Amount::from_str_radix(t[f].as_str().unwrap(), 10).unwrap(),
                d,
            )
        };
        let fields = [
            "seeded",
            "swapped_in",
            "swapped_out",
            "held",
            "exited",
            "unaccounted",
        ];
        let want: Vec<String> = fields.iter().map(|f| whole(f)).collect();
        assert_eq!(&row[1..7], want.as_slice(), "{sym}");
        assert_eq!(row[7], "yes", "{sym}");
    }
    // The stolen stETH left through a swap, and the table shows it.
    let st = rows.iter().find(|r| r[0] == "stETH").expect("stETH row");
    assert_ne!(st[3], "0", "stETH swapped_out: {st:?}");
    // Whole units everywhere: no long digit runs outside addresses and hashes.
    for w in table.split_whitespace().filter(|w| !w.contains("0x")) {
        let digits = w.chars().filter(char::is_ascii_digit).count();
        assert!(digits < 16, "base units in the table: {w}");
    }
    assert!(table.contains(" ETH"), "{table}");
}

#[test]
fn trace_parquet_writes_the_flows_the_json_report_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "7", "10000");
    let (_, seed, from) = thief(&truth);
    let base = [
        "trace",
        "--store",
        s(&store),
        "--seed",
        &seed,
        "--from",
        &from,
    ];
    // --format parquet needs --out, and --out needs --format parquet.
    let out = tripoint()
        .args(base)
        .args(["--format", "parquet"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out DIR"));
    let dir = tmp.path().join("trace-parquet");
    let out = tripoint()
        .args(base)
        .args(["--out", s(&dir)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.exists(), "nothing is written on a usage error");

    let printed = run_ok(&[&base[..], &["--format", "parquet", "--out", s(&dir)]].concat());
    let printed = String::from_utf8_lossy(&printed.stdout).to_string();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tripoint-trace.json")).unwrap())
            .unwrap();
    let json: Value =
        serde_json::from_slice(&run_ok(&[&base[..], &["--format", "json"]].concat()).stdout)
            .unwrap();
    // The manifest carries the same totals as the JSON report, to the unit.
    assert_eq!(manifest["totals"], json["totals"]);
    assert_eq!(manifest["format"], "tripoint-trace-parquet");
    assert_eq!(manifest["version"], 1);
    let flows: u64 = manifest["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(dir.join(f["file"].as_str().unwrap()).is_file());
            f["rows"].as_u64().unwrap()
        })
        .sum();
    assert!(flows > 0);
    assert!(
        printed.contains(&format!("wrote {flows} tainted flows")),
        "{printed}"
    );
    assert!(dir.join("addresses.parquet").is_file());
}

#[test]
fn bench_scale_smoke_measures_every_step_as_its_own_process() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("b");
    let out = run_ok(&[
        "bench",
        "scale",
        "--smoke",
        "--no-peer",
        "--json",
        "--dir",
        s(&work),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = v["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "generate (CSV)",
            "ingest",
            "trace haircut (to Parquet)",
            "trace poison (to Parquet)",
            "export parquet"
        ]
    );
    for step in steps {
        assert!(step["per_sec"].as_f64().unwrap() > 0.0, "{step}");
        // A child's own high-water mark: at least a few MiB, far below the machine.
        let rss = step["peak_rss_bytes"].as_u64().unwrap();
        assert!(rss > 1 << 20 && rss < 8 << 30, "{step}");
    }
    let stored = v["transfers_stored"].as_u64().unwrap();
    assert!(stored > 90_000 && stored <= v["transfers_generated"].as_u64().unwrap());
    assert_eq!(v["goals"]["size_is_5e8"], false);
    // The export it timed is complete.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("parquet/tripoint-export.json")).unwrap(),
    )
    .unwrap();
    let rows: u64 = manifest["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, stored);
    // bench scale measures format version 2 (binary hashes and addresses).
    assert_eq!(manifest["version"], 2);
}

/// `bench scale --store --truth` measures a store made by `tripoint gen
/// --store` as it is: no CSV is written, nothing is generated or ingested,
/// the store is not changed, and the trace and export steps run on it.
#[test]
fn bench_scale_runs_on_an_existing_generated_store_without_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = (tmp.path().join("store"), tmp.path().join("truth"));
    run_ok(&[
        "gen",
        "--store",
        s(&store),
        "--out",
        s(&truth),
        "--transfers",
        "20000",
    ]);
    let manifest_before = std::fs::read(store.join("MANIFEST")).unwrap();
    let work = tmp.path().join("b");
    let out = run_ok(&[
        "bench",
        "scale",
        "--store",
        s(&store),
        "--truth",
        s(&truth),
        "--no-peer",
        "--json",
        "--dir",
        s(&work),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["input"], "existing-store");
    let names: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "trace haircut (to Parquet)",
            "trace poison (to Parquet)",
            "export parquet"
        ]
    );
    for step in v["steps"].as_array().unwrap() {
        assert!(step.get("failed").is_none(), "{step}");
        assert!(step["per_sec"].as_f64().unwrap() > 0.0, "{step}");
    }
    let stored = v["transfers_stored"].as_u64().unwrap();
    assert!(stored > 15_000, "{v}");
    assert_eq!(v["transfers_exported"].as_u64().unwrap(), stored);
    assert!(v["bytes_per_transfer"].as_f64().unwrap() > 10.0, "{v}");
    assert!(
        v["export_bytes_per_transfer"].as_f64().unwrap() > 10.0,
        "{v}"
    );
    // No CSV anywhere in the work dir, and the store is as it was.
    let mut dirs = vec![work.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            assert_ne!(
                path.extension().and_then(|x| x.to_str()),
                Some("csv"),
                "{path:?}"
            );
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    assert!(!work.join("store").exists());
    assert_eq!(
        std::fs::read(store.join("MANIFEST")).unwrap(),
        manifest_before
    );
}

/// `--format reached` lists exactly the poison trace's addresses with their
/// hop counts (answered by the lean kernel where it applies), and refuses
/// any other policy.
#[test]
fn trace_format_reached_lists_the_poison_traces_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, truth) = scenario(tmp.path(), "12", "20000");
    let (_, seed, from) = thief(&truth);
    let poison = trace_json(&store, &seed, &from, "poison", &[]);
    let mut expected: Vec<(String, u64)> = poison["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap().to_string(),
                a["hops"].as_u64().unwrap(),
            )
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 2, "the trace reaches nothing");
    let out = trace_out(&store, &seed, &from, "poison", "reached", &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("REACHED ({} addresses", expected.len())),
        "{text}"
    );
    assert!(lines.next().unwrap().starts_with("address"), "{text}");
    let mut got: Vec<(String, u64)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_string(), cells[2].parse().unwrap())
        })
        .collect();
    got.sort();
    assert_eq!(got, expected);

    let refused = tripoint()
        .args(["trace", "--store", s(&store), "--seed", &seed])
        .args(["--policy", "haircut", "--format", "reached"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--policy poison"), "{err}");
}
