//! Integration tests: `tripoint ingest` end to end — real files, the real
//! binary, the real store, and a real JSON-RPC server on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tripoint_chain::{parse_decimal_units, Address, Amount, Asset, TransferGraph, TransferRecord};
use tripoint_store::Store;

use crate::common::{run_ok, shared_data, tripoint};

fn ingest_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = run_ok(&a);
    serde_json::from_slice(&out.stdout).expect("ingest --json prints JSON")
}

fn addr(n: u32) -> String {
    format!("0x{:040x}", 0x1000_0000u64 + n as u64)
}
fn hash(n: u64) -> String {
    format!("0x{:064x}", 0xabcd_0000_0000u64 + n)
}

fn all_records(store: &Path) -> Vec<TransferRecord> {
    let s = Store::open(store).unwrap();
    (0..s.transfer_count()).map(|i| s.record(i)).collect()
}

/// gzip with the system's `gzip` (the importer's own gzip tests are unit tests).
fn write_gz(p: &Path, text: &str) {
    let mut c = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(p).unwrap())
        .spawn()
        .expect("gzip");
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
}

/// ethereum-etl fixture: columns reordered, extra columns, a failed tx, both
/// timestamp styles, a token transfer of 2^200 units, gzip for one file.
#[test]
fn ethereum_etl_fixture_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut t = String::from("receipt_status,hash,gas,block_number,transaction_index,from_address,to_address,value,block_timestamp,input\n");
    t += &format!(
        "1,{},21000,10,0,{},{},1000000000000000000,1700000000,0x\n",
        hash(1),
        addr(1),
        addr(2)
    );
    t += &format!(
        "0,{},21000,10,1,{},{},5,1700000000,0x\n",
        hash(2),
        addr(1),
        addr(3)
    );
    t += &format!(
        "1,{},21000,11,0,{},{},7,2023-11-14 22:13:32 UTC,0x\n",
        hash(3),
        addr(2),
        addr(4)
    );
    let big: Amount = Amount::ONE << 200u32;
    let mut tt = String::from("block_number,log_index,transaction_hash,value,to_address,from_address,token_address,extra\n");
    tt += &format!(
        "11,4,{},{big},{},{},{},x\n",
        hash(3),
        addr(5),
        addr(2),
        addr(9)
    );
    tt += &format!("10,0,{},1,{},{},{},x\n", hash(2), addr(5), addr(1), addr(9));
    std::fs::write(d.join("transactions.csv"), &t).unwrap();
    write_gz(&d.join("token_transfers.csv.gz"), &tt);
    std::fs::write(
        d.join("tokens.csv"),
        format!("address,symbol,name,decimals\n{},BIG,Big,18\n", addr(9)),
    )
    .unwrap();
    let store = d.join("store");
    let s = store.to_str().unwrap();
    let (tx_f, tt_f, tok_f) = (
        d.join("transactions.csv"),
        d.join("token_transfers.csv.gz"),
        d.join("tokens.csv"),
    );
    let args = [
        "ingest",
        "--store",
        s,
        "ethereum-etl",
        "--transactions",
        tx_f.to_str().unwrap(),
        "--token-transfers",
        tt_f.to_str().unwrap(),
        "--tokens",
        tok_f.to_str().unwrap(),
    ];
    let j = ingest_json(&args);
    assert_eq!(j["records"], 3, "{j}");
    assert_eq!(j["appended"], 3);
    assert_eq!(j["no_value_rows"], 2, "failed tx and its reverted log");
    let st = Store::open(&store).unwrap();
    assert_eq!(st.transfer_count(), 3);
    let recs = all_records(&store);
    let tok = recs
        .iter()
        .find(|r| matches!(r.asset, Asset::Token(_)))
        .unwrap();
    assert_eq!(tok.amount, big);
    assert_eq!(tok.timestamp, 1_700_000_012);
    assert_eq!(tok.asset, Asset::Token(Address::parse(&addr(9)).unwrap()));
    let eth: Vec<_> = recs
        .iter()
        .filter(|r| matches!(r.asset, Asset::Native(_)))
        .collect();
    assert_eq!(eth.len(), 2);
    assert_eq!(eth[0].amount, Amount::from(10u64.pow(18)));
    assert_eq!(st.token(1).map(|t| t.symbol), Some("BIG".to_string()));
    // Again: idempotent (cursors say everything is done).
    let j = ingest_json(&args);
    assert_eq!(j["appended"], 0, "{j}");
    assert_eq!(Store::open(&store).unwrap().transfer_count(), 3);
}

