//! Money through contracts, on real contract code in a real node (anvil,
//! installed by scripts/setup-anvil.sh): internal transfers read by
//! `tripoint ingest eth-rpc` (trace_block, or debug_traceBlockByNumber with
//! the callTracer) and from ethereum-etl `traces.csv` written from the same
//! node, traced with all five policies; WETH9 and a Uniswap V2 pool
//! deployed from the compiled artifacts of npm packages (installed by
//! scripts/setup-contracts.sh), with swaps found from the transactions.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

// ---- WETH9 and a Uniswap V2 pool, from the npm packages' artifacts ----

/// Mainnet WETH9, where the test installs WETH9's runtime code.
const WETH: &str = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2";
/// Deploys the pool's token, factory and router, and provides liquidity.
const LP: &str = "0x1b00000000000000000000000000000000000007";
const TRADER: &str = "0x3a1e000000000000000000000000000000000008";
const DEADLINE: u128 = 1 << 40;

/// The directory holding `node_modules/@uniswap/...`: $TRIPOINT_CONTRACTS,
/// else the project's install dir (scripts/setup-contracts.sh).
fn contracts_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TRIPOINT_CONTRACTS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/contracts");
    assert!(
        p.join("node_modules/@uniswap/v2-core/build/UniswapV2Pair.json").exists(),
        "the contract artifacts are not installed: run scripts/setup-contracts.sh (scripts/test.sh does), or set TRIPOINT_CONTRACTS"
    );
    p
}

