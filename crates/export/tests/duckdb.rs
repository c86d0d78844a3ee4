//! DuckDB (PyPI `duckdb`, installed by scripts/setup-python.sh) reads the
//! export as it is: row count, exact sums per symbol, the column types
//! (format version 2's binary hashes and addresses), the timestamps and a
//! join with the labels on the binary address. Needs `$TRIPOINT_PYTHON` or the
//! project venv with duckdb; without it the test says it skipped and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, SourceCursor, TokenInfo,
    TransferGraph, TransferRecord, TransferSink, TxHash, U256,
};
use tripoint_export::{export, ExportOptions};
use tripoint_store::Store;

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("TRIPOINT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

fn eth(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0x77;
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::Eth(b)
}

#[test]
fn duckdb_reads_the_export_as_is() {
    let Some(py) = python() else {
        eprintln!("skipped: no Python with duckdb (run scripts/setup-python.sh)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (st, out) = (dir.path().join("store"), dir.path().join("out"));
    let store = Store::open_or_create(&st).expect("store");
    let mut app = store.appender().expect("appender");
    app.token(TokenInfo {
        address: eth(5),
        symbol: "TKN".into(),
        name: "Token".into(),
        decimals: Some(6),
    })
    .expect("token");
    let mut want_eth = Amount::ZERO;
    let mut want_tkn = Amount::ZERO;
    for k in 0..3_000u64 {
        let token = k % 3 == 0;
        let amount = U256::from(k * 7_919) * U256::from(10u64.pow(15));
        if token {
            want_tkn += amount;
        } else {
            want_eth += amount;
        }
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&k.to_be_bytes());
        app.transfer(TransferRecord {
            chain: Chain::Ethereum,
            block: 100 + k / 10,
            timestamp: 1_700_000_000 + (k / 10) as i64 * 12,
            tx_hash: TxHash(h),
            tx_index: (k % 10) as u32,
            position: if token {
                Position::Log(0)
            } else {
                Position::NativeValue
            },
            from: eth(100 + k % 17),
            to: eth(200 + k % 29),
            asset: if token {
                Asset::Token(eth(5))
            } else {
                Asset::Native(Chain::Ethereum)
            },
            amount,
        })
        .expect("transfer");
    }
    app.checkpoint(&SourceCursor {
        source: "t".into(),
        position: 1,
    })
    .expect("checkpoint");
    app.finish().expect("finish");
    let store = Store::open(&st).expect("open");
    store
        .import_labels([Label {
            address: eth(203),
            label: "exchange hot wallet".into(),
            category: Category::Exchange,
            source: "test".into(),
            attribution: Default::default(),
        }])
        .expect("labels");
    let store = Store::open(&st).expect("reopen");
    let opts = ExportOptions {
        rows_per_file: 1_000,
        format_version: Some(tripoint_export::VERSION),
        ..ExportOptions::default()
    };
    export(&store, &out, &opts, &mut |_, _| {}).expect("export");
    let into_exchange = (0..store.transfer_count())
        .filter(|&i| store.record(i).to == eth(203))
        .count();

    let script = r#"
import sys, duckdb
out = sys.argv[1]
t = f"'{out}/transfers/*.parquet'"
l = f"'{out}/labels/labels.parquet'"
con = duckdb.connect()
print(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
exact = "coalesce(CAST(amount_d38 AS HUGEINT), CAST(amount_big AS HUGEINT))"
for sym, s, s2 in con.execute(
    f"SELECT symbol, sum(amount_d38), sum({exact}) FROM {t} GROUP BY symbol ORDER BY symbol"
).fetchall():
    print(sym, s, s2)
print(con.execute(
    f"SELECT typeof(amount_d38), typeof(time), typeof(tx_hash), typeof(from_address), typeof(from_id) FROM {t} LIMIT 1"
).fetchone())
print(*con.execute(
    f"SELECT octet_length(tx_hash), '0x' || lower(hex(to_address)) FROM {t} WHERE block = 100 AND tx_index = 3"
).fetchone())
print(*con.execute(f"SELECT CAST(epoch(min(time)) AS BIGINT), max(block) FROM {t}").fetchone())
print(con.execute(
    f"SELECT count(*) FROM {t} x JOIN {l} y ON x.to_address = y.address AND x.to_id = y.address_id WHERE y.category = 'exchange'"
).fetchone()[0])
"#;
    let o = Command::new(&py)
        .args(["-c", script])
        .arg(&out)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "3000", "{text}");
    assert_eq!(lines[1], format!("ETH {want_eth} {want_eth}"), "{text}");
    assert_eq!(lines[2], format!("TKN {want_tkn} {want_tkn}"), "{text}");
    assert_eq!(
        lines[3], "('DECIMAL(38,0)', 'TIMESTAMP WITH TIME ZONE', 'BLOB', 'BLOB', 'UINTEGER')",
        "{text}"
    );
    // Transfer k = 3 of block 100: the 32-byte hash, to eth(200 + 3 % 29).
    assert_eq!(lines[4], format!("32 {}", eth(203)), "{text}");
    assert_eq!(lines[5], "1700000000 399", "{text}");
    assert_eq!(lines[6], into_exchange.to_string(), "{text}");
}