#[test]
fn bad_rows_error_or_skip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut t = String::from(
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n",
    );
    for i in 0..10u64 {
        let value = if i == 6 {
            "x12".to_string()
        } else {
            i.to_string()
        };
        t += &format!(
            "{},{},0,{},{},{value},{}\n",
            hash(i),
            100 + i,
            addr(1),
            addr(2),
            1_700_000_000 + i
        );
    }
    let f = d.join("transactions.csv");
    std::fs::write(&f, &t).unwrap();
    let store = d.join("store");
    let out = tripoint()
        .args([
            "ingest",
            "--store",
            store.to_str().unwrap(),
            "--checkpoint-every",
            "4",
            "ethereum-etl",
            "--transactions",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("transactions.csv:8: column value: 'x12' is not an integer"),
        "{err}"
    );
    // Rows 1-4 were checkpointed; the batch with the bad row was not.
    assert_eq!(Store::open(&store).unwrap().transfer_count(), 4);
    let j = ingest_json(&[
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "ethereum-etl",
        "--transactions",
        f.to_str().unwrap(),
        "--skip-bad-rows",
    ]);
    assert_eq!(j["bad_rows_skipped"], 1, "{j}");
    assert_eq!(j["rows_resumed"], 4);
    assert_eq!(Store::open(&store).unwrap().transfer_count(), 9);
}

