//! Import of cryo's Parquet datasets (committed fixtures in cryo's schema,
//! written by tests/fixtures/make_cryo.py) into a store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, RecordBatch, StringArray, UInt32Array};
use parquet::arrow::ArrowWriter;
use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, TransferGraph, TransferRecord, TxHash, U256,
};
use tripoint_export::cryo::{import, INTERNAL_BASE};
use tripoint_store::Store;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cryo")
}

fn addr(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xa0;
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::Eth(b)
}

fn tx(n: u64) -> TxHash {
    let mut h = [0u8; 32];
    h[0] = 0xbe;
    h[1] = 0xef;
    h[24..].copy_from_slice(&n.to_be_bytes());
    TxHash(h)
}

fn time(block: u64) -> i64 {
    1_700_000_000 + 12 * (block as i64 - 1000)
}

#[allow(clippy::too_many_arguments)]
fn rec(
    block: u64,
    tx_index: u32,
    hash: u64,
    position: Position,
    from: u64,
    to: u64,
    asset: Asset,
    amount: Amount,
) -> TransferRecord {
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp: time(block),
        tx_hash: tx(hash),
        tx_index,
        position,
        from: addr(from),
        to: addr(to),
        asset,
        amount,
    }
}

#[test]
fn cryo_datasets_import_in_chain_order_and_reimport_is_a_no_op() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open_or_create(dir.path()).expect("store");
    let mut app = store.appender().expect("appender");
    let mut groups = Vec::new();
    let s = import(&[fixtures()], &mut app, &mut |d, t| groups.push((d, t))).expect("import");
    app.finish().expect("finish");
    assert_eq!(groups, vec![(1, 1)]);
    assert_eq!(s.files, 5);
    assert_eq!(s.tokens, 1);
    assert_eq!(s.records, 8);
    let skipped = |why: &str| s.skipped.get(why).copied().unwrap_or(0);
    assert_eq!(skipped("failed transaction (moves no value)"), 1);
    assert_eq!(
        skipped("contract creation with value (import native_transfers for the created address)"),
        1
    );
    assert_eq!(skipped("top-level call (imported from transactions)"), 3);
    assert_eq!(
        skipped("native transfer outside a transaction (block reward)"),
        1
    );

    let eth = Asset::Native(Chain::Ethereum);
    let usdt = Asset::Token(addr(0xdac));
    let big = (U256::ONE << 200) + U256::from(12345u32);
    let e18 = U256::from(10u64.pow(18));
    let want = vec![
        rec(
            1000,
            0,
            1,
            Position::NativeValue,
            1,
            2,
            eth.clone(),
            e18 * 5,
        ),
        rec(
            1000,
            1,
            2,
            Position::NativeValue,
            2,
            50,
            eth.clone(),
            Amount::ZERO,
        ),
        rec(
            1000,
            1,
            2,
            Position::Log(0),
            2,
            7,
            usdt.clone(),
            U256::from(1_000_000u32),
        ),
        rec(
            1000,
            1,
            2,
            Position::Log(3),
            7,
            8,
            usdt.clone(),
            U256::from(250_000u32),
        ),
        rec(
            1000,
            1,
            2,
            Position::Log(INTERNAL_BASE + 2),
            50,
            9,
            eth.clone(),
            U256::from(3 * 10u64.pow(17)),
        ),
        rec(
            1001,
            1,
            4,
            Position::Log(INTERNAL_BASE),
            1,
            60,
            eth.clone(),
            U256::from(2 * 10u64.pow(17)),
        ),
        rec(1002, 0, 5, Position::NativeValue, 4, 1, eth.clone(), big),
        rec(
            1002,
            0,
            5,
            Position::Log(1),
            8,
            1,
            usdt.clone(),
            Amount::ZERO,
        ),
    ];
    let store = Store::open(dir.path()).expect("reopen");
    let got: Vec<TransferRecord> = (0..store.transfer_count())
        .map(|i| store.record(i))
        .collect();
    assert_eq!(got, want);
    let usdt_id = (1..store.asset_count() as u32)
        .find(|&a| store.asset(a) == usdt)
        .expect("usdt stored");
    let info = store.token(usdt_id).expect("token info");
    assert_eq!((info.symbol.as_str(), info.decimals), ("USDT", Some(6)));

    // Again: every file is already imported, nothing changes.
    let mut app = store.appender().expect("appender");
    let s = import(&[fixtures()], &mut app, &mut |_, _| {}).expect("again");
    app.finish().expect("finish");
    assert_eq!((s.files_already_imported, s.records), (3, 0));
    assert_eq!(Store::open(dir.path()).expect("open").transfer_count(), 8);
}

fn write(path: &Path, cols: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(cols).expect("batch");
    let f = std::fs::File::create(path).expect("create");
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

fn erc20_file(path: &Path, from: Vec<u8>, value: &str) {
    let bin = |v: Vec<u8>| Arc::new(BinaryArray::from_vec(vec![v.as_slice()])) as ArrayRef;
    write(
        path,
        vec![
            (
                "block_number",
                Arc::new(UInt32Array::from(vec![7u32])) as ArrayRef,
            ),
            ("transaction_index", Arc::new(UInt32Array::from(vec![0u32]))),
            ("log_index", Arc::new(UInt32Array::from(vec![0u32]))),
            ("transaction_hash", bin(vec![1; 32])),
            ("erc20", bin(vec![2; 20])),
            ("from_address", bin(from)),
            ("to_address", bin(vec![4; 20])),
            ("value_string", Arc::new(StringArray::from(vec![value]))),
        ],
    );
}

#[test]
fn bad_cryo_rows_name_the_file_row_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let blocks = dir.path().join("x__blocks__7_to_7.parquet");
    write(
        &blocks,
        vec![
            (
                "block_number",
                Arc::new(UInt32Array::from(vec![7u32])) as ArrayRef,
            ),
            (
                "timestamp",
                Arc::new(UInt32Array::from(vec![1_600_000_000u32])),
            ),
        ],
    );
    let run = |files: &[PathBuf]| {
        let st = tempfile::tempdir().expect("tmp");
        let store = Store::open_or_create(st.path()).expect("store");
        let mut app = store.appender().expect("appender");
        import(files, &mut app, &mut |_, _| {})
            .expect_err("refused")
            .to_string()
    };

    let f = dir.path().join("x__erc20_transfers__7_to_7.parquet");
    erc20_file(&f, vec![3; 19], "5");
    let e = run(&[blocks.clone(), f.clone()]);
    assert!(
        e.contains("x__erc20_transfers__7_to_7.parquet")
            && e.contains("row 1")
            && e.contains("'from_address'")
            && e.contains("19"),
        "{e}"
    );

    erc20_file(&f, vec![3; 20], "12x");
    let e = run(&[blocks.clone(), f.clone()]);
    assert!(
        e.contains("row 1") && e.contains("'value_string'") && e.contains("12x"),
        "{e}"
    );

    // No blocks dataset: no timestamps.
    erc20_file(&f, vec![3; 20], "5");
    let e = run(std::slice::from_ref(&f));
    assert!(
        e.contains("no timestamp for block 7") && e.contains("'block_number'"),
        "{e}"
    );
}