/// `evm.<which>.object` (hex, no 0x) of an artifact of an npm package.
fn artifact(package: &str, name: &str, which: &str) -> String {
    let path = contracts_dir().join(format!("node_modules/@uniswap/{package}/build/{name}.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let code = v["evm"][which]["object"].as_str().unwrap();
    assert!(code.len() > 100, "{}: no {which}", path.display());
    code.trim_start_matches("0x").to_string()
}

fn word(v: u128) -> String {
    format!("{v:064x}")
}

fn word_addr(a: &str) -> String {
    format!("{:0>64}", hex_of(a).to_ascii_lowercase())
}

/// ABI call data: a selector and static words; `path` (an address[]) is
/// appended as the one dynamic argument where its offset word says.
fn calldata(selector: &str, words: &[String], path: &[&str]) -> String {
    let mut d = format!("0x{selector}{}", words.concat());
    if !path.is_empty() {
        d += &word(path.len() as u128);
        for a in path {
            d += &word_addr(a);
        }
    }
    d
}

/// Send a transaction with `data` (no `to`: a deployment), wait for its
/// receipt, and check that it succeeded.
fn exec(anvil: &Anvil, from: &str, to: Option<&str>, value: u128, data: &str) -> Value {
    // A fixed gas limit (below the block's): no estimate to go wrong.
    let mut tx =
        json!({"from": from, "value": format!("0x{value:x}"), "data": data, "gas": "0xe4e1c0"});
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash = anvil.call("eth_sendTransaction", json!([tx]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = anvil.call("eth_getTransactionReceipt", json!([hash]));
        if !r.is_null() {
            assert_eq!(r["status"], "0x1", "transaction {tx} failed: {r}");
            return r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{hash}: not mined within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn deploy(anvil: &Anvil, from: &str, creation: &str, args: &[String]) -> String {
    let r = exec(
        anvil,
        from,
        None,
        0,
        &format!("0x{creation}{}", args.concat()),
    );
    r["contractAddress"].as_str().unwrap().to_string()
}

fn view(anvil: &Anvil, to: &str, data: &str) -> String {
    let out = anvil.call("eth_call", json!([{"to": to, "data": data}, "latest"]));
    out.as_str().unwrap().trim_start_matches("0x").to_string()
}

fn token_balance(anvil: &Anvil, token: &str, who: &str) -> u128 {
    let v = view(anvil, token, &calldata("70a08231", &[word_addr(who)], &[]));
    u128::from_str_radix(v.trim_start_matches('0'), 16).unwrap_or(0)
}

/// A short Solidity storage string: the bytes left-aligned, length × 2 last.
fn short_string(s: &str) -> String {
    let mut w = [0u8; 32];
    w[..s.len()].copy_from_slice(s.as_bytes());
    w[31] = (s.len() * 2) as u8;
    format!(
        "0x{}",
        w.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

struct Pool {
    token: String,
    pair: String,
    router: String,
}

/// WETH9 at its mainnet address (runtime code from @uniswap/v2-periphery's
/// build/WETH9.json, and the storage its constructor would have written:
/// name, symbol, decimals); the test ERC-20, UniswapV2Factory (both from
/// @uniswap/v2-core) and UniswapV2Router02 (@uniswap/v2-periphery)
/// deployed from their creation code; a TOKEN/WETH pool with liquidity.
fn uniswap(anvil: &Anvil) -> Pool {
    anvil.fund(LP, 1_000 * ETHER);
    let weth_code = artifact("v2-periphery", "WETH9", "deployedBytecode");
    anvil.call("anvil_setCode", json!([WETH, format!("0x{weth_code}")]));
    for (slot, value) in [
        ("0x0", short_string("Wrapped Ether")),
        ("0x1", short_string("WETH")),
        ("0x2", format!("0x{}", word(18))),
    ] {
        anvil.call("anvil_setStorageAt", json!([WETH, slot, value]));
    }
    let token = deploy(
        anvil,
        LP,
        &artifact("v2-core", "ERC20", "bytecode"),
        &[word(1_000_000 * ETHER)],
    );
    let factory = deploy(
        anvil,
        LP,
        &artifact("v2-core", "UniswapV2Factory", "bytecode"),
        &[word_addr(LP)],
    );
    let router = deploy(
        anvil,
        LP,
        &artifact("v2-periphery", "UniswapV2Router02", "bytecode"),
        &[word_addr(&factory), word_addr(WETH)],
    );
    // approve(router, max); addLiquidityETH(token, 10,000 TOKEN, 0, 0, LP, deadline) with 100 ETH.
    exec(
        anvil,
        LP,
        Some(&token),
        0,
        &calldata("095ea7b3", &[word_addr(&router), "f".repeat(64)], &[]),
    );
    exec(
        anvil,
        LP,
        Some(&router),
        100 * ETHER,
        &calldata(
            "f305d719",
            &[
                word_addr(&token),
                word(10_000 * ETHER),
                word(0),
                word(0),
                word_addr(LP),
                word(DEADLINE),
            ],
            &[],
        ),
    );
    let pair = view(
        anvil,
        &factory,
        &calldata("e6a43905", &[word_addr(&token), word_addr(WETH)], &[]),
    );
    let pair = format!("0x{}", &pair[24..]);
    assert_eq!(
        token_balance(anvil, WETH, &pair),
        100 * ETHER,
        "the pool holds the LP's WETH"
    );
    Pool {
        token,
        pair,
        router,
    }
}

/// What the trader does with the thief's 10 ETH: wrap 4, unwrap 1, swap
/// 2 ETH for tokens and all the tokens back for ETH through the router,
/// then pay the exchange 3 WETH and 5 ETH.
fn weth_and_swap_drills(anvil: &Anvil, pool: &Pool) -> u128 {
    anvil.fund(THIEF, 1_000 * ETHER);
    // Gas money, outside any transfer the store sees.
    anvil.fund(TRADER, ETHER);
    anvil.send(THIEF, TRADER, 10 * ETHER);
    // deposit() with 4 ETH (this build of WETH9 has no payable fallback).
    exec(anvil, TRADER, Some(WETH), 4 * ETHER, "0xd0e30db0");
    assert_eq!(token_balance(anvil, WETH, TRADER), 4 * ETHER);
    // withdraw(1 ETH)
    exec(
        anvil,
        TRADER,
        Some(WETH),
        0,
        &calldata("2e1a7d4d", &[word(ETHER)], &[]),
    );
    assert_eq!(token_balance(anvil, WETH, TRADER), 3 * ETHER);
    // swapExactETHForTokens(0, [WETH, TOKEN], TRADER, deadline), 2 ETH.
    exec(
        anvil,
        TRADER,
        Some(&pool.router),
        2 * ETHER,
        &calldata(
            "7ff36ab5",
            &[word(0), word(0x80), word_addr(TRADER), word(DEADLINE)],
            &[WETH, &pool.token],
        ),
    );
    let tokens = token_balance(anvil, &pool.token, TRADER);
    assert!(tokens > 0, "the swap paid tokens");
    // approve(router, max); swapExactTokensForETH(tokens, 0, [TOKEN, WETH], TRADER, deadline).
    exec(
        anvil,
        TRADER,
        Some(&pool.token),
        0,
        &calldata("095ea7b3", &[word_addr(&pool.router), "f".repeat(64)], &[]),
    );
    let before = balance(anvil, TRADER);
    let r = exec(
        anvil,
        TRADER,
        Some(&pool.router),
        0,
        &calldata(
            "18cbafe5",
            &[
                word(tokens),
                word(0),
                word(0xa0),
                word_addr(TRADER),
                word(DEADLINE),
            ],
            &[&pool.token, WETH],
        ),
    );
    let gas = quantity(&r["gasUsed"]) * quantity(&r["effectiveGasPrice"]);
    let eth_back = balance(anvil, TRADER) + gas - before;
    assert!(
        eth_back > 0 && eth_back < 2 * ETHER,
        "the pool paid ether back: {eth_back}"
    );
    assert_eq!(token_balance(anvil, &pool.token, TRADER), 0);
    // transfer(EXCHANGE, 3 WETH); 5 ETH.
    exec(
        anvil,
        TRADER,
        Some(WETH),
        0,
        &calldata("a9059cbb", &[word_addr(EXCHANGE), word(3 * ETHER)], &[]),
    );
    anvil.send(TRADER, EXCHANGE, 5 * ETHER);
    tokens
}

/// `token_transfers.csv` as ethereum-etl's `export_token_transfers` writes
/// it, from the node's ERC-20 `Transfer` logs.
fn export_token_transfers(anvil: &Anvil, dir: &Path) -> PathBuf {
    let topic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
    let logs = anvil.call(
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "toBlock": "latest", "topics": [topic]}]),
    );
    let mut out = String::from(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n",
    );
    for l in logs.as_array().unwrap() {
        let t = l["topics"].as_array().unwrap();
        let addr = |v: &Value| format!("0x{}", &v.as_str().unwrap()[26..]);
        out += &format!(
            "{},{},{},{},{},{},{}\n",
            l["address"].as_str().unwrap(),
            addr(&t[1]),
            addr(&t[2]),
            dec(&l["data"]),
            l["transactionHash"].as_str().unwrap(),
            quantity(&l["logIndex"]),
            quantity(&l["blockNumber"]),
        );
    }
    let p = dir.join("token_transfers.csv");
    std::fs::write(&p, out).unwrap();
    p
}

fn trace_assets(report: &Value, addr: &str) -> (u128, u128) {
    let a = report["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == addr);
    a.map_or((0, 0), |a| {
        (wei(&a["taint"]["ETH"]), wei(&a["taint"][WETH]))
    })
}

#[test]
fn weth9_and_a_uniswap_v2_pool_carry_the_taint_across_in_every_policy_from_rpc_and_files() {
    let anvil = Anvil::start();
    let pool = uniswap(&anvil);
    let tokens = weth_and_swap_drills(&anvil, &pool);
    let dir = tempfile::tempdir().unwrap();

    let rpc_store = dir.path().join("rpc");
    let (out, _) = ingest_rpc(&rpc_store, &anvil.url);
    assert_eq!(out["node_traces"], "trace_block", "{out}");
    label_exchange(&rpc_store);
    for policy in POLICIES {
        let r = trace(&rpc_store, policy);
        // Everything the trader had on record was the thief's, so every
        // conversion and swap carries all of it: the exchange gets 3 WETH
        // and 5 ETH, all tainted, in every policy.
        let at = |asset: &str| {
            r["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["address"] == EXCHANGE && e["asset"] == asset)
                .map_or(0, |e| wei(&e["amount"]))
        };
        assert_eq!(
            (at("ETH"), at(WETH)),
            (5 * ETHER, 3 * ETHER),
            "{policy}: {}",
            r["endpoints"]
        );
        // The trader got the pool's tokens with all their taint.
        let trader = r["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["address"] == TRADER)
            .unwrap_or_else(|| panic!("{policy}: the trader is reached"));
        assert_eq!(
            wei(&trader["taint"][pool.token.as_str()]),
            tokens,
            "{policy}: {trader}"
        );
        assert!(
            trader["patterns"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "dex-swap"),
            "{policy}: {trader}"
        );
        // The swap counterparties (WETH, the router, the pair) are not
        // walked: the taint crossed the swaps instead.
        for c in [WETH, pool.router.as_str(), pool.pair.as_str()] {
            let role = r["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["address"] == c)
                .map(|a| a["role"].clone());
            assert_eq!(role, Some(json!("dex")), "{policy}: {c}");
        }
        assert_eq!(
            trace_assets(&r, LP),
            (0, 0),
            "{policy}: the LP's pool shares stay clean"
        );
        if policy != "poison" {
            for (asset, t) in r["totals"].as_object().unwrap() {
                assert_eq!(t["reconciles"], true, "{policy}: {asset}: {t}");
            }
            // 4 ETH wrapped came back as 4 WETH of taint, 1 WETH unwrapped as 1 ETH.
            assert_eq!(wei(&r["totals"][WETH]["swapped_in"]), 4 * ETHER, "{policy}");
            assert_eq!(wei(&r["totals"][WETH]["swapped_out"]), ETHER, "{policy}");
        }
    }

    // The same blocks as ethereum-etl files: the same store, the same traces.
    let (transactions, traces) = export_etl(&anvil, dir.path());
    let token_transfers = export_token_transfers(&anvil, dir.path());
    let etl_store = dir.path().join("etl");
    let etl = ingest_json(
        &etl_store,
        &[
            "ethereum-etl",
            "--transactions",
            s(&transactions),
            "--token-transfers",
            s(&token_transfers),
            "--traces",
            s(&traces),
        ],
    );
    label_exchange(&etl_store);
    for k in ["transfers", "addresses", "assets"] {
        assert_eq!(etl["stats"][k], out["stats"][k], "{k}: {etl} vs {out}");
    }
    // Token names come from the node's symbol()/decimals() on one side
    // only (no tokens.csv here): compare everything else.
    fn taint_only(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["symbol", "decimals", "assets"] {
                    m.remove(k);
                }
                m.values_mut().for_each(taint_only);
            }
            Value::Array(a) => a.iter_mut().for_each(taint_only),
            _ => {}
        }
    }
    for policy in POLICIES {
        let (mut a, mut b) = (trace(&etl_store, policy), trace(&rpc_store, policy));
        taint_only(&mut a);
        taint_only(&mut b);
        assert_eq!(a, b, "{policy}");
    }
}

/// `tripoint trace` JSON of a generated scenario from its seed at its theft time.
fn trace_from(store: &Path, seed: &str, from: &str, policy: &str) -> Value {
    serde_json::from_slice(
        &run_ok(&[
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
            "json",
        ])
        .stdout,
    )
    .unwrap()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// `tripoint gen --contract-share 0.3`: 30 % of the flows go through
/// contracts (forwarders paying on by internal calls, staked tokens swapped
/// to ETH paid out by the router's internal calls, WETH wrapped and
/// unwrapped). Ingest of the transfers plus `traces.csv` and a trace reach
/// the ground truth exactly in all five policies: every laundering address
/// and nothing else is walked, every endpoint gets exactly the amount the
/// truth says, every swap of the truth is crossed, what launderers still
/// hold is exact (the conserving policies), totals reconcile, and spam is
/// never tainted. Re-ingest appends nothing.
#[test]
fn generated_contract_flows_reach_the_truth_exactly_in_every_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    let store = tmp.path().join("store");
    let summary: Value = serde_json::from_slice(
        &run_ok(&[
            "gen",
            "--out",
            s(&gen),
            "--seed",
            "11",
            "--transfers",
            "20000",
            "--contract-share",
            "0.3",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let internal = summary["internal_transfers"].as_u64().unwrap();
    // About 30 % of the ETH payments and withdrawals go through a forwarder.
    assert!(internal > 2_000, "{summary}");
    let paths: Vec<String> = [
        "transactions.csv",
        "token_transfers.csv",
        "tokens.csv",
        "traces.csv",
    ]
    .iter()
    .map(|f| s(&gen.join(f)).to_string())
    .collect();
    let files = [
        "ethereum-etl",
        "--transactions",
        &paths[0],
        "--token-transfers",
        &paths[1],
        "--tokens",
        &paths[2],
        "--traces",
        &paths[3],
    ];
    let first = ingest_json(&store, &files);
    // Every internal transfer of the file is stored (plus the WETH it derives).
    assert!(
        first["internal_records"].as_u64().unwrap() >= internal,
        "{first}"
    );
    assert_eq!(first["appended"], first["records"], "{first}");
    run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        s(&gen.join("labels.csv")),
    ]);
    let again = ingest_json(&store, &files);
    assert_eq!(again["appended"], 0, "re-ingest is a no-op: {again}");

    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(gen.join("truth.json")).unwrap()).unwrap();
    let seed = truth["seeds"]["addresses"][0].as_str().unwrap();
    let from = truth["seeds"]["start_time"].as_i64().unwrap().to_string();
    let launderers: BTreeMap<&str, &str> = truth["laundering_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["address"].as_str().unwrap(), l["role"].as_str().unwrap()))
        .collect();
    for role in ["forwarder", "fan-out", "peel"] {
        assert!(launderers.values().any(|r| *r == role), "{role}");
    }
    // The truth's swaps: contract-mediated ones pay out ETH (router unwraps,
    // WETH withdraw) or take ETH in (WETH deposit).
    let swaps = truth["swaps"].as_array().unwrap();
    assert!(
        swaps.iter().any(|s| s["asset_out"] == "ETH"),
        "swaps to ETH"
    );
    assert!(swaps.iter().any(|s| s["asset_in"] == "ETH"), "a wrap");
    let spam = strs(&truth["spam_addresses"]);
    let endpoint_addrs: Vec<&str> = truth["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();

    let mut reached: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for policy in POLICIES {
        let r = trace_from(&store, seed, &from, policy);
        let by_addr: BTreeMap<&str, &Value> = r["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["address"].as_str().unwrap(), a))
            .collect();
        reached.insert(policy, by_addr.keys().map(|a| a.to_string()).collect());
        // Walked: exactly the launderers and the deposit addresses that
        // passed their funds on to the exchange.
        for (addr, role) in &launderers {
            let a = by_addr
                .get(addr)
                .unwrap_or_else(|| panic!("{policy}: {role} {addr} not reached"));
            assert!(
                a["role"] == "walked" || a["role"] == "seed",
                "{policy}: {role} {addr} is {}",
                a["role"]
            );
        }
        for (addr, a) in &by_addr {
            if a["role"] == "walked" {
                assert!(
                    launderers.contains_key(addr) || endpoint_addrs.contains(addr),
                    "{policy}: {addr} walked but not in the truth"
                );
            }
            assert!(!spam.contains(addr), "{policy}: spam {addr} tainted");
        }
        // Every endpoint got exactly its amount of taint.
        for e in truth["endpoints"].as_array().unwrap() {
            let (addr, asset) = (e["address"].as_str().unwrap(), e["asset"].as_str().unwrap());
            let got = by_addr
                .get(addr)
                .map(|a| wei(&a["taint"][asset]))
                .unwrap_or(0);
            assert_eq!(got, wei(&e["amount"]), "{policy}: endpoint {addr} {asset}");
        }
        // Every swap of the truth was crossed, in its transaction.
        let crossed: Vec<(&str, &str)> = r["swaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["tx"].as_str().unwrap(), s["trader"].as_str().unwrap()))
            .collect();
        for sw in swaps {
            let key = (
                sw["tx_hash"].as_str().unwrap(),
                sw["address"].as_str().unwrap(),
            );
            assert!(crossed.contains(&key), "{policy}: swap {sw} not crossed");
        }
        if policy != "poison" {
            // What launderers still hold, exactly, and the books balance.
            for h in truth["held"].as_array().unwrap() {
                let (addr, asset) = (h["address"].as_str().unwrap(), h["asset"].as_str().unwrap());
                assert_eq!(
                    wei(&by_addr[addr]["held"][asset]),
                    wei(&h["amount"]),
                    "{policy}: held by {addr} in {asset}"
                );
            }
            for (asset, t) in r["totals"].as_object().unwrap() {
                assert_eq!(t["reconciles"], true, "{policy} {asset}: {t}");
            }
            for st in truth["stolen"].as_array().unwrap() {
                let asset = st["asset"].as_str().unwrap();
                assert_eq!(
                    wei(&r["totals"][asset]["seeded"]),
                    wei(&st["amount"]),
                    "{policy}: seeded {asset}"
                );
            }
        }
    }
    // Poison reaches every address any other policy reaches.
    for policy in &POLICIES[1..] {
        let missing: Vec<&String> = reached[policy]
            .iter()
            .filter(|a| !reached["poison"].contains(a))
            .collect();
        assert!(missing.is_empty(), "{policy} beyond poison: {missing:?}");
    }
}