const BTC: &str = r#"{"hash":"00000000000000000000000000000000000000000000000000000000000000a1","block_number":1,"block_timestamp":1231469665,"index":0,"is_coinbase":true,"inputs":[],"outputs":[{"index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":5000000000}]}
{"hash":"00000000000000000000000000000000000000000000000000000000000000a2","block_number":2,"block_timestamp":"2009-01-09 03:00:00 UTC","index":1,"is_coinbase":false,"inputs":[{"index":0,"spent_transaction_hash":"00000000000000000000000000000000000000000000000000000000000000a1","spent_output_index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":5000000000}],"outputs":[{"index":0,"addresses":["bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"],"value":1000000000},{"index":1,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":3999990000}]}
{"hash":"00000000000000000000000000000000000000000000000000000000000000a3","block_number":3,"block_timestamp":1231480000,"index":1,"inputs":[{"index":0,"spent_transaction_hash":"00000000000000000000000000000000000000000000000000000000000000a2","spent_output_index":0,"addresses":["bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"],"value":1000000000}],"outputs":[{"index":0,"addresses":["1BoatSLRHtKNngkdXEeobR76b53LETtpyT"],"value":999990000}]}
"#;

#[test]
fn bitcoin_etl_spend_chain_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("transactions.json");
    std::fs::write(&f, BTC).unwrap();
    let store = dir.path().join("store");
    let j = ingest_json(&[
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "bitcoin-etl",
        "--transactions",
        f.to_str().unwrap(),
    ]);
    assert_eq!(j["appended"], 6, "{j}");
    let st = Store::open(&store).unwrap();
    let bc1 = st
        .lookup(&Address::parse("bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6").unwrap())
        .unwrap();
    // The bc1 address received output a2:0 and spent it in a3.
    let inc: Vec<_> = st.incoming(bc1).collect();
    let out: Vec<_> = st.outgoing(bc1).collect();
    assert_eq!((inc.len(), out.len()), (1, 1));
    assert_eq!(st.transfer(out[0]).amount, Amount::from(1_000_000_000u64));
    assert_eq!(
        st.spent_output(out[0]),
        Some(inc[0]),
        "the input spends exactly that output"
    );
    let a3 = st.address(st.transfer(out[0]).dst);
    assert_eq!(a3.to_string(), format!("tx:0x{}a3", "0".repeat(62)));
}

/// The Ronin exploit export: the exploiter's direct successors include the 7
/// OFAC-listed laundering wallets with the amounts of SOURCE.md.
#[test]
fn ronin_lazarus_export_loads_with_exact_amounts() {
    let Some(data) = shared_data() else { return };
    let f = data.join("crypto/ronin-lazarus-dune/LazarusTabularTxs1322519.csv");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let args = [
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "transfers-csv",
        f.to_str().unwrap(),
        "--map",
        "from=from,to=to,amount=total_eth,time=block_time",
    ];
    let j = ingest_json(&args);
    assert_eq!(j["rows_read"], 436, "{j}");
    assert_eq!(j["appended"], 436);
    let st = Store::open(&store).unwrap();
    let exploiter = st
        .lookup(&Address::parse("0x098b716b8aaf21512996dc57eb0615e2383e2f96").unwrap())
        .expect("exploiter present");
    let successors: Vec<(String, Amount)> = st
        .outgoing(exploiter)
        .map(|id| {
            let r = st.transfer(id);
            (st.address(r.dst).to_string(), r.amount)
        })
        .collect();
    // (wallet, exact amount in the export, the rounded figure in SOURCE.md)
    let expected = [
        (
            "0x35fb6f6db4fb05e6a4ce86f2c93691425626d4b1",
            "33568.152",
            "33568.15",
        ),
        (
            "0xf7b31119c2682c88d88d455dbb9d5932c65cf1be",
            "25127.5192",
            "25127.52",
        ),
        (
            "0x3e37627deaa754090fbfbb8bd226c1ce66d255e9",
            "23528.8",
            "23528.80",
        ),
        (
            "0x53b6936513e738f44fb50d2b9476730c0ab3bfc1",
            "21629.48215",
            "21629.48",
        ),
        (
            "0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b",
            "18256.81",
            "18256.81",
        ),
        (
            "0x08723392ed15743cc38513c4925f5e6be5c17243",
            "12595.3",
            "12595.30",
        ),
        (
            "0x3cffd56b47b7b41c56258d9c7731abadc360e073",
            "10129.935",
            "10129.94",
        ),
    ];
    let half_cent = parse_decimal_units("0.005", 18).unwrap();
    for (wallet, exact, rounded) in expected {
        let got: Vec<Amount> = successors
            .iter()
            .filter(|(a, _)| a == wallet)
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(
            got,
            vec![parse_decimal_units(exact, 18).unwrap()],
            "{wallet}"
        );
        let r = parse_decimal_units(rounded, 18).unwrap();
        let diff = if got[0] > r { got[0] - r } else { r - got[0] };
        assert!(
            diff <= half_cent,
            "{wallet}: {exact} does not round to {rounded}"
        );
    }
    // Re-ingest from the same file is a no-op.
    let j = ingest_json(&args);
    assert_eq!(j["appended"], 0);
}

fn big_transactions_csv(p: &Path, rows: u64) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
    writeln!(w, "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp,receipt_status").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{}",
            hash(i),
            1000 + i / 100,
            i % 100,
            addr((i % 5003) as u32),
            addr((i * 7 % 9001) as u32),
            i * 1_000_000_007,
            1_600_000_000 + (i / 100) * 12,
            if i % 97 == 0 { 0 } else { 1 }
        )
        .unwrap();
    }
}

