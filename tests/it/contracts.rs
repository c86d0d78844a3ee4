//! Money through contracts, on real contract code in a real node (anvil,
//! installed by scripts/setup-anvil.sh): internal transfers read by
//! `tripoint ingest eth-rpc` (trace_block, or debug_traceBlockByNumber with
//! the callTracer) and from ethereum-etl `traces.csv` written from the same
//! node, traced with all five policies.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::{run_ok, tripoint, Anvil, ETHER, EXCHANGE, THIEF};

const MULE: &str = "0x3a1e000000000000000000000000000000000002";
/// Forwards what it gets to MULE.
const FORWARDER: &str = "0xf0f0000000000000000000000000000000000001";
/// Forwards what it gets to REVERTER, ignoring whether that call failed.
const FORWARDER2: &str = "0xf0f0000000000000000000000000000000000002";
/// Forwards what it gets to MULE2, then reverts.
const REVERTER: &str = "0xdead000000000000000000000000000000000003";
const MULE2: &str = "0x3a1e000000000000000000000000000000000004";
/// Self-destructs on any call, paying its balance to MULE3.
const DESTRUCTOR: &str = "0x5d00000000000000000000000000000000000005";
const MULE3: &str = "0x3a1e000000000000000000000000000000000006";
const POLICIES: [&str; 5] = ["poison", "haircut", "fifo", "lifo", "tiho"];

fn hex_of(addr: &str) -> &str {
    addr.trim_start_matches("0x")
}

/// `CALL(gas, target, callvalue, 0, 0, 0, 0); STOP`: the forwarder.
fn forwarder(target: &str) -> String {
    format!("0x600080808034 73{} 5af100", hex_of(target)).replace(' ', "")
}

/// The forwarder's call, then `POP; REVERT(0, 0)`: the forward is rolled back.
fn forward_then_revert(target: &str) -> String {
    format!("0x600080808034 73{} 5af1 50 60006000fd", hex_of(target)).replace(' ', "")
}

/// `SELFDESTRUCT(beneficiary)`.
fn self_destruct(beneficiary: &str) -> String {
    format!("0x73{}ff", hex_of(beneficiary))
}

