//! `tripoint watch` against a real Ethereum node: anvil (npm package
//! @foundry-rs/anvil-linux-amd64, installed by scripts/setup-anvil.sh),
//! real transactions over JSON-RPC, a real local HTTP webhook receiver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::{
    anvil_bin, run_ok, tripoint, wait_for, write_upbit_tagpack, Anvil, Killed, ETHER, EXCHANGE,
    THIEF,
};

const MULE1: &str = "0x3a1e000000000000000000000000000000000002";
const MULE2: &str = "0x3a1e000000000000000000000000000000000003";
const CLEAN: &str = "0xc1ea000000000000000000000000000000000004";
/// Gets a gwei of the thief's: dust, below the watch's default minimum
/// for a new hop (10 ppm of what the thief paid out).
const DUST: &str = "0xd057000000000000000000000000000000000006";
const SECRET: &str = "drill-secret-0123456789";

/// One POST the webhook receiver got.
#[derive(Clone, Debug)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: String,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A real local HTTP server that records every POST and answers 200 (or
/// 503 while `down`). Its thread ends with the test process.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (g, d) = (got.clone(), down.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                let mut len = 0usize;
                // A request cut off before the blank line that ends its headers
                // (a sender killed with -9 mid-write) is not a delivery.
                let mut torn = false;
                loop {
                    let mut h = String::new();
                    if matches!(r.read_line(&mut h), Ok(0) | Err(_)) {
                        torn = true;
                        break;
                    }
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim().split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let mut body = vec![0; len];
                if torn || r.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = if d.load(std::sync::atomic::Ordering::SeqCst) {
                    "503 Service Unavailable"
                } else {
                    g.lock().unwrap().push(Delivery {
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    "200 OK"
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, got, down }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }
}

/// Check a delivery's HMAC-SHA256 signature (docs/watch.md).
fn verify(d: &Delivery) {
    let ts = d.header("X-Tripoint-Timestamp").expect("timestamp header");
    let sig = d.header("X-Tripoint-Signature").expect("signature header");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{}", d.body).as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig, format!("sha256={hex}"), "bad signature on {}", d.body);
    assert_eq!(
        d.header("X-Tripoint-Alert-Id"),
        d.json()["alert_id"].as_str()
    );
}

struct Drill {
    _tmp: tempfile::TempDir,
    store: PathBuf,
    secret: PathBuf,
    case_id: String,
}

/// A store with the exchange labelled by a TagPack (actor upbit, KR) and an
/// open case seeded with the thief.
fn drill(policy: &str) -> Drill {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("st");
    let (actors, pack) = write_upbit_tagpack(tmp.path(), EXCHANGE, "Upbit 9");
    run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        s(&actors),
        s(&pack),
    ]);
    let out = run_ok(&[
        "case",
        "new",
        "--store",
        s(&store),
        "--name",
        "drill",
        "--seed",
        THIEF,
        "--policy",
        policy,
        "--json",
    ]);
    let case: Value = serde_json::from_slice(&out.stdout).unwrap();
    let case_id = case["id"].as_str().unwrap().to_string();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Drill {
        _tmp: tmp,
        store,
        secret,
        case_id,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Start `tripoint watch`; stdout (the alerts) and stderr go to files.
fn watch(d: &Drill, anvil: &Anvil, extra: &[&str], tag: &str) -> (Killed, PathBuf, PathBuf) {
    let out = d.store.with_file_name(format!("watch-{tag}.out"));
    let err = d.store.with_file_name(format!("watch-{tag}.err"));
    let child = tripoint()
        .args([
            "watch",
            "--store",
            s(&d.store),
            "--rpc",
            &anvil.url,
            "--poll-ms",
            "50",
        ])
        .args(extra)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn tripoint watch");
    (Killed(child), out, err)
}

fn status(d: &Drill) -> Value {
    let out = run_ok(&[
        "watch",
        "--status",
        "--store",
        s(&d.store),
        "--format",
        "json",
    ]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The watch's live taint of the case equals a fresh `tripoint trace`.
fn assert_incremental_equals_batch(d: &Drill, policy: &str) {
    // The watch saves the cases' taint when it is idle at the head.
    let st = wait_for(30, "the taint saved as of the last stored block", || {
        let st = status(d);
        (!st["taint_block"].is_null() && st["taint_block"] == st["last_block"]).then_some(st)
    });
    let case = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == d.case_id.as_str())
        .expect("the case in --status")
        .clone();
    let live = &case["taint"]["addresses"];
    let out = run_ok(&[
        "trace",
        "--store",
        s(&d.store),
        "--seed",
        THIEF,
        "--policy",
        policy,
        "--format",
        "json",
    ]);
    let batch: Value = serde_json::from_slice(&out.stdout).unwrap();
    let batch_addrs = batch["addresses"].as_array().unwrap();
    assert_eq!(
        live.as_object().unwrap().len(),
        batch_addrs.len(),
        "live {live}\nbatch {batch}"
    );
    for a in batch_addrs {
        let l = &live[a["address"].as_str().unwrap()];
        assert_eq!(l["taint"], a["taint"], "taint of {}", a["address"]);
        assert_eq!(l["held"], a["held"], "held of {}", a["address"]);
        assert_eq!(l["hops"], a["hops"], "hops of {}", a["address"]);
    }
}

#[test]
fn drill_thief_two_mules_exchange_alerts_the_webhook_with_service_jurisdiction_and_exact_taint() {
    let anvil = Anvil::start();
    let d = drill("haircut");
    let hook = Receiver::start();
    for a in [THIEF, MULE1, MULE2, CLEAN] {
        anvil.fund(a, 1_000 * ETHER);
    }
    // A second case on the same thief that wants every new address, dust too.
    let every: Value = serde_json::from_slice(
        &run_ok(&[
            "case",
            "new",
            "--store",
            s(&d.store),
            "--name",
            "every hop",
            "--seed",
            THIEF,
            "--min-hop-ppm",
            "0",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(every["min_hop_ppm"], 0);
    let (_w, out, err) = watch(
        &d,
        &anvil,
        &[
            "--webhook",
            &hook.url,
            "--webhook-secret-file",
            s(&d.secret),
        ],
        "drill",
    );
    // Mule 1 also holds clean money, so haircut taints 10/20 of what it pays.
    anvil.send(CLEAN, MULE1, 10 * ETHER);
    anvil.send(THIEF, MULE1, 10 * ETHER);
    anvil.send(THIEF, MULE2, 4 * ETHER);
    anvil.send(THIEF, DUST, 1_000_000_000);
    let dep1 = anvil.send(MULE1, EXCHANGE, 7 * ETHER);
    let dep2 = anvil.send(MULE2, EXCHANGE, 3 * ETHER);
    let services = wait_for(60, "two service alerts at the webhook", || {
        let v: Vec<Value> = hook
            .deliveries()
            .iter()
            .inspect(|x| verify(x))
            .map(Delivery::json)
            .filter(|a| a["kind"] == "service" && a["case_id"] == d.case_id.as_str())
            .collect();
        (v.len() >= 2).then_some(v)
    });
    let by_tx = |h: &str| {
        services
            .iter()
            .find(|a| a["tx_hash"] == h)
            .unwrap_or_else(|| panic!("no alert for {h}: {services:?}"))
    };
    let a1 = by_tx(&dep1);
    assert_eq!(a1["case_id"], d.case_id.as_str());
    assert_eq!(a1["chain"], "ethereum");
    assert_eq!(a1["from"], MULE1);
    assert_eq!(a1["to"], EXCHANGE);
    assert_eq!(a1["asset"], "ETH");
    assert_eq!(a1["symbol"], "ETH");
    assert_eq!(a1["amount"], (7 * ETHER).to_string());
    assert_eq!(
        a1["taint"],
        (7 * ETHER / 2).to_string(),
        "haircut: 7 ETH x 10/20 tainted"
    );
    assert_eq!(a1["taint_share"], 0.5);
    assert_eq!(a1["hops"], 2);
    assert_eq!(a1["policy"], "haircut");
    assert_eq!(a1["service"]["label"], "Upbit 9");
    assert_eq!(a1["service"]["category"], "exchange");
    assert_eq!(a1["service"]["actor"], "upbit");
    assert_eq!(a1["service"]["jurisdictions"], json!(["KR"]));
    assert_eq!(a1["service"]["confidence"], "service_data");
    assert!(
        a1["service"]["source"].as_str().unwrap().contains("upbit"),
        "{a1}"
    );
    assert_eq!(a1["partner_with_jurisdiction"], "KR");
    for f in ["alert_id", "block", "time"] {
        assert!(!a1[f].is_null(), "{f} missing: {a1}");
    }
    let a2 = by_tx(&dep2);
    assert_eq!(
        a2["taint"],
        (3 * ETHER).to_string(),
        "mule 2 held only stolen funds"
    );
    // The mules were new hops.
    let hops: Vec<Value> = hook
        .deliveries()
        .iter()
        .map(Delivery::json)
        .filter(|a| a["kind"] == "new_hop")
        .collect();
    for m in [MULE1, MULE2] {
        assert!(
            hops.iter().any(|a| a["to"] == m && a["hops"] == 1),
            "no new_hop to {m}: {hops:?}"
        );
    }
    // stdout carries the same alerts as JSON lines, each once.
    let printed = wait_for(30, "the alerts on stdout", || {
        let l = lines(&out);
        (l.len() >= hook.deliveries().len()).then_some(l)
    });
    // Dust raised nothing under the default minimum (stdout is in block
    // order, and later blocks' alerts are there), but did for the case
    // whose own minimum is 0.
    let dust: Vec<&Value> = printed.iter().filter(|a| a["to"] == DUST).collect();
    assert_eq!(dust.len(), 1, "{dust:?}");
    assert_eq!(dust[0]["case_id"], every["id"]);
    assert_eq!(dust[0]["kind"], "new_hop");
    assert_eq!(dust[0]["taint"], "1000000000");
    for a in &services {
        assert_eq!(
            printed
                .iter()
                .filter(|p| p["alert_id"] == a["alert_id"])
                .count(),
            1,
            "{a}"
        );
    }
    // --status: caught up with the head, nothing pending.
    let st = wait_for(30, "status: no lag and no pending delivery", || {
        let st = status(&d);
        (st["lag"] == 0 && st["pending_deliveries"].as_array().unwrap().is_empty()).then_some(st)
    });
    assert_eq!(st["cursor"], anvil.head() + 1);
    assert_eq!(
        st["alerts"].as_u64().unwrap() as usize,
        hook.deliveries().len(),
        "{st}"
    );
    assert_incremental_equals_batch(&d, "haircut");
    // The case keeps its alerts (tripoint-case's alerts table).
    let cases = tripoint_case::open(&d.store, None).unwrap();
    let kept: Vec<String> = cases
        .alerts(&d.case_id)
        .unwrap()
        .into_iter()
        .map(|a| a.alert_id)
        .collect();
    for a in &services {
        assert!(
            kept.iter().any(|k| a["alert_id"] == k.as_str()),
            "{a} not kept with the case: {kept:?}"
        );
    }
    assert_eq!(
        kept.len(),
        hook.deliveries()
            .iter()
            .filter(|x| x.json()["case_id"] == d.case_id.as_str())
            .count()
    );
    assert!(std::fs::read_to_string(&err).unwrap().contains("following"));
}

#[test]
fn kill_9_mid_stream_loses_no_block_and_no_alert_and_keeps_alert_ids() {
    let anvil = Anvil::start();
    let d = drill("poison");
    let hook = Receiver::start();
    let chain: Vec<String> = (0..8)
        .map(|i| format!("0x3a1e0000000000000000000000000000000001{i:02x}"))
        .collect();
    anvil.fund(THIEF, 1_000 * ETHER);
    for m in &chain {
        anvil.fund(m, 10 * ETHER);
    }
    let args = [
        "--webhook",
        hook.url.as_str(),
        "--webhook-secret-file",
        s(&d.secret),
    ];
    let (mut w, out1, _) = watch(&d, &anvil, &args, "first");
    let mut prev = THIEF.to_string();
    let mut hashes = Vec::new();
    for (i, m) in chain.iter().enumerate() {
        hashes.push(anvil.send(&prev, m, (100 - i as u128) * ETHER / 10));
        prev = m.clone();
        if i == 3 {
            // Mid-stream: once some alerts are out, kill -9 the watch.
            wait_for(60, "a first alert", || {
                (!hook.deliveries().is_empty()).then_some(())
            });
            w.0.kill().unwrap();
            w.0.wait().unwrap();
        }
    }
    let deposit_tx = anvil.send(&prev, EXCHANGE, ETHER);
    // The deposit's own block, from its receipt: `eth_blockNumber` read right
    // after the send can still be the block before (anvil mines it after
    // answering), and the watch's cursor then never equals that head + 1.
    let head = wait_for(30, "the deposit mined", || {
        let r = anvil.call("eth_getTransactionReceipt", json!([deposit_tx]));
        r["blockNumber"]
            .as_str()
            .map(|b| u64::from_str_radix(b.trim_start_matches("0x"), 16).unwrap())
    });
    let (_w2, out2, _) = watch(&d, &anvil, &args, "second");
    // The last block's alert (the deposit) comes after the cursor moved.
    wait_for(
        90,
        "the restarted watch at the head, the deposit delivered",
        || {
            let st = status(&d);
            let deposit = hook.deliveries().iter().any(|x| x.json()["to"] == EXCHANGE);
            (deposit
                && st["cursor"] == head + 1
                && st["pending_deliveries"].as_array().unwrap().is_empty())
            .then_some(())
        },
    );
    let got: Vec<Value> = hook
        .deliveries()
        .iter()
        .inspect(|x| verify(x))
        .map(Delivery::json)
        .collect();
    // Every hop and the deposit raised an alert (none lost) ...
    for (i, m) in chain.iter().enumerate() {
        assert!(
            got.iter().any(|a| a["to"] == m.as_str()
                && a["kind"] == "new_hop"
                && a["hops"] == i as u64 + 1),
            "no alert for hop {i} to {m}"
        );
    }
    assert!(got
        .iter()
        .any(|a| a["to"] == EXCHANGE && a["kind"] == "service"));
    // ... and every copy of an alert carries the same id.
    let mut ids = std::collections::BTreeMap::new();
    for a in got
        .iter()
        .chain(lines(&out1).iter())
        .chain(lines(&out2).iter())
    {
        let key = (
            a["tx_hash"].as_str().unwrap().to_string(),
            a["kind"].as_str().unwrap().to_string(),
        );
        let id = a["alert_id"].as_str().unwrap().to_string();
        assert_eq!(
            ids.entry(key.clone()).or_insert(id.clone()),
            &id,
            "{key:?} under two ids"
        );
    }
    assert_eq!(ids.len(), chain.len() + 1, "{ids:?}");
    // No block skipped: every transfer is in the store, and the taint
    // equals a fresh trace over it.
    for h in &hashes {
        assert!(
            got.iter().any(|a| a["tx_hash"] == h.as_str()),
            "transfer {h} not seen"
        );
    }
    assert_eq!(status(&d)["alerts"].as_u64().unwrap() as usize, ids.len());
    assert_incremental_equals_batch(&d, "poison");
}

#[test]
fn a_reorg_within_the_confirmations_never_reaches_the_store_or_the_alerts() {
    let anvil = Anvil::start();
    let d = drill("haircut");
    anvil.fund(THIEF, 1_000 * ETHER);
    anvil.fund(MULE1, ETHER);
    let (_w, out, _) = watch(&d, &anvil, &["--confirmations", "2"], "reorg");
    // A first hop, confirmed by two more blocks.
    anvil.send(THIEF, MULE1, 5 * ETHER);
    anvil.call("anvil_mine", json!(["0x2"]));
    wait_for(60, "the first hop's alert", || {
        lines(&out).iter().any(|a| a["to"] == MULE1).then_some(())
    });
    // A deposit that a reorg removes before it is confirmed.
    let snap = anvil.call("evm_snapshot", json!([]));
    let gone = anvil.send(MULE1, EXCHANGE, 5 * ETHER);
    anvil.call("anvil_mine", json!(["0x1"]));
    assert_eq!(anvil.call("evm_revert", json!([snap])), json!(true));
    // The replacement chain: the thief pays mule 2 instead, then confirmations.
    let kept = anvil.send(THIEF, MULE2, 2 * ETHER);
    anvil.call("anvil_mine", json!(["0x3"]));
    let head = anvil.head();
    // The cursor is published before the block's alerts are out: wait for both.
    let alerts = wait_for(
        60,
        "the watch at the new head with the kept hop's alert",
        || {
            let a = lines(&out);
            (status(&d)["cursor"] == head - 1 && a.iter().any(|x| x["tx_hash"] == kept.as_str()))
                .then_some(a)
        },
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["tx_hash"] != gone.as_str() && a["to"] != EXCHANGE),
        "{alerts:?}"
    );
    assert!(status(&d)["reorg"].is_null());
    assert_incremental_equals_batch(&d, "haircut");
}

/// The alert ids kept with the case (tripoint-case's alerts table).
/// The reorg tests' chain, up to the reorg: a watch (no confirmations, so
/// every block is stored and alerted at once) sees the thief pay mule 1
/// (`first`), then two blocks the reorg will orphan, a deposit at the
/// exchange and a hop to a clean address, both alerted with the case and
/// delivered (nothing pending: a kill now prints nothing twice).
struct Orphaning {
    anvil: Anvil,
    d: Drill,
    w: Killed,
    out: PathBuf,
    err: PathBuf,
    first: String,
    snap: Value,
    fork: u64,
    deposit: String,
    hop: String,
}

fn orphaning(tag: &str) -> Orphaning {
    let anvil = Anvil::start();
    let d = drill("haircut");
    anvil.fund(THIEF, 1_000 * ETHER);
    anvil.fund(MULE1, ETHER);
    let (w, out, err) = watch(&d, &anvil, &[], tag);
    let first = anvil.send(THIEF, MULE1, 5 * ETHER);
    let snap = anvil.call("evm_snapshot", json!([]));
    let fork = anvil.head();
    let deposit = anvil.send(MULE1, EXCHANGE, 5 * ETHER);
    let hop = anvil.send(THIEF, CLEAN, ETHER);
    wait_for(
        60,
        "the blocks to be orphaned alerted with the case and delivered",
        || {
            let a = case_alerts(&d);
            (a.iter().any(|x| x["tx_hash"] == deposit.as_str())
                && a.iter().any(|x| x["tx_hash"] == hop.as_str())
                && status(&d)["pending_deliveries"]
                    .as_array()
                    .unwrap()
                    .is_empty())
            .then_some(())
        },
    );
    Orphaning {
        anvil,
        d,
        w,
        out,
        err,
        first,
        snap,
        fork,
        deposit,
        hop,
    }
}

impl Orphaning {
    /// The reorg: back to the fork, and a new chain one block long (so
    /// shorter than the orphaned one) in which the thief pays mule 2.
    /// Returns that payment and the new head.
    fn reorg(&self) -> (String, u64) {
        assert_eq!(
            self.anvil.call("evm_revert", json!([self.snap])),
            json!(true)
        );
        let kept = self.anvil.send(THIEF, MULE2, 2 * ETHER);
        (kept, self.anvil.head())
    }
}

fn case_alerts(d: &Drill) -> Vec<Value> {
    tripoint_case::open(&d.store, None)
        .unwrap()
        .alerts(&d.case_id)
        .unwrap()
        .into_iter()
        .map(|a| a.alert)
        .collect()
}

#[test]
fn a_reorg_of_stored_blocks_is_rolled_back_and_the_case_equals_a_fresh_trace_of_the_new_chain() {
    let o = orphaning("rollback");
    let (d, out, err) = (&o.d, &o.out, &o.err);
    let (fork, deposit, hop) = (o.fork, &o.deposit, &o.hop);
    let orphaned_head = o.anvil.head();
    // The new chain is shorter (one block): only a check of the stored
    // chain against the node, not a parent mismatch, can notice it.
    let (kept, head) = o.reorg();
    assert!(head < orphaned_head);
    let st = wait_for(60, "the rollback and the new chain's alert", || {
        // The alerts first: a status read before them could predate the
        // new chain's alert that they then show.
        let kept_alerted = case_alerts(d).iter().any(|a| a["tx_hash"] == kept.as_str());
        let st = status(d);
        (kept_alerted && !st["last_rollback"].is_null() && st["cursor"] == head + 1).then_some(st)
    });
    // The case keeps exactly the alerts of the canonical chain: the first
    // hop and the new chain's hop; the orphaned ones are withdrawn.
    let alerts = case_alerts(d);
    let hashes: Vec<&str> = alerts
        .iter()
        .map(|a| a["tx_hash"].as_str().unwrap())
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().any(|a| a["to"] == MULE1), "{alerts:?}");
    assert!(!hashes.contains(&deposit.as_str()) && !hashes.contains(&hop.as_str()));
    assert!(alerts.iter().all(|a| a["block"].as_u64().unwrap() <= head));
    assert_eq!(st["alerts"], 2, "{st}");
    assert_eq!(st["retracted"], 2, "{st}");
    assert!(st["reorg"].is_null(), "{st}");
    assert!(
        st["last_rollback"]
            .as_str()
            .unwrap()
            .contains(&format!("rolled back to block {fork}")),
        "{st}"
    );
    // The store holds the new chain only: a fresh trace reaches mule 2 and
    // neither the exchange nor the orphaned hop, and the watch's live
    // taint is that trace's, address by address.
    let trace = run_ok(&[
        "trace",
        "--store",
        s(&d.store),
        "--seed",
        THIEF,
        "--policy",
        "haircut",
        "--format",
        "json",
    ]);
    let batch: Value = serde_json::from_slice(&trace.stdout).unwrap();
    let reached: Vec<&str> = batch["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert!(reached.contains(&MULE2), "{reached:?}");
    assert!(
        !reached.contains(&EXCHANGE) && !reached.contains(&CLEAN),
        "{reached:?}"
    );
    assert_incremental_equals_batch(d, "haircut");
    let log = std::fs::read_to_string(err).unwrap();
    assert!(log.contains("the chain reorganised"), "{log}");
    // Stdout printed the orphaned alerts before the reorg (it cannot take
    // them back); the new chain's alert follows them.
    assert!(lines(out).iter().any(|a| a["tx_hash"] == kept.as_str()));
}

/// Holds the write lock of a SQLite database (another process, as an
/// analyst's tool or a backup would) until dropped: the watch's next write
/// to it waits. Python's standard sqlite3 module, so no test-only switch
/// in the product is needed to stop the watch at a known point. (The
/// field is only dropped: that kills the holder and frees the lock.)
struct DbLock(#[allow(dead_code)] Killed);

impl DbLock {
    fn take(db: &Path) -> DbLock {
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import sqlite3, sys\n\
                 c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
                 c.execute('BEGIN IMMEDIATE')\n\
                 print('locked', flush=True)\n\
                 sys.stdin.read()\n",
                s(db),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (installed by scripts/test.sh's set-up)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        DbLock(Killed(child))
    }
}

#[test]
fn kill_9_during_a_rollback_then_a_restart_ends_as_a_fresh_trace_of_the_new_chain_with_no_alert_lost_or_repeated(
) {
    let mut o = orphaning("before-kill");
    let (out1, err1) = (o.out.clone(), o.err.clone());
    let (first, fork, deposit) = (o.first.clone(), o.fork, o.deposit.clone());
    // The case database is busy from now on: the rollback's last step,
    // withdrawing the orphaned alerts from the case, will wait for it.
    let lock = DbLock::take(&o.d.store.join("cases.sqlite"));
    let (kept, head) = o.reorg();
    let (anvil, d, w) = (&o.anvil, &o.d, &mut o.w);
    // The store is cut and the watch's database rolled back (both
    // committed, `--status` shows them); then kill -9.
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(d)["last_rollback"].is_null() {
        assert!(
            Instant::now() < deadline,
            "no rollback within 30 s; the watch said: {}",
            std::fs::read_to_string(&err1).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    w.0.kill().unwrap();
    w.0.wait().unwrap();
    drop(lock);
    let st = status(d);
    assert_eq!(st["cursor"], fork + 1, "the store is cut at the fork: {st}");
    assert_eq!(st["retracted"], 2, "{st}");
    // Killed mid-rollback: the case still holds the orphaned alerts.
    let stale = case_alerts(d);
    assert!(
        stale.iter().any(|a| a["tx_hash"] == deposit.as_str()),
        "{stale:?}"
    );
    // The restart finishes the rollback and reads the new chain.
    let (_w2, out2, _) = watch(d, anvil, &[], "after-kill");
    wait_for(
        60,
        "the new chain's alert with the case after the restart",
        || {
            case_alerts(d)
                .iter()
                .any(|a| a["tx_hash"] == kept.as_str())
                .then_some(())
        },
    );
    // Stored first: the watch's database had it before the case did.
    let st = wait_for(30, "nothing pending", || {
        let st = status(d);
        (st["cursor"] == head + 1 && st["pending_deliveries"].as_array().unwrap().is_empty())
            .then_some(st)
    });
    let alerts = case_alerts(d);
    let mut ids: Vec<&str> = alerts
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{alerts:?}");
    let hashes: Vec<&str> = alerts
        .iter()
        .map(|a| a["tx_hash"].as_str().unwrap())
        .collect();
    assert!(hashes.contains(&first.as_str()) && hashes.contains(&kept.as_str()));
    assert_eq!(st["alerts"], 2, "{st}");
    assert_eq!(st["retracted"], 2, "{st}");
    // Each canonical alert was printed exactly once over both runs.
    let printed: Vec<Value> = lines(&out1).into_iter().chain(lines(&out2)).collect();
    for h in [&first, &kept] {
        assert_eq!(
            printed
                .iter()
                .filter(|a| a["tx_hash"] == h.as_str())
                .count(),
            1,
            "{h}: {printed:?}"
        );
    }
    // The store is the new chain's: a fresh trace reaches mule 2, not the
    // orphaned exchange deposit or hop, and equals the watch's live taint.
    let batch: Value = serde_json::from_slice(
        &run_ok(&[
            "trace",
            "--store",
            s(&d.store),
            "--seed",
            THIEF,
            "--policy",
            "haircut",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let reached: Vec<&str> = batch["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert!(reached.contains(&MULE2), "{reached:?}");
    assert!(
        !reached.contains(&EXCHANGE) && !reached.contains(&CLEAN),
        "{reached:?}"
    );
    assert_incremental_equals_batch(d, "haircut");
}

#[test]
fn a_store_filled_by_ingest_eth_rpc_is_continued_by_the_watch_without_a_gap_or_a_repeat() {
    let anvil = Anvil::start();
    let d = drill("haircut");
    anvil.fund(THIEF, 1_000 * ETHER);
    anvil.fund(MULE1, ETHER);
    let early = anvil.send(THIEF, MULE1, 5 * ETHER);
    // The importer first, on the same node URL: its cursor is the watch's.
    run_ok(&[
        "ingest",
        "--store",
        s(&d.store),
        "eth-rpc",
        "--url",
        &anvil.url,
    ]);
    let ingested = anvil.head();
    let late = anvil.send(MULE1, MULE2, 3 * ETHER);
    let head = anvil.head();
    let (_w, out, _) = watch(&d, &anvil, &[], "after-ingest");
    let alerts = wait_for(
        60,
        "the watch at the head with the late hop's alert",
        || {
            let a = lines(&out);
            (status(&d)["cursor"] == head + 1 && a.iter().any(|x| x["tx_hash"] == late.as_str()))
                .then_some(a)
        },
    );
    // The watch began after the importer's last block: the ingested hop
    // is history (no alert), the later one is alerted, once.
    assert!(
        alerts.iter().all(|a| a["tx_hash"] != early.as_str()),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["block"].as_u64().unwrap() > ingested),
        "{alerts:?}"
    );
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a["tx_hash"] == late.as_str())
            .count(),
        1
    );
    // Both hops are in the store once: mule 1 received 5 ETH of taint (not
    // 10), mule 2 the 3 ETH it was paid; the live taint equals the trace.
    let trace = run_ok(&[
        "trace",
        "--store",
        s(&d.store),
        "--seed",
        THIEF,
        "--policy",
        "haircut",
        "--format",
        "json",
    ]);
    let batch: Value = serde_json::from_slice(&trace.stdout).unwrap();
    let taint = |addr: &str| {
        batch["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["address"] == addr)
            .map(|a| a["taint"]["ETH"].clone())
    };
    assert_eq!(
        taint(MULE1),
        Some(json!((5 * ETHER).to_string())),
        "{batch}"
    );
    assert_eq!(
        taint(MULE2),
        Some(json!((3 * ETHER).to_string())),
        "{batch}"
    );
    assert_incremental_equals_batch(&d, "haircut");
}

#[test]
fn a_down_node_and_a_down_webhook_are_reported_and_retried() {
    let anvil = Anvil::start();
    let d = drill("poison");
    let hook = Receiver::start();
    hook.down.store(true, std::sync::atomic::Ordering::SeqCst);
    anvil.fund(THIEF, 1_000 * ETHER);
    // A port nobody listens on: bind, note, close.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let child = tripoint()
        .args([
            "watch",
            "--store",
            s(&d.store),
            "--rpc",
            &dead,
            "--poll-ms",
            "50",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut k = Killed(child);
    let mut err = BufReader::new(k.0.stderr.take().unwrap());
    let said = wait_for(30, "the unreachable node on stderr", || {
        let mut l = String::new();
        (err.read_line(&mut l).ok()? > 0 && l.contains("unreachable")).then_some(l)
    });
    assert!(said.contains(&dead) && said.contains("retrying"), "{said}");
    drop(k);
    // The webhook answers 503: the alert stays pending, then arrives.
    let (_w, _, errf) = watch(
        &d,
        &anvil,
        &[
            "--webhook",
            &hook.url,
            "--webhook-secret-file",
            s(&d.secret),
        ],
        "down",
    );
    anvil.send(THIEF, MULE1, ETHER);
    wait_for(60, "a failed delivery on stderr", || {
        std::fs::read_to_string(&errf)
            .unwrap_or_default()
            .contains("HTTP 503")
            .then_some(())
    });
    let st = status(&d);
    assert_eq!(st["pending_deliveries"][0]["pending"], 1, "{st}");
    hook.down.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for(60, "the retried delivery", || {
        (hook.deliveries().len() == 1).then_some(())
    });
    verify(&hook.deliveries()[0]);
}

/// `tripoint bench watch --smoke` runs every part end to end against a real
/// anvil and prints figures that hang together (no timed assertion).
#[test]
fn bench_watch_smoke_runs_every_part_beside_its_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tripoint()
        .args(["bench", "watch", "--smoke", "--no-peers", "--json", "--dir"])
        .arg(tmp.path().join("w"))
        .env("TRIPOINT_ANVIL", anvil_bin())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let lat = &j["latency"];
    assert_eq!(lat["drills"], 3);
    for who in ["watch", "peer"] {
        let (p50, p95) = (
            lat[who]["p50_s"].as_f64().unwrap(),
            lat[who]["p95_s"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p95, "{who}: {lat}");
    }
    // Each drill raised the mule's new_hop and the deposit's service alert.
    assert!(lat["watch"]["alerts"].as_u64().unwrap() >= 6, "{lat}");
    assert!(lat["watch"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    let cases = &j["cases"];
    assert_eq!(cases["cases"], 50);
    assert_eq!(
        cases["retrace"]["equal"], 50,
        "every live walk equals a fresh trace: {cases}"
    );
    assert!(cases["watch"]["alerts"].as_u64().unwrap() > 0, "{cases}");
    assert!(cases["watch"]["p50_s"].as_f64().unwrap() > 0.0);
    assert!(cases["trace_process"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    let labels = &j["labels"];
    assert_eq!(labels["added"], 2000, "{labels}");
    assert!(labels["import"]["per_s"].as_f64().unwrap() > 0.0);
    assert!(labels["stored_bytes"].as_u64().unwrap() > 0);
    for line in [
        "tripoint watch",
        "ingest eth-rpc + trace",
        "re-trace every case",
        "tripoint labels import",
    ] {
        assert!(text.contains(line), "no '{line}' in\n{text}");
    }
}

/// The project's Python with stix2-validator: $TRIPOINT_PYTHON (set by
/// scripts/test.sh), else what scripts/setup-python.sh makes.
fn python_with_validator() -> String {
    if let Some(p) = std::env::var_os("TRIPOINT_PYTHON").filter(|p| !p.is_empty()) {
        return p.to_string_lossy().into_owned();
    }
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-python.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/setup-python.sh");
    assert!(out.status.success(), "scripts/setup-python.sh failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// Errors stix2-validator finds in each object (empty when all pass).
fn stix2_validator_errors(objects: &[Value]) -> Vec<String> {
    let mut child = Command::new(python_with_validator())
        .args([
            "-c",
            "import json, sys\n\
             from stix2validator import ValidationOptions, validate_instance\n\
             errs = []\n\
             for o in json.load(sys.stdin):\n\
             \x20   r = validate_instance(o, ValidationOptions(version='2.1'))\n\
             \x20   errs += [o['id'] + ': ' + str(e) for e in r.errors]\n\
             print(json.dumps(errs))\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(objects).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stix2-validator did not run");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn publish_shares_each_alert_as_a_tlp_marked_sighting_by_the_case_partner_once() {
    let anvil = Anvil::start();
    let d = drill("haircut");
    let config = d.store.with_file_name("exchange.toml");
    run_ok(&["intel", "init", "--config", s(&config)]);
    for a in [THIEF, MULE1] {
        anvil.fund(a, 1_000 * ETHER);
    }
    let target = format!("{}:indicators", s(&config));
    let (w, out, err) = watch(&d, &anvil, &["--publish", &target], "publish");
    anvil.send(THIEF, MULE1, 5 * ETHER);
    let deposit = anvil.send(MULE1, EXCHANGE, 2 * ETHER);
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        let a = lines(&out);
        let st = status(&d);
        if a.iter().any(|x| x["tx_hash"] == deposit.as_str())
            && st["pending_deliveries"].as_array().unwrap().is_empty()
        {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for both alerts shared with the exchange: {st}\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(w);
    assert_eq!(alerts.len(), 2, "{alerts:?}");

    // Read the collection back as a partner, through the exchange's service.
    let cfg = tripoint_taxii::config::Config::load(&config).unwrap();
    let col = cfg
        .collections
        .iter()
        .find(|c| c.alias.as_deref() == Some("indicators"))
        .unwrap()
        .clone();
    let us = cfg.partners.iter().find(|p| p.id == "us").unwrap().clone();
    let store = tripoint_taxii::service::open_store(&cfg, &config).unwrap();
    let ex = tripoint_taxii::service::Exchange::new(store, cfg, None);
    let caller = tripoint_taxii::service::Caller {
        partner: "kr".into(),
        identity: String::new(),
    };
    let read = || -> Vec<Value> {
        let page = ex
            .get_page(
                &caller,
                &col.api_root,
                &col.id,
                None,
                tripoint_taxii::service::Endpoint::Objects,
                &tripoint_taxii::service::Filters::default(),
            )
            .unwrap();
        let env: Value = serde_json::from_str(&page.body).unwrap();
        env["objects"].as_array().cloned().unwrap_or_default()
    };
    let objects = read();
    let sightings: Vec<&Value> = objects.iter().filter(|o| o["type"] == "sighting").collect();
    assert_eq!(sightings.len(), 2, "one sighting per alert: {objects:?}");
    const TLP_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    for a in &alerts {
        let sg = sightings
            .iter()
            .find(|o| o["external_references"][0]["external_id"] == a["alert_id"])
            .unwrap_or_else(|| panic!("no sighting of {a}"));
        assert_eq!(sg["created_by_ref"], us.identity.as_str(), "{sg}");
        assert_eq!(sg["object_marking_refs"], json!([TLP_AMBER]), "{sg}");
        assert_eq!(sg["first_seen"], sg["last_seen"]);
        assert!(
            sg["description"]
                .as_str()
                .unwrap()
                .contains(a["tx_hash"].as_str().unwrap()),
            "{sg}"
        );
        let ind = objects
            .iter()
            .find(|o| o["id"] == sg["sighting_of_ref"])
            .unwrap_or_else(|| panic!("the sighting's indicator is not stored: {sg}"));
        assert_eq!(ind["created_by_ref"], us.identity.as_str());
        assert_eq!(ind["object_marking_refs"], json!([TLP_AMBER]));
        // The tainted address: the new mule, and the mule that paid the exchange.
        let pattern = ind["pattern"].as_str().unwrap();
        assert!(pattern.contains(MULE1), "{pattern}");
        assert!(!pattern.contains(EXCHANGE), "{pattern}");
    }
    let errors = stix2_validator_errors(&objects);
    assert!(errors.is_empty(), "{errors:?}");

    // Re-delivery (a restart that delivers again) stores nothing twice.
    let cases = tripoint_case::open(&d.store, None).unwrap();
    let case = cases.get(&d.case_id).unwrap();
    let publisher = tripoint_case::publish::Publisher::open(&config, "indicators").unwrap();
    for a in &alerts {
        let again = publisher.post_alert(&case, a, 0).unwrap();
        assert_eq!(again.stored, 0, "{again:?}");
    }
    assert_eq!(read().len(), objects.len());
}

/// The objects of collection `indicators` of the exchange configured in
/// `config`, latest versions, as partner KR reads them through the
/// exchange's service.
fn exchange_objects(config: &Path) -> Vec<Value> {
    let cfg = tripoint_taxii::config::Config::load(config).unwrap();
    let col = cfg
        .collections
        .iter()
        .find(|c| c.alias.as_deref() == Some("indicators"))
        .unwrap()
        .clone();
    let store = tripoint_taxii::service::open_store(&cfg, config).unwrap();
    let ex = tripoint_taxii::service::Exchange::new(store, cfg, None);
    let caller = tripoint_taxii::service::Caller {
        partner: "kr".into(),
        identity: String::new(),
    };
    let page = ex
        .get_page(
            &caller,
            &col.api_root,
            &col.id,
            None,
            tripoint_taxii::service::Endpoint::Objects,
            &tripoint_taxii::service::Filters::default(),
        )
        .unwrap();
    let env: Value = serde_json::from_str(&page.body).unwrap();
    env["objects"].as_array().cloned().unwrap_or_default()
}

/// The sighting shared for `alert_id` (latest version).
fn sighting_of(config: &Path, alert_id: &str) -> Option<Value> {
    exchange_objects(config)
        .into_iter()
        .find(|o| o["type"] == "sighting" && o["external_references"][0]["external_id"] == alert_id)
}

/// Server-Sent Events of the console's live alert feed from the start
/// (`after=0`), read until `until` holds for the events read so far: each
/// as (event, data).
fn console_events(
    base: &str,
    auth: &str,
    until: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(30))
        .build();
    let resp = agent
        .get(&format!("{base}/console/alerts/stream?after=0"))
        .set("Authorization", auth)
        .set("Accept", "text/event-stream")
        .call()
        .expect("the alert stream");
    let mut events = Vec::new();
    let mut event = String::new();
    for line in BufReader::new(resp.into_reader()).lines() {
        let line = line.expect("reading the alert stream");
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            let data = serde_json::from_str(d.trim()).unwrap_or(Value::Null);
            events.push((std::mem::take(&mut event), data));
            if until(&events) {
                break;
            }
        }
    }
    events
}

#[test]
fn a_reorg_recalls_the_delivered_alert_from_stdout_the_webhook_the_exchange_and_the_case() {
    let anvil = Anvil::start();
    let d = drill("haircut");
    let (cfg, secrets) = tripoint_taxii::config::Config::trilateral("intel.db").unwrap();
    let config = d.store.with_file_name("intel.toml");
    cfg.save(&config).unwrap();
    let hook = Receiver::start();
    anvil.fund(THIEF, 1_000 * ETHER);
    anvil.fund(MULE1, ETHER);
    let publish = format!("{}:indicators", s(&config));
    let (_w, out, err) = watch(
        &d,
        &anvil,
        &[
            "--webhook",
            &hook.url,
            "--webhook-secret-file",
            s(&d.secret),
            "--publish",
            &publish,
        ],
        "recall",
    );
    let first = anvil.send(THIEF, MULE1, 5 * ETHER);
    let snap = anvil.call("evm_snapshot", json!([]));
    let fork = anvil.head();
    let deposit = anvil.send(MULE1, EXCHANGE, 5 * ETHER);
    // The deposit's alert reached every receiver before the reorg.
    let alert = wait_for(60, "the deposit's alert delivered everywhere", || {
        let got = hook
            .deliveries()
            .into_iter()
            .find(|x| x.json()["tx_hash"] == deposit.as_str())?;
        status(&d)["pending_deliveries"]
            .as_array()
            .unwrap()
            .is_empty()
            .then(|| got.json())
    });
    assert_eq!(alert["kind"], "service", "{alert}");
    let alert_id = alert["alert_id"].as_str().unwrap().to_string();
    let shared = sighting_of(&config, &alert_id).expect("the alert's sighting shared");
    assert!(shared["revoked"].is_null() || shared["revoked"] == false);
    assert!(case_alerts(&d)
        .iter()
        .any(|a| a["alert_id"] == alert_id.as_str()));

    // The reorg: the deposit's block is orphaned; the new chain pays mule 2.
    assert_eq!(anvil.call("evm_revert", json!([snap])), json!(true));
    let kept = anvil.send(THIEF, MULE2, 2 * ETHER);
    let (posts, retraction_at, kept_at) = wait_for(60, "the retraction and the new alert", || {
        let posts = hook.deliveries();
        let r = posts
            .iter()
            .position(|p| p.header("X-Tripoint-Event") == Some("retraction"))?;
        let k = posts
            .iter()
            .position(|p| p.json()["tx_hash"] == kept.as_str())?;
        status(&d)["pending_deliveries"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some((posts, r, k))
    });
    // The webhook: one retraction, signed, naming the same alert id, before
    // the new chain's alert.
    let retractions: Vec<&Delivery> = posts
        .iter()
        .filter(|p| p.header("X-Tripoint-Event") == Some("retraction"))
        .collect();
    assert_eq!(retractions.len(), 1, "{posts:?}");
    assert!(retraction_at < kept_at, "{posts:?}");
    let got = &posts[retraction_at];
    verify(got);
    let r = got.json();
    assert_eq!(r["event"], "retraction");
    assert_eq!(r["alert_id"], alert_id.as_str(), "{r}");
    assert_eq!(
        got.header("X-Tripoint-Retraction-Id"),
        r["retraction_id"].as_str()
    );
    assert!(r["retraction_id"]
        .as_str()
        .unwrap()
        .starts_with("retraction-"));
    assert_eq!(r["case_id"], d.case_id.as_str());
    assert_eq!(r["tx_hash"], deposit.as_str());
    assert_eq!(r["block"], alert["block"]);
    assert_eq!(r["reason"], "reorg");
    assert_eq!(r["fork_block"], fork, "{r}");
    assert_eq!(r["alert"], alert);
    assert!(posts
        .iter()
        .filter(|p| p.header("X-Tripoint-Event") == Some("alert"))
        .all(|p| p.json()["event"].is_null()));
    // stdout: the alert, then its retraction (once), then the new alert.
    let printed = lines(&out);
    let at = |f: &dyn Fn(&Value) -> bool| printed.iter().position(f);
    let a = at(&|l| l["alert_id"] == alert_id.as_str() && l["event"].is_null()).unwrap();
    let rr = at(&|l| l["event"] == "retraction").unwrap();
    let k = at(&|l| l["tx_hash"] == kept.as_str()).unwrap();
    assert!(a < rr && rr < k, "{printed:?}");
    assert_eq!(printed[rr], r);
    assert_eq!(
        printed
            .iter()
            .filter(|l| l["event"] == "retraction")
            .count(),
        1
    );
    // The exchange: the sighting's newer version is revoked; the first
    // hop's is not; every object still passes the OASIS validator.
    let revoked = sighting_of(&config, &alert_id).unwrap();
    assert_eq!(revoked["revoked"], true, "{revoked}");
    assert_eq!(revoked["id"], shared["id"]);
    let t = |v: &Value| tripoint_stix::Timestamp::parse(v.as_str().unwrap()).unwrap();
    assert!(t(&revoked["modified"]).unix_micros() > t(&shared["modified"]).unix_micros());
    assert_eq!(revoked["created"], shared["created"]);
    let first_alert = printed
        .iter()
        .find(|l| l["tx_hash"] == first.as_str())
        .unwrap();
    let kept_sighting = sighting_of(&config, first_alert["alert_id"].as_str().unwrap()).unwrap();
    assert!(kept_sighting["revoked"].is_null(), "{kept_sighting}");
    let errors = stix2_validator_errors(&exchange_objects(&config));
    assert!(errors.is_empty(), "{errors:?}");
    // The case: the alert is gone and its retraction kept, numbered after it.
    assert!(!case_alerts(&d)
        .iter()
        .any(|a| a["alert_id"] == alert_id.as_str()));
    let db = tripoint_case::open(&d.store, None).unwrap();
    let kept_with_case = db.retractions_after(0, 10).unwrap();
    assert_eq!(kept_with_case.len(), 1);
    assert_eq!(kept_with_case[0].alert_id, alert_id);
    assert_eq!(kept_with_case[0].retraction, r);
    let st = status(&d);
    assert_eq!(st["retracted"], 1, "{st}");

    // The console's live feed (a real `tripoint serve` over the case store):
    // the alert, then its retraction, in one sequence.
    let mut cmd = tripoint();
    cmd.args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--case-store"])
        .arg(&d.store)
        .env_remove("TRIPOINT_CASE_DB");
    let (child, base) = crate::common::spawn_serve(cmd);
    let _serve = Killed(child);
    let us = secrets.iter().find(|s| s.partner == "us").unwrap();
    let auth = tripoint_taxii::auth::basic_authorization(&us.username, &us.password);
    let events = console_events(&base, &auth, |ev| ev.iter().any(|(e, _)| e == "retraction"));
    let seq_of = |kind: &str| {
        events
            .iter()
            .find(|(e, v)| e == kind && v["alert_id"] == alert_id.as_str())
            .map(|(_, v)| v["seq"].as_i64().unwrap())
    };
    // The alert itself left the case before the stream started, so the
    // feed has only its retraction (the page drops the alert it shows).
    let sse = seq_of("retraction").expect("a retraction event");
    assert!(seq_of("alert").is_none(), "{events:?}");
    assert!(
        events
            .iter()
            .filter(|(e, _)| e == "alert")
            .all(|(_, v)| v["seq"].as_i64().unwrap() != sse),
        "one sequence: {events:?}"
    );
    let log = std::fs::read_to_string(&err).unwrap();
    assert!(log.contains("the chain reorganised"), "{log}");
}

#[test]
fn a_kill_between_the_store_cut_and_the_watch_databases_rollback_is_finished_on_restart() {
    // Killed with nothing pending (`orphaning` waits for it): an alert
    // printed but not yet marked delivered would be printed again on
    // restart (at least once), and "each printed once over both runs"
    // below would not hold.
    let mut o = orphaning("before-cut");
    let out1 = o.out.clone();
    let (first, fork, deposit, hop) = (o.first.clone(), o.fork, o.deposit.clone(), o.hop.clone());
    let fork_hash = o
        .anvil
        .call("eth_getBlockByNumber", json!([format!("{fork:#x}"), false]))["hash"]
        .as_str()
        .unwrap()
        .to_string();
    o.w.0.kill().unwrap();
    o.w.0.wait().unwrap();
    let (kept, head) = o.reorg();
    let (anvil, d) = (&o.anvil, &o.d);
    // What a kill -9 between the rollback's first two steps leaves on disk
    // (docs/watch.md, Reorgs): the intent recorded, the store cut at the
    // fork by the store's own call, the watch's database not yet rolled
    // back (its alerts, watermarks and block hashes still the old chain's).
    let intent = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             c.execute(\"INSERT INTO state (key, value) VALUES ('rollback', ?)\", (sys.argv[2],))\n\
             c.commit()\n",
        ])
        .arg(d.store.join("watch.sqlite"))
        .arg(format!("{fork} {fork_hash}"))
        .status()
        .expect("python3 (installed by scripts/test.sh's set-up)");
    assert!(intent.success());
    let store = tripoint_store::Store::open(&d.store).unwrap();
    let removed = store
        .appender()
        .unwrap()
        .roll_back_after(
            fork,
            &tripoint_chain::SourceCursor {
                source: tripoint_ingest::rpc_source(&anvil.url),
                position: fork + 1,
            },
        )
        .unwrap();
    drop(store);
    assert!(removed >= 2, "{removed}");
    let st = status(d);
    assert_eq!(st["cursor"], fork + 1, "{st}");
    assert!(st["last_rollback"].is_null(), "{st}");
    assert_eq!(st["retracted"], 0, "{st}");
    assert_eq!(st["alerts"], 3, "{st}");

    // The restart finishes the rollback, recalls the orphaned alerts and
    // reads the new chain.
    let (_w2, out2, err2) = watch(d, anvil, &[], "after-cut");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let st = loop {
        let st = status(d);
        if st["cursor"] == head + 1
            && st["pending_deliveries"].as_array().unwrap().is_empty()
            && case_alerts(d).iter().any(|a| a["tx_hash"] == kept.as_str())
        {
            break st;
        }
        // On a time-out, say what the restarted watch said (it once stopped
        // on "database is locked" while this loop ran `--status`).
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after 60 s waiting for the new chain's alert after the restart; status {st}; the watch's stderr: {}",
            std::fs::read_to_string(&err2).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(st["alerts"], 2, "{st}");
    assert_eq!(st["retracted"], 2, "{st}");
    let alerts = case_alerts(d);
    let mut hashes: Vec<&str> = alerts
        .iter()
        .map(|a| a["tx_hash"].as_str().unwrap())
        .collect();
    hashes.sort_unstable();
    let mut want = vec![first.as_str(), kept.as_str()];
    want.sort_unstable();
    assert_eq!(hashes, want, "{alerts:?}");
    // Each canonical alert printed once over both runs; the restart
    // printed a retraction of each orphaned one, before the new alert.
    let printed2 = lines(&out2);
    let printed: Vec<Value> = lines(&out1).into_iter().chain(printed2.clone()).collect();
    for h in [&first, &kept] {
        let n = printed
            .iter()
            .filter(|a| a["tx_hash"] == h.as_str() && a["event"].is_null())
            .count();
        assert_eq!(n, 1, "{h}: {printed:?}");
    }
    let recalled: Vec<&str> = printed2
        .iter()
        .filter(|l| l["event"] == "retraction")
        .map(|l| l["tx_hash"].as_str().unwrap())
        .collect();
    assert_eq!(recalled.len(), 2, "{printed2:?}");
    assert!(recalled.contains(&deposit.as_str()) && recalled.contains(&hop.as_str()));
    let last_recall = printed2
        .iter()
        .rposition(|l| l["event"] == "retraction")
        .unwrap();
    let new_alert = printed2
        .iter()
        .position(|l| l["tx_hash"] == kept.as_str())
        .unwrap();
    assert!(last_recall < new_alert, "{printed2:?}");
    let log = std::fs::read_to_string(&err2).unwrap();
    assert!(
        log.contains(&format!("rolled back to block {fork}")),
        "{log}"
    );
    assert_incremental_equals_batch(d, "haircut");
}