/// SIGKILL `tripoint ingest` mid-way, run it again: same store as one clean run.
#[test]
fn kill_mid_ingest_and_resume_equals_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("transactions.csv");
    let rows = 300_000;
    big_transactions_csv(&f, rows);
    let source = tripoint_ingest::canonical_source(&f).unwrap();
    let killed = dir.path().join("killed");
    let clean = dir.path().join("clean");
    let args = |store: &Path| small_checkpoint_args(store, &f, None);
    let at_kill = kill_after_first_checkpoint(&args(&killed), &killed, &source);
    assert!(at_kill < rows, "killed mid-way");
    let resumed = ingest_json_owned(&args(&killed));
    assert!(
        resumed["rows_resumed"].as_u64().unwrap() >= at_kill,
        "{resumed}"
    );
    assert!(resumed["rows_read"].as_u64().unwrap() > 0);
    let one = ingest_json_owned(&args(&clean));
    let (k, c) = (Store::open(&killed).unwrap(), Store::open(&clean).unwrap());
    let (ks, cs) = (k.stats(), c.stats());
    assert_eq!(
        cs.transfers,
        rows - rows.div_ceil(97),
        "failed txs move nothing"
    );
    assert_eq!(one["appended"].as_u64(), Some(cs.transfers));
    assert_eq!(
        (ks.transfers, ks.addresses, ks.assets),
        (cs.transfers, cs.addresses, cs.assets)
    );
    assert_eq!(all_records(&killed), all_records(&clean));
}

/// `tripoint ingest` of an ethereum-etl export with a checkpoint every
/// 10,000 rows (so a kill lands between checkpoints).
fn small_checkpoint_args(store: &Path, transactions: &Path, tokens: Option<&Path>) -> Vec<String> {
    let mut a: Vec<String> = [
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "--checkpoint-every",
        "10000",
        "ethereum-etl",
        "--transactions",
        transactions.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    if let Some(t) = tokens {
        a.extend([
            "--token-transfers".to_string(),
            t.to_str().unwrap().to_string(),
        ]);
    }
    a
}

/// Runs `tripoint ARGS` and SIGKILLs it as soon as `store` has a checkpoint
/// of `source` past 0; returns that cursor.
fn kill_after_first_checkpoint(args: &[String], store: &Path, source: &str) -> u64 {
    let mut child = tripoint()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let at_kill = loop {
        let pos = Store::open(store)
            .ok()
            .and_then(|s| s.resume_position(source));
        if let Some(p) = pos.filter(|&p| p > 0) {
            child.kill().unwrap(); // SIGKILL
            break p;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest finished before it could be killed"
        );
        assert!(t0.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(2));
    };
    child.wait().unwrap();
    at_kill
}

fn ingest_json_owned(args: &[String]) -> Value {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ingest_json(&a)
}

/// Token transfers for `big_transactions_csv`: block-ordered like the
/// transactions, one or two logs on every third transaction.
fn big_token_transfers_csv(p: &Path, rows: u64) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
    writeln!(
        w,
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number"
    )
    .unwrap();
    for i in (0..rows).step_by(3) {
        for log in 0..(1 + i % 2) {
            writeln!(
                w,
                "{},{},{},{},{},{},{}",
                addr(900_000 + (i % 4) as u32),
                addr((i % 5003) as u32),
                addr((i * 11 % 7001) as u32),
                i * 3 + log,
                hash(i),
                log,
                1000 + i / 100
            )
            .unwrap();
        }
    }
}