fn quantity(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn balance(anvil: &Anvil, addr: &str) -> u128 {
    quantity(&anvil.call("eth_getBalance", json!([addr, "latest"])))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The drills: a forward, a forward rolled back inside a successful
/// transaction, a self-destruct payout; then the mule pays the exchange.
fn drills(anvil: &Anvil) {
    anvil.fund(THIEF, 1_000 * ETHER);
    // Gas money for the mule, outside any transfer the store sees.
    anvil.fund(MULE, ETHER);
    for (addr, code) in [
        (FORWARDER, forwarder(MULE)),
        (FORWARDER2, forwarder(REVERTER)),
        (REVERTER, forward_then_revert(MULE2)),
        (DESTRUCTOR, self_destruct(MULE3)),
    ] {
        anvil.call("anvil_setCode", json!([addr, code]));
    }
    anvil.send(THIEF, FORWARDER, 10 * ETHER);
    anvil.send(THIEF, FORWARDER2, 3 * ETHER);
    anvil.send(THIEF, DESTRUCTOR, 2 * ETHER);
    anvil.send(MULE, EXCHANGE, 9 * ETHER);
    // The drills did on chain what the test says they did.
    assert_eq!(balance(anvil, EXCHANGE), 9 * ETHER);
    assert_eq!(balance(anvil, FORWARDER), 0);
    assert_eq!(
        balance(anvil, FORWARDER2),
        3 * ETHER,
        "the reverted forward kept the value"
    );
    assert_eq!(balance(anvil, MULE2), 0);
    assert_eq!(balance(anvil, MULE3), 2 * ETHER);
}

fn ingest_json(store: &Path, source: &[&str]) -> Value {
    let mut args = vec!["ingest", "--store", s(store), "--format", "json"];
    args.extend_from_slice(source);
    serde_json::from_slice(&run_ok(&args).stdout).unwrap()
}

fn ingest_rpc(store: &Path, url: &str) -> (Value, String) {
    let out = tripoint()
        .args([
            "ingest",
            "--store",
            s(store),
            "--format",
            "json",
            "eth-rpc",
            "--url",
            url,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ingest eth-rpc via {url}: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn trace(store: &Path, policy: &str) -> Value {
    serde_json::from_slice(
        &run_ok(&[
            "trace",
            "--store",
            s(store),
            "--seed",
            THIEF,
            "--policy",
            policy,
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap()
}

fn wei(v: &Value) -> u128 {
    v.as_str().map_or(0, |s| s.parse().unwrap())
}

/// Tainted ETH received and held per reached address.
fn taint(report: &Value) -> BTreeMap<String, (u128, u128)> {
    report["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap().to_string(),
                (wei(&a["taint"]["ETH"]), wei(&a["held"]["ETH"])),
            )
        })
        .collect()
}

/// The exchange is a labelled service: traces end there, and paths lead to it.
fn label_exchange(store: &Path) {
    let labels = store.with_extension("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "address,label,category,source\n{EXCHANGE},Drill exchange hot wallet,exchange,test\n"
        ),
    )
    .unwrap();
    run_ok(&[
        "labels",
        "import",
        "--store",
        s(store),
        "--format",
        "csv",
        s(&labels),
    ]);
}

fn assert_drills_traced(store: &Path) {
    for policy in POLICIES {
        let r = trace(store, policy);
        let mut t = taint(&r);
        if policy == "poison" {
            // Poison marks addresses: what they hold is not followed.
            t.values_mut().for_each(|v| v.1 = v.0);
            for (a, held) in [(MULE, ETHER), (FORWARDER, 0)] {
                if let Some(v) = t.get_mut(a) {
                    v.1 = held;
                }
            }
        }
        assert_eq!(
            t.get(MULE),
            Some(&(10 * ETHER, ETHER)),
            "{policy}: the forward reached the mule: {t:?}"
        );
        assert_eq!(
            t.get(EXCHANGE).map(|x| x.0),
            Some(9 * ETHER),
            "{policy}: the far side, exactly: {t:?}"
        );
        let endpoint = r["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["address"] == EXCHANGE && e["asset"] == "ETH")
            .unwrap_or_else(|| panic!("{policy}: the exchange is an endpoint: {}", r["endpoints"]));
        assert_eq!(wei(&endpoint["amount"]), 9 * ETHER, "{policy}: {endpoint}");
        assert_eq!(t.get(FORWARDER).map(|x| x.1), Some(0), "{policy}: {t:?}");
        assert_eq!(
            t.get(FORWARDER2),
            Some(&(3 * ETHER, 3 * ETHER)),
            "{policy}: the reverted call carried nothing: {t:?}"
        );
        assert!(
            !t.contains_key(REVERTER) && !t.contains_key(MULE2),
            "{policy}: {t:?}"
        );
        assert_eq!(
            t.get(MULE3),
            Some(&(2 * ETHER, 2 * ETHER)),
            "{policy}: the self-destruct payout: {t:?}"
        );
        // The path to the exchange shows the hop through the forwarder as
        // internal, in the thief's transaction.
        let path = r["paths"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["endpoint"] == EXCHANGE)
            .unwrap_or_else(|| panic!("{policy}: no path to the exchange: {}", r["paths"]));
        let hops: Vec<(&str, &str, &str)> = path["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["from"].as_str().unwrap(),
                    h["to"].as_str().unwrap(),
                    h["kind"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            hops,
            [
                (THIEF, FORWARDER, "transfer"),
                (FORWARDER, MULE, "internal"),
                (MULE, EXCHANGE, "transfer")
            ],
            "{policy}"
        );
        assert_eq!(path["hops"][0]["tx"], path["hops"][1]["tx"], "{policy}");
        if policy != "poison" {
            let eth = &r["totals"]["ETH"];
            assert_eq!(eth["reconciles"], true, "{policy}: {eth}");
            assert_eq!(wei(&eth["seeded"]), 15 * ETHER, "{policy}: {eth}");
        }
    }
}

const TRACES_HEADER: &str = "block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status,trace_id\n";

fn dec(v: &Value) -> String {
    quantity(v).to_string()
}

/// What ethereum-etl's `export_blocks_and_transactions` and `export_traces`
/// write for the node's blocks `0..=head`: `transactions.csv` and
/// `traces.csv` (Parity traces; `status` 0 when the trace or one above it
/// failed).
fn export_etl(anvil: &Anvil, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut txs = String::from("hash,block_number,transaction_index,from_address,to_address,value,block_timestamp,receipt_status,receipt_contract_address\n");
    let mut traces = String::from(TRACES_HEADER);
    for n in 0..=anvil.head() {
        let b = anvil.call("eth_getBlockByNumber", json!([format!("0x{n:x}"), true]));
        let ts = quantity(&b["timestamp"]);
        for t in b["transactions"].as_array().unwrap() {
            let r = anvil.call("eth_getTransactionReceipt", json!([t["hash"]]));
            txs += &format!(
                "{},{n},{},{},{},{},{ts},{},{}\n",
                t["hash"].as_str().unwrap(),
                quantity(&t["transactionIndex"]),
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap_or(""),
                dec(&t["value"]),
                quantity(&r["status"]),
                r["contractAddress"].as_str().unwrap_or(""),
            );
        }
        let all = anvil.call("trace_block", json!([format!("0x{n:x}")]));
        let all = all.as_array().unwrap();
        let failed: Vec<(String, Vec<u64>)> = all
            .iter()
            .filter(|t| t.get("error").is_some_and(|e| !e.is_null()))
            .map(|t| {
                (
                    t["transactionHash"].as_str().unwrap_or("").to_string(),
                    t["traceAddress"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_u64().unwrap())
                        .collect(),
                )
            })
            .collect();
        for t in all {
            let a = &t["action"];
            let hash = t["transactionHash"].as_str().unwrap_or("");
            let addr: Vec<u64> = t["traceAddress"]
                .as_array()
                .map(|v| v.iter().map(|i| i.as_u64().unwrap()).collect())
                .unwrap_or_default();
            let status = !failed.iter().any(|(h, f)| h == hash && addr.starts_with(f));
            let (from, to, value, call_type) = match t["type"].as_str().unwrap() {
                "call" => (
                    a["from"].as_str().unwrap(),
                    a["to"].as_str().unwrap(),
                    dec(&a["value"]),
                    a["callType"].as_str().unwrap(),
                ),
                "create" => (
                    a["from"].as_str().unwrap(),
                    t["result"]["address"].as_str().unwrap_or(""),
                    dec(&a["value"]),
                    "",
                ),
                "suicide" => (
                    a["address"].as_str().unwrap(),
                    a["refundAddress"].as_str().unwrap(),
                    dec(&a["balance"]),
                    "",
                ),
                "reward" => ("", a["author"].as_str().unwrap(), dec(&a["value"]), ""),
                other => panic!("trace type {other}"),
            };
            let ta: Vec<String> = addr.iter().map(u64::to_string).collect();
            traces += &format!(
                "{n},{hash},{},{from},{to},{value},0x,0x,{},{call_type},{},0,0,{},\"{}\",{},{},id\n",
                t["transactionPosition"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
                t["type"].as_str().unwrap(),
                a["rewardType"].as_str().unwrap_or(""),
                t["subtraces"],
                ta.join(","),
                t["error"].as_str().unwrap_or(""),
                u8::from(status),
            );
        }
    }
    let (t, x) = (dir.join("traces.csv"), dir.join("transactions.csv"));
    std::fs::write(&t, traces).unwrap();
    std::fs::write(&x, txs).unwrap();
    (x, t)
}

/// A JSON-RPC proxy in front of the node that answers the `blocked`
/// methods "method not found", as a node without them does. Stops on drop.
struct Proxy {
    url: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Proxy {
    fn start(upstream: &str, blocked: &'static [&'static str]) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (up, flag) = (upstream.to_string(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let up = up.clone();
                std::thread::spawn(move || serve(conn, &up, blocked));
            }
        });
        Proxy {
            url: format!("http://{addr}"),
            stop,
            addr,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One client connection: HTTP/1.1 requests with a Content-Length body.
fn serve(conn: TcpStream, upstream: &str, blocked: &[&str]) {
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let req: Value = serde_json::from_slice(&body).unwrap();
        let resp = if blocked.contains(&req["method"].as_str().unwrap_or("")) {
            json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "the method does not exist/is not available"}})
        } else {
            ureq::post(upstream)
                .send_json(req)
                .unwrap()
                .into_json::<Value>()
                .unwrap()
        };
        let text = resp.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if out
            .write_all(head.as_bytes())
            .and_then(|_| out.write_all(text.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn counts(v: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    (
        n("records"),
        n("internal_records"),
        n("appended"),
        n("duplicates_skipped"),
    )
}

#[test]
fn forwarder_revert_and_self_destruct_reach_the_far_side_in_every_policy_from_rpc_and_traces_csv() {
    let anvil = Anvil::start();
    drills(&anvil);
    let dir = tempfile::tempdir().unwrap();

    // 1. The node itself: anvil offers trace_block.
    let rpc_store = dir.path().join("rpc");
    let (out, _) = ingest_rpc(&rpc_store, &anvil.url);
    assert_eq!(out["node_traces"], "trace_block", "{out}");
    // Internal: the forward and the self-destruct payout; the reverted
    // forward and its child are not records, nor is any top-level call again.
    let (records, internal, appended, dups) = counts(&out);
    assert_eq!((internal, appended, dups), (2, records, 0), "{out}");
    label_exchange(&rpc_store);
    assert_drills_traced(&rpc_store);

    // 2. ethereum-etl files written from the same node give the same keys:
    // ingested into the RPC store they add nothing.
    let (transactions, traces) = export_etl(&anvil, dir.path());
    let files = [
        "ethereum-etl",
        "--transactions",
        s(&transactions),
        "--traces",
        s(&traces),
    ];
    let again = ingest_json(&rpc_store, &files);
    assert_eq!(counts(&again), (records, 2, 0, records), "{again}");

    // ... and on their own, the same store: the same traces in every policy.
    let etl_store = dir.path().join("etl");
    let etl = ingest_json(&etl_store, &files);
    assert_eq!(counts(&etl), (records, 2, records, 0), "{etl}");
    label_exchange(&etl_store);
    for k in ["transfers", "addresses", "assets"] {
        assert_eq!(etl["stats"][k], out["stats"][k], "{k}");
    }
    for policy in POLICIES {
        assert_eq!(
            trace(&etl_store, policy),
            trace(&rpc_store, policy),
            "{policy}"
        );
    }
    // Re-ingest of the files is a no-op (cursors; and the keys if they were gone).
    let third = ingest_json(&etl_store, &files);
    assert_eq!(
        (third["appended"].as_u64(), third["records"].as_u64()),
        (Some(0), Some(0)),
        "{third}"
    );

    // 3. A node without trace_block (as geth): debug_traceBlockByNumber
    // with the callTracer gives the same records.
    let geth_like = Proxy::start(&anvil.url, &["trace_block"]);
    let (via_debug, _) = ingest_rpc(&rpc_store, &geth_like.url);
    assert_eq!(
        via_debug["node_traces"], "debug_traceBlockByNumber (callTracer)",
        "{via_debug}"
    );
    assert_eq!(counts(&via_debug), (records, 2, 0, records), "{via_debug}");

    // 4. A node with neither: said on stderr and in the summary; the
    // top-level transfers still come in.
    let bare = Proxy::start(&anvil.url, &["trace_block", "debug_traceBlockByNumber"]);
    let bare_store = dir.path().join("bare");
    let (plain, stderr) = ingest_rpc(&bare_store, &bare.url);
    assert_eq!(plain["node_traces"], "none", "{plain}");
    assert!(
        stderr.contains("offers neither trace_block nor debug_traceBlockByNumber"),
        "{stderr}"
    );
    assert_eq!(counts(&plain), (records - 2, 0, records - 2, 0), "{plain}");
    let t = taint(&trace(&bare_store, "haircut"));
    assert!(
        !t.contains_key(EXCHANGE),
        "without traces the forward is invisible: {t:?}"
    );
}

#[test]
fn a_bad_traces_csv_names_file_line_and_column_and_stores_none_of_that_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let h = |n: u8| format!("0x{:064x}", n);
    let txs = dir.path().join("transactions.csv");
    std::fs::write(
        &txs,
        format!("hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n{},5,0,{THIEF},{FORWARDER},10,1700000000\n", h(1)),
    )
    .unwrap();
    let traces = dir.path().join("traces.csv");
    std::fs::write(
        &traces,
        format!(
            "{TRACES_HEADER}5,{tx},0,{THIEF},{FORWARDER},10,0x,0x,call,call,,0,0,1,,,1,a\n5,{tx},0,{FORWARDER},{MULE},ten,0x,0x,call,call,,0,0,0,0,,1,b\n",
            tx = h(1)
        ),
    )
    .unwrap();
    let store = dir.path().join("st");
    let out = tripoint()
        .args([
            "ingest",
            "--store",
            s(&store),
            "ethereum-etl",
            "--transactions",
            s(&txs),
            "--traces",
            s(&traces),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("traces.csv:3: column value: 'ten' is not an integer"),
        "{err}"
    );
    // The transactions file was checkpointed; nothing of the bad transaction's frames was.
    let t = taint(&trace(&store, "poison"));
    assert!(t.contains_key(FORWARDER) && !t.contains_key(MULE), "{t:?}");
}