/// The same with token transfers (the merged two-stream import): SIGKILL
/// mid-way, run again, compare with one clean run.
#[test]
fn kill_mid_merged_ingest_and_resume_equals_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let (f, tt) = (
        dir.path().join("transactions.csv"),
        dir.path().join("token_transfers.csv"),
    );
    let rows = 200_000;
    big_transactions_csv(&f, rows);
    big_token_transfers_csv(&tt, rows);
    let source = tripoint_ingest::canonical_source(&f).unwrap();
    let (killed, clean) = (dir.path().join("killed"), dir.path().join("clean"));
    let args = |store: &Path| small_checkpoint_args(store, &f, Some(&tt));
    kill_after_first_checkpoint(&args(&killed), &killed, &source);
    let resumed = ingest_json_owned(&args(&killed));
    assert!(resumed["rows_resumed"].as_u64().unwrap() > 0, "{resumed}");
    let one = ingest_json_owned(&args(&clean));
    let failed = rows.div_ceil(97);
    let logs: u64 = (0..rows).step_by(3).map(|i| 1 + i % 2).sum();
    let failed_logs: u64 = (0..rows)
        .step_by(3)
        .filter(|i| i % 97 == 0)
        .map(|i| 1 + i % 2)
        .sum();
    assert_eq!(
        one["records"].as_u64(),
        Some(rows - failed + logs - failed_logs)
    );
    assert_eq!(one["appended"], one["records"], "{one}");
    assert_eq!(one["duplicates_skipped"], 0, "in order: nothing to drop");
    let records = all_records(&killed);
    assert_eq!(records, all_records(&clean));
    assert!(
        records
            .windows(2)
            .all(|w| w[0].order_key() < w[1].order_key()),
        "ids are chain order"
    );
}

// ---------------------------------------------------------------------------
// A real JSON-RPC server on loopback serving a small synthetic chain.

const TRANSFER: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

struct Chain {
    head: AtomicU64,
    /// Serve `eth_getBlockReceipts` (else answer "method not found").
    block_receipts: bool,
}

fn q(n: u64) -> String {
    format!("0x{n:x}")
}
fn topic(a: &str) -> String {
    format!("0x{}{}", "0".repeat(24), &a[2..])
}

/// Block n: tx0 plain transfer (value n+1), tx1 failed (value 5), every 4th
/// block a contract creation with value 3; logs: an ERC-20 transfer of
/// 2^200+n in tx0, and an ERC-721 transfer (4 topics) that must be ignored.
fn block(n: u64) -> Value {
    let mut txs = vec![
        json!({"hash": hash(n * 10), "transactionIndex": "0x0", "from": addr(n as u32 % 5), "to": addr(100 + n as u32 % 7), "value": q(n + 1)}),
        json!({"hash": hash(n * 10 + 1), "transactionIndex": "0x1", "from": addr(1), "to": addr(2), "value": "0x5"}),
    ];
    if n.is_multiple_of(4) {
        txs.push(json!({"hash": hash(n * 10 + 2), "transactionIndex": "0x2", "from": addr(3), "to": null, "value": "0x3"}));
    }
    json!({"number": q(n), "timestamp": q(1_700_000_000 + 12 * n), "transactions": txs})
}
fn receipt(n: u64, i: u64) -> Value {
    let created = if i == 2 {
        json!(addr(500 + n as u32))
    } else {
        Value::Null
    };
    json!({"transactionHash": hash(n * 10 + i), "status": if i == 1 { "0x0" } else { "0x1" }, "contractAddress": created})
}
fn logs(n: u64) -> Vec<Value> {
    let big: Amount = (Amount::ONE << 200u32) + Amount::from(n);
    vec![
        json!({"address": addr(900), "topics": [TRANSFER, topic(&addr(n as u32 % 5)), topic(&addr(200))], "data": format!("0x{big:064x}"),
               "blockNumber": q(n), "transactionHash": hash(n * 10), "transactionIndex": "0x0", "logIndex": "0x0", "removed": false}),
        json!({"address": addr(901), "topics": [TRANSFER, topic(&addr(1)), topic(&addr(2)), topic(&addr(7))], "data": "0x",
               "blockNumber": q(n), "transactionHash": hash(n * 10), "transactionIndex": "0x0", "logIndex": "0x1", "removed": false}),
    ]
}
/// Transfers the chain holds in blocks 0..=head.
fn expected_transfers(head: u64) -> u64 {
    (0..=head).map(|n| 2 + u64::from(n % 4 == 0)).sum()
}

fn answer(chain: &Chain, req: &Value) -> Value {
    let p = &req["params"];
    let num =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let head = chain.head.load(Ordering::SeqCst);
    let result = match req["method"].as_str().unwrap() {
        "eth_blockNumber" => json!(q(head)),
        "eth_getBlockByNumber" => {
            let n = num(&p[0]);
            if n > head {
                Value::Null
            } else {
                block(n)
            }
        }
        "eth_getBlockReceipts" if chain.block_receipts => {
            let n = num(&p[0]);
            json!((0..if n % 4 == 0 { 3 } else { 2 })
                .map(|i| receipt(n, i))
                .collect::<Vec<_>>())
        }
        "eth_getTransactionReceipt" => {
            let h =
                u64::from_str_radix(&p[0].as_str().unwrap()[2..], 16).unwrap() - 0xabcd_0000_0000;
            receipt(h / 10, h % 10)
        }
        "eth_getLogs" => {
            assert_eq!(p[0]["topics"][0], TRANSFER);
            let (a, b) = (num(&p[0]["fromBlock"]), num(&p[0]["toBlock"]));
            json!((a..=b.min(head)).flat_map(logs).collect::<Vec<_>>())
        }
        _ => {
            return json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "method not found"}})
        }
    };
    json!({"jsonrpc": "2.0", "id": req["id"], "result": result})
}

fn serve_conn(chain: Arc<Chain>, stream: TcpStream) {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let req: Value = serde_json::from_slice(&body).unwrap();
        let resp = answer(&chain, &req).to_string();
        let msg = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{resp}",
            resp.len()
        );
        if w.write_all(msg.as_bytes()).is_err() {
            return;
        }
    }
}

/// Start the server; returns its URL. Threads end with the test process.
fn start_rpc(chain: Arc<Chain>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let c = chain.clone();
            std::thread::spawn(move || serve_conn(c, s));
        }
    });
    url
}

#[test]
fn eth_rpc_to_head_with_receipt_fallback() {
    let chain = Arc::new(Chain {
        head: AtomicU64::new(20),
        block_receipts: false,
    });
    let url = start_rpc(chain);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let j = ingest_json(&[
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "eth-rpc",
        "--url",
        &url,
        "--batch-blocks",
        "7",
    ]);
    assert_eq!(j["appended"].as_u64(), Some(expected_transfers(20)), "{j}");
    assert_eq!(j["rows_read"], 21);
    let st = Store::open(&store).unwrap();
    assert_eq!(st.resume_position(&format!("eth-rpc:{url}")), Some(21));
    let recs = all_records(&store);
    // Creation in block 8 credits the created contract; failed txs move nothing.
    assert!(recs.iter().any(|r| r.block == 8
        && r.to == Address::parse(&addr(508)).unwrap()
        && r.amount == Amount::from(3u8)));
    assert!(recs
        .iter()
        .all(|r| r.amount != Amount::from(5u8) || r.block == 4));
    let tok = recs
        .iter()
        .find(|r| r.block == 3 && matches!(r.asset, Asset::Token(_)))
        .unwrap();
    assert_eq!(tok.amount, (Amount::ONE << 200u32) + Amount::from(3u8));
    assert_eq!(tok.timestamp, 1_700_000_036);
    // With confirmations and an explicit end nothing new arrives.
    let j = ingest_json(&[
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "eth-rpc",
        "--url",
        &url,
        "--to-block",
        "20",
    ]);
    assert_eq!(j["appended"], 0);
}

fn wait_cursor(store: &Path, source: &str, at_least: u64, child: &mut Child) {
    let t0 = Instant::now();
    loop {
        if Store::open(store)
            .ok()
            .and_then(|s| s.resume_position(source))
            .is_some_and(|p| p >= at_least)
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "follower exited early");
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "follower never reached block {at_least}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Follow the head as it grows, SIGKILL the follower, let the chain grow,
/// restart: the store equals a clean single run over the whole chain.
#[test]
fn eth_rpc_follow_kill_and_resume() {
    let chain = Arc::new(Chain {
        head: AtomicU64::new(10),
        block_receipts: true,
    });
    let url = start_rpc(chain.clone());
    let source = format!("eth-rpc:{url}");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap().to_string();
    let mut child = tripoint()
        .args([
            "ingest",
            "--store",
            &s,
            "eth-rpc",
            "--url",
            &url,
            "--follow",
            "--poll-ms",
            "20",
            "--batch-blocks",
            "3",
            "--confirmations",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_cursor(&store, &source, 9, &mut child); // head 10 - 2 confirmations
    chain.head.store(30, Ordering::SeqCst);
    wait_cursor(&store, &source, 29, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    chain.head.store(45, Ordering::SeqCst);
    let j = ingest_json(&[
        "ingest",
        "--store",
        &s,
        "eth-rpc",
        "--url",
        &url,
        "--from-block",
        "0",
    ]);
    assert!(
        j["rows_read"].as_u64().unwrap() <= 17,
        "resumed from the cursor: {j}"
    );
    assert_eq!(
        Store::open(&store).unwrap().transfer_count(),
        expected_transfers(45)
    );
    let clean = dir.path().join("clean");
    ingest_json(&[
        "ingest",
        "--store",
        clean.to_str().unwrap(),
        "eth-rpc",
        "--url",
        &url,
    ]);
    assert_eq!(all_records(&store), all_records(&clean));
}

/// `tripoint bench ingest --smoke` runs end to end (without the Python peer)
/// and its figures agree with the store it built.
#[test]
fn bench_ingest_smoke_figures_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(&[
        "bench",
        "ingest",
        "--smoke",
        "--no-peer",
        "--json",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    let j: Value = serde_json::from_slice(&out.stdout).expect("bench --json prints JSON");
    let t = &j["tripoint"];
    let records = t["records"].as_u64().unwrap();
    assert!(records > 90_000 && records <= 100_000, "{j}");
    let store = Store::open(&dir.path().join("store")).unwrap();
    assert_eq!(store.transfer_count(), records);
    let (with, without) = (
        t["bytes_per_transfer"].as_f64().unwrap(),
        t["bytes_per_transfer_without_tx_hashes"].as_f64().unwrap(),
    );
    assert!(without > 8.0 && without < with, "{j}");
    let hashes = t["tx_hash_bytes_per_transfer"].as_f64().unwrap();
    assert!((with - without - hashes).abs() < 1e-9, "{j}");
    // 32-byte hashes plus a 4-byte index entry per transaction.
    let txs = j["transfers_generated"].as_u64().unwrap() as f64;
    assert!(
        hashes > 20.0 && hashes <= 36.0 * txs / records as f64 + 1e-9,
        "{j}"
    );
    assert!(t["transfers_per_sec"].as_f64().unwrap() > 0.0);
    assert!(t["reopen_ms_median"].as_f64().unwrap() < 50.0, "{j}");
    // The traces part (30 % contract-mediated flows by default): traces.csv
    // alone into a store of its own, every internal transfer stored.
    let tr = &j["traces"];
    let internal = tr["internal_transfers"].as_u64().unwrap();
    assert!(internal > 10_000, "{tr}");
    let stored = tr["tripoint"]["records"].as_u64().unwrap();
    assert!(stored >= internal, "{tr}");
    let traces_store = Store::open(&dir.path().join("traces-store")).unwrap();
    assert_eq!(traces_store.transfer_count(), stored);
    assert!(
        tr["tripoint"]["rows_per_sec"].as_f64().unwrap() > 0.0,
        "{tr}"
    );
    assert!(tr["duckdb"].is_null(), "--no-peer: {tr}");
}
