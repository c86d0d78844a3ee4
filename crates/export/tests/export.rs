//! Parquet export against the store it came from: every row, every column,
//! exact amounts, labels, file metadata, and incremental runs.

use std::fs::File;
use std::path::Path;

use arrow_array::{
    Array, Decimal128Array, FixedSizeBinaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, OutPoint, Position, SourceCursor, TokenInfo,
    TransferGraph, TransferRecord, TransferSink, TxHash, U256,
};
use tripoint_export::{export, ExportManifest, ExportOptions, FORMAT, VERSION, VERSION_1};
use tripoint_store::Store;

fn eth(n: u32) -> Address {
    let mut b = [0u8; 20];
    b[16..].copy_from_slice(&n.to_be_bytes());
    b[0] = 0xaa;
    Address::Eth(b)
}

fn hash(block: u64, tx: u32) -> TxHash {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&block.to_be_bytes());
    h[8..12].copy_from_slice(&tx.to_be_bytes());
    h[31] = 0x5c;
    TxHash(h)
}

const USDT: u32 = 9_000;
const NOSYMBOL: u32 = 9_001;

/// Blocks `blocks`, 3 txs each: a native transfer, a token transfer (log 0
/// and 1), and amounts of every width (0, small, wei-sized, ≥ 10^38, 2^256-1).
fn records(blocks: std::ops::Range<u64>) -> Vec<TransferRecord> {
    let mut out = Vec::new();
    for b in blocks {
        for tx in 0..3u32 {
            let amount = match (b + tx as u64) % 5 {
                0 => Amount::ZERO,
                1 => Amount::from(b * 1_000 + tx as u64),
                2 => Amount::from(1_234_567_890_123_456_789_012u128),
                3 => U256::from(10u128.pow(38)) + U256::from(b),
                _ => U256::MAX,
            };
            let base = TransferRecord {
                chain: Chain::Ethereum,
                block: b,
                timestamp: 1_700_000_000 + b as i64 * 12,
                tx_hash: hash(b, tx),
                tx_index: tx,
                position: Position::NativeValue,
                from: eth((b as u32 * 7 + tx) % 13),
                to: eth((b as u32 * 3 + tx + 1) % 17),
                asset: Asset::Native(Chain::Ethereum),
                amount,
            };
            out.push(base.clone());
            if tx > 0 {
                let token = if tx == 1 { USDT } else { NOSYMBOL };
                for log in 0..2 {
                    out.push(TransferRecord {
                        position: Position::Log(log),
                        asset: Asset::Token(eth(token)),
                        to: eth(100 + log),
                        ..base.clone()
                    });
                }
            }
        }
    }
    out
}

fn append(dir: &Path, recs: Vec<TransferRecord>) {
    let store = Store::open_or_create(dir).expect("store");
    let mut app = store.appender().expect("appender");
    app.token(TokenInfo {
        address: eth(USDT),
        symbol: "USDT".into(),
        name: "Tether USD".into(),
        decimals: Some(6),
    })
    .expect("token");
    for r in recs {
        app.transfer(r).expect("transfer");
    }
    app.checkpoint(&SourceCursor {
        source: "test".into(),
        position: 1,
    })
    .expect("checkpoint");
    app.finish().expect("finish");
}

fn read(path: &Path) -> (Vec<RecordBatch>, Vec<(String, String)>) {
    let f = File::open(path).expect("open parquet");
    let b = ParquetRecordBatchReaderBuilder::try_new(f).expect("parquet reader");
    let kv = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|k| k.key.starts_with("tripoint."))
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let batches = b
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches");
    (batches, kv)
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("type of column {name}"))
}

fn eth_bytes(a: &Address) -> [u8; 20] {
    match a {
        Address::Eth(b) => *b,
        other => panic!("{other} is not an Ethereum address"),
    }
}

/// Checks one version 2 row against the store's record.
fn check_v2_row(
    store: &Store,
    b: &RecordBatch,
    i: usize,
    r: &TransferRecord,
    row: &tripoint_chain::TransferRow,
) {
    assert_eq!(
        col::<FixedSizeBinaryArray>(b, "tx_hash").value(i),
        &r.tx_hash.0[..]
    );
    assert_eq!(col::<UInt32Array>(b, "tx_index").value(i), r.tx_index);
    assert_eq!(
        col::<UInt32Array>(b, "position").value(i),
        r.position.sub_index()
    );
    assert_eq!(
        col::<FixedSizeBinaryArray>(b, "from_address").value(i),
        &eth_bytes(&r.from)[..]
    );
    assert_eq!(
        col::<FixedSizeBinaryArray>(b, "to_address").value(i),
        &eth_bytes(&r.to)[..]
    );
    assert_eq!(col::<UInt32Array>(b, "from_id").value(i), row.src);
    assert_eq!(col::<UInt32Array>(b, "to_id").value(i), row.dst);
    let token = col::<FixedSizeBinaryArray>(b, "token");
    let symbol = col::<StringArray>(b, "symbol");
    let decimals = col::<Int32Array>(b, "decimals");
    match &r.asset {
        Asset::Native(_) => {
            assert!(token.is_null(i));
            assert_eq!(symbol.value(i), "ETH");
            assert_eq!(decimals.value(i), 18);
        }
        Asset::Token(t) => {
            assert_eq!(token.value(i), &eth_bytes(t)[..]);
            if *t == eth(USDT) {
                assert_eq!(symbol.value(i), "USDT");
                assert_eq!(decimals.value(i), 6);
            }
            // The token's registered symbol and decimals, if any.
            let info = store.token(row.asset);
            let want_symbol = info.as_ref().map(|t| t.symbol.as_str());
            match want_symbol.filter(|s| !s.is_empty()) {
                Some(s) => assert_eq!(symbol.value(i), s),
                None => assert!(symbol.is_null(i)),
            }
            match info.and_then(|t| t.decimals) {
                Some(d) => assert_eq!(decimals.value(i), i32::from(d)),
                None => assert!(decimals.is_null(i)),
            }
        }
    }
    // The exact amount: DECIMAL(38,0) below 10^38, else the text beside it.
    let d38 = col::<Decimal128Array>(b, "amount_d38");
    let big = col::<StringArray>(b, "amount_big");
    if r.amount < U256::from(10u128.pow(38)) {
        assert_eq!(U256::from(d38.value(i) as u128), r.amount);
        assert!(big.is_null(i));
    } else {
        assert!(d38.is_null(i));
        assert_eq!(big.value(i).parse::<U256>().expect("decimal"), r.amount);
    }
}

/// Checks every exported row of `out` against `store.record(id)` in id order.
fn check_round_trip(store: &Store, out: &Path, m: &ExportManifest) -> u64 {
    let mut id = 0u64;
    let mut last_block = None;
    for part in &m.parts {
        let (batches, kv) = read(&out.join(&part.file));
        assert!(kv.contains(&("tripoint.format".into(), FORMAT.into())));
        assert!(kv.contains(&("tripoint.version".into(), m.version.to_string())));
        assert!(kv.contains(&("tripoint.table".into(), "transfers".into())));
        let mut rows = 0;
        for b in &batches {
            for i in 0..b.num_rows() {
                let r = store.record(id);
                let row = store.transfer(id);
                let block = col::<Int64Array>(b, "block").value(i) as u64;
                assert_eq!(block, r.block, "row {id}");
                assert!(block >= part.first_block && block <= part.last_block);
                assert!(last_block.is_none_or(|l| l <= block), "block order");
                last_block = Some(block);
                assert_eq!(
                    col::<TimestampMicrosecondArray>(b, "time").value(i),
                    r.timestamp * 1_000_000
                );
                if m.version == VERSION {
                    check_v2_row(store, b, i, &r, &row);
                    id += 1;
                    rows += 1;
                    continue;
                }
                assert_eq!(m.version, VERSION_1);
                assert_eq!(
                    col::<StringArray>(b, "tx_hash").value(i),
                    r.tx_hash.to_string()
                );
                assert_eq!(col::<Int64Array>(b, "tx_index").value(i), r.tx_index as i64);
                assert_eq!(
                    col::<Int64Array>(b, "position").value(i),
                    r.position.sub_index() as i64
                );
                assert_eq!(
                    col::<StringArray>(b, "from_address").value(i),
                    r.from.to_string()
                );
                assert_eq!(
                    col::<StringArray>(b, "to_address").value(i),
                    r.to.to_string()
                );
                assert_eq!(col::<Int64Array>(b, "from_id").value(i), row.src as i64);
                assert_eq!(col::<Int64Array>(b, "to_id").value(i), row.dst as i64);
                let asset = col::<StringArray>(b, "asset").value(i);
                let symbol = col::<StringArray>(b, "symbol");
                let decimals = col::<Int32Array>(b, "decimals");
                match &r.asset {
                    Asset::Native(_) => {
                        assert_eq!(asset, "ETH");
                        assert_eq!(symbol.value(i), "ETH");
                        assert_eq!(decimals.value(i), 18);
                    }
                    Asset::Token(t) if *t == eth(USDT) => {
                        assert_eq!(asset, t.to_string());
                        assert_eq!(symbol.value(i), "USDT");
                        assert_eq!(decimals.value(i), 6);
                    }
                    Asset::Token(t) => {
                        assert_eq!(asset, t.to_string());
                        assert!(symbol.is_null(i) && decimals.is_null(i));
                    }
                }
                let amount = col::<StringArray>(b, "amount").value(i);
                assert_eq!(amount.parse::<U256>().expect("decimal"), r.amount);
                let d38 = col::<Decimal128Array>(b, "amount_d38");
                if r.amount < U256::from(10u128.pow(38)) {
                    assert_eq!(U256::from(d38.value(i) as u128), r.amount);
                } else {
                    assert!(d38.is_null(i), "amount {amount} has no DECIMAL(38,0)");
                }
                id += 1;
                rows += 1;
            }
        }
        assert_eq!(rows, part.rows, "{}", part.file);
    }
    id
}

#[test]
fn export_round_trips_every_transfer_and_label() {
    let dir = tempfile::tempdir().expect("tmp");
    let (st, out) = (dir.path().join("store"), dir.path().join("out"));
    append(&st, records(100..160));
    let store = Store::open(&st).expect("open");
    store
        .import_labels([
            Label {
                address: eth(3),
                label: "Lazarus wallet".into(),
                category: Category::DprkAttributed,
                source: "test".into(),
                attribution: Default::default(),
            },
            Label {
                address: Address::parse("0x00000000000000000000000000000000deadbeef")
                    .expect("addr"),
                label: "not in the graph".into(),
                category: Category::Sanctioned,
                source: "test".into(),
                attribution: Default::default(),
            },
            // Sanction lists carry Bitcoin addresses too.
            Label {
                address: Address::Btc("bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6".into()),
                label: "bitcoin wallet".into(),
                category: Category::Sanctioned,
                source: "test".into(),
                attribution: Default::default(),
            },
        ])
        .expect("labels");
    let store = Store::open(&st).expect("reopen");
    let opts = ExportOptions {
        rows_per_file: 50,
        row_group_rows: 16,
        format_version: Some(VERSION),
        ..ExportOptions::default()
    };
    let mut calls = Vec::new();
    let s = export(&store, &out, &opts, &mut |d, t| calls.push((d, t))).expect("export");
    assert_eq!(s.transfers, store.transfer_count());
    assert_eq!(s.blocks, Some((100, 159)));
    assert!(s.files.len() > 2, "small files: {:?}", s.files);
    assert_eq!(calls.last(), Some(&(s.transfers, s.transfers)));
    let m = ExportManifest::read(&out)
        .expect("manifest")
        .expect("written");
    assert_eq!(m.through_block, Some(159));
    // Files cover disjoint, ascending block ranges.
    for w in m.parts.windows(2) {
        assert!(w[0].last_block < w[1].first_block, "{w:?}");
    }
    assert_eq!(check_round_trip(&store, &out, &m), store.transfer_count());

    let (batches, kv) = read(&out.join("labels/labels.parquet"));
    assert!(kv.contains(&("tripoint.table".into(), "labels".into())));
    assert!(kv.contains(&("tripoint.version".into(), VERSION.to_string())));
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    let text = col::<StringArray>(b, "address_text");
    let row = |a: &str| {
        (0..b.num_rows())
            .find(|&i| text.value(i) == a)
            .unwrap_or_else(|| panic!("label of {a}"))
    };
    let (lazarus, absent, btc) = (
        row(&eth(3).to_string()),
        row("0x00000000000000000000000000000000deadbeef"),
        row("bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"),
    );
    let address = col::<FixedSizeBinaryArray>(b, "address");
    assert_eq!(address.value(lazarus), &eth_bytes(&eth(3))[..]);
    assert!(address.is_null(btc), "a Bitcoin address has no 20 bytes");
    assert_eq!(
        col::<StringArray>(b, "category").value(lazarus),
        "dprk-attributed"
    );
    assert_eq!(
        col::<StringArray>(b, "label").value(lazarus),
        "Lazarus wallet"
    );
    let ids = col::<UInt32Array>(b, "address_id");
    assert_eq!(ids.value(lazarus), store.lookup(&eth(3)).expect("in graph"));
    assert!(ids.is_null(absent) && ids.is_null(btc));
}

/// Version 2 of a generated store at a size that spans several data pages
/// (20 480 rows), row groups and files: every column of every row read back
/// with the arrow reader against the store (the hashes and addresses are
/// written from their bytes, not by the `parquet` crate's column writer).
#[test]
fn a_generated_store_round_trips_through_version_2_across_pages_and_groups() {
    let dir = tempfile::tempdir().expect("tmp");
    let (st, out) = (dir.path().join("store"), dir.path().join("out"));
    let store = Store::open_or_create(&st).expect("store");
    let mut app = store.appender().expect("appender");
    let cfg = tripoint_gen::GenConfig {
        seed: 3,
        transfers: 200_000,
        ..Default::default()
    };
    let mut sink = tripoint_gen::RecordSink::new(&mut app);
    tripoint_gen::generate_into(&cfg, &mut sink).expect("generate");
    app.finish().expect("finish");
    drop(store);
    let store = Store::open(&st).expect("open");
    let opts = ExportOptions {
        rows_per_file: 90_000,
        row_group_rows: 40_000,
        format_version: Some(VERSION),
        ..ExportOptions::default()
    };
    let s = export(&store, &out, &opts, &mut |_, _| {}).expect("export");
    assert!(s.files.len() >= 2, "{:?}", s.files);
    let m = ExportManifest::read(&out)
        .expect("manifest")
        .expect("written");
    assert_eq!(check_round_trip(&store, &out, &m), store.transfer_count());
    // Several row groups a file, several pages a row group.
    let f = File::open(out.join(&m.parts[0].file)).expect("open");
    let with_index = parquet::arrow::arrow_reader::ArrowReaderOptions::new()
        .with_offset_index_policy(parquet::file::metadata::PageIndexPolicy::Required);
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(f, with_index)
        .expect("parquet reader");
    let meta = reader.metadata();
    assert!(meta.num_row_groups() >= 2);
    assert_eq!(
        meta.row_group(0).column(2).column_path().string(),
        "tx_hash"
    );
    let index = meta.offset_index().expect("offset index");
    let pages = &index[0][2].page_locations;
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert_eq!(pages[0].first_row_index, 0);
    assert!(pages
        .windows(2)
        .all(|w| w[0].first_row_index < w[1].first_row_index
            && w[0].offset + i64::from(w[0].compressed_page_size) == w[1].offset));
}

#[test]
fn a_version_1_directory_stays_version_1_and_versions_never_mix() {
    let dir = tempfile::tempdir().expect("tmp");
    let (st, v1, v2) = (
        dir.path().join("store"),
        dir.path().join("v1"),
        dir.path().join("v2"),
    );
    append(&st, records(10..30));
    let store = Store::open(&st).expect("open");
    let first = ExportOptions {
        to_block: Some(19),
        format_version: Some(VERSION_1),
        ..ExportOptions::default()
    };
    let s = export(&store, &v1, &first, &mut |_, _| {}).expect("v1");
    assert_eq!(s.version, VERSION_1);
    let s = export(
        &store,
        &v2,
        &ExportOptions {
            format_version: Some(VERSION),
            ..first.clone()
        },
        &mut |_, _| {},
    )
    .expect("v2");
    assert_eq!(s.version, VERSION);
    // A new directory without a version asked for is version 1, whose
    // columns scripts already read; version 2 is asked for.
    let s = export(
        &store,
        &dir.path().join("default"),
        &ExportOptions {
            format_version: None,
            ..first.clone()
        },
        &mut |_, _| {},
    )
    .expect("default");
    assert_eq!(s.version, VERSION_1);

    // New blocks: each directory goes on in its own version by default.
    append(&st, records(30..40));
    let store = Store::open(&st).expect("reopen");
    for (out, version) in [(&v1, VERSION_1), (&v2, VERSION)] {
        let s = export(&store, out, &ExportOptions::default(), &mut |_, _| {}).expect("next");
        assert_eq!((s.version, s.blocks), (version, Some((20, 39))));
        let m = ExportManifest::read(out)
            .expect("manifest")
            .expect("written");
        assert_eq!(m.version, version);
        assert_eq!(check_round_trip(&store, out, &m), store.transfer_count());
        let (_, kv) = read(&out.join("labels/labels.parquet"));
        assert!(kv.contains(&("tripoint.version".into(), version.to_string())));
    }
    // Asking for the other version is refused, naming the manifest, and
    // writes nothing.
    for (out, other) in [(&v1, VERSION), (&v2, VERSION_1)] {
        let before = ExportManifest::read(out).expect("manifest");
        let opts = ExportOptions {
            format_version: Some(other),
            ..ExportOptions::default()
        };
        let e = export(&store, out, &opts, &mut |_, _| {})
            .expect_err("mixed versions refused")
            .to_string();
        assert!(
            e.contains("tripoint-export.json") && e.contains(&format!("version {other}")),
            "{e}"
        );
        assert_eq!(ExportManifest::read(out).expect("manifest"), before);
    }
    let opts = ExportOptions {
        format_version: Some(3),
        ..ExportOptions::default()
    };
    let e = export(&store, &dir.path().join("v3"), &opts, &mut |_, _| {})
        .expect_err("unknown version refused")
        .to_string();
    assert!(e.contains("format version 3"), "{e}");
}

#[test]
fn export_is_incremental_and_honours_the_block_range() {
    let dir = tempfile::tempdir().expect("tmp");
    let (st, out) = (dir.path().join("store"), dir.path().join("out"));
    append(&st, records(10..30));
    let store = Store::open(&st).expect("open");
    let opts = ExportOptions {
        to_block: Some(19),
        format_version: Some(VERSION),
        ..ExportOptions::default()
    };
    let s = export(&store, &out, &opts, &mut |_, _| {}).expect("first");
    assert_eq!(s.blocks, Some((10, 19)));
    let first_files = s.files.clone();

    // Nothing new up to block 19: nothing written.
    let s = export(&store, &out, &opts, &mut |_, _| {}).expect("again");
    assert_eq!((s.transfers, s.blocks, s.files.len()), (0, None, 0));

    // New blocks arrive; the next export writes only them.
    append(&st, records(30..40));
    let store = Store::open(&st).expect("reopen");
    let s = export(&store, &out, &ExportOptions::default(), &mut |_, _| {}).expect("rest");
    assert_eq!(s.blocks, Some((20, 39)));
    assert_eq!(s.through_block, Some(39));
    let m = ExportManifest::read(&out)
        .expect("manifest")
        .expect("written");
    assert_eq!(m.parts[0], first_files[0]);
    assert_eq!(m.parts.len(), 2);
    assert_eq!(check_round_trip(&store, &out, &m), store.transfer_count());
    // No temporary file is left behind.
    for e in std::fs::read_dir(out.join("transfers")).expect("dir") {
        let name = e.expect("entry").file_name();
        assert!(name.to_string_lossy().ends_with(".parquet"), "{name:?}");
    }
}

#[test]
fn another_format_version_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join(tripoint_export::MANIFEST_FILE),
        r#"{"format":"tripoint-parquet","version":99,"chain":null,"through_block":null,"parts":[],"labels":null}"#,
    )
    .expect("write");
    let e = ExportManifest::read(dir.path())
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("tripoint-export.json") && e.contains("version 99"),
        "{e}"
    );
}

#[test]
fn a_trace_is_written_as_parquet_flows_and_addresses_that_match_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    // Chain-sized amounts: balances of 2^256-1 twice would not be a chain.
    let small = U256::from(10u128.pow(30));
    append(
        &store_dir,
        records(0..40)
            .into_iter()
            .filter(|r| r.amount < small)
            .collect(),
    );
    let store = Store::open(&store_dir).expect("open");
    let seed = store.lookup(&eth(0)).expect("seed in the store");
    let cfg = tripoint_trace::TraceConfig::new(tripoint_trace::TaintPolicy::Haircut, vec![seed]);
    let result = tripoint_trace::trace(&store, &cfg).expect("trace");
    let report = tripoint_trace::build_report(&store, &result, &Default::default());
    let flows: Vec<_> = result.flows.iter().map(|f| (f.id, f.carried)).collect();
    assert!(flows.len() > 10, "the test needs a trace that spreads");

    let out = dir.path().join("trace");
    let m = tripoint_export::trace::write_trace(&store, &flows, &report, &out, &mut |_, _| {})
        .expect("write trace");
    assert_eq!(m.format, tripoint_export::trace::TRACE_FORMAT);
    assert_eq!(m.policy, "haircut");

    // Every flow once, in chain order, with the engine's exact taint and the
    // store's own row.
    let mut want: Vec<_> = flows.clone();
    want.sort_unstable_by_key(|f| f.0);
    let mut got = Vec::new();
    for part in &m.flows {
        let (batches, kv) = read(&out.join(&part.file));
        assert!(
            kv.contains(&("tripoint.table".into(), "flows".into())),
            "{kv:?}"
        );
        for b in &batches {
            let (block, pos) = (
                col::<Int64Array>(b, "block"),
                col::<Int64Array>(b, "position"),
            );
            let (taint, amount) = (
                col::<StringArray>(b, "taint"),
                col::<StringArray>(b, "amount"),
            );
            let from = col::<StringArray>(b, "from_address");
            for i in 0..b.num_rows() {
                got.push((
                    block.value(i),
                    pos.value(i),
                    from.value(i).to_string(),
                    amount.value(i).to_string(),
                    taint.value(i).to_string(),
                ));
            }
        }
    }
    let expected: Vec<_> = want
        .iter()
        .map(|&(id, carried)| {
            let row = store.transfer(id);
            (
                row.block as i64,
                i64::from(row.sub_index),
                store.address(row.src).to_string(),
                row.amount.to_string(),
                carried.to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // One address row per (address, asset) of the report, with its taint.
    let (batches, _) = read(&out.join(&m.addresses.file));
    let mut rows = std::collections::BTreeMap::new();
    for b in &batches {
        let (a, asset, taint) = (
            col::<StringArray>(b, "address"),
            col::<StringArray>(b, "asset"),
            col::<StringArray>(b, "taint"),
        );
        for i in 0..b.num_rows() {
            rows.insert(
                (a.value(i).to_string(), asset.value(i).to_string()),
                taint.value(i).to_string(),
            );
        }
    }
    assert_eq!(rows.len() as u64, m.addresses.rows);
    for a in &report.addresses {
        for (asset, t) in &a.taint {
            assert_eq!(
                rows.get(&(a.address.clone(), asset.clone())),
                Some(t),
                "{}",
                a.address
            );
        }
    }

    // A trace is never written over another one.
    let again = tripoint_export::trace::write_trace(&store, &flows, &report, &out, &mut |_, _| {});
    assert!(again.unwrap_err().to_string().contains("not empty"));
}

/// A Bitcoin store: addresses and transaction nodes are text in both
/// versions (version 2 has no 20-byte form for them), read back as the
/// store displays them.
#[test]
fn bitcoin_addresses_are_exported_as_text_in_both_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = dir.path().join("store");
    let btc = |n: u64| Address::Btc(format!("bc1qtestaddress{n:08}").into());
    let mut recs = Vec::new();
    for b in 1..40u64 {
        let tx = hash(b, 0);
        let base = TransferRecord {
            chain: Chain::Bitcoin,
            block: b,
            timestamp: 1_600_000_000 + b as i64 * 600,
            tx_hash: tx,
            tx_index: 0,
            position: Position::Input {
                index: 0,
                spends: OutPoint {
                    tx: hash(b - 1, 0),
                    index: 0,
                },
            },
            from: btc(b % 7),
            to: Address::Tx(tx),
            asset: Asset::Native(Chain::Bitcoin),
            amount: Amount::from(50_000 + b),
        };
        recs.push(base.clone());
        recs.push(TransferRecord {
            position: Position::Output(0),
            from: Address::Tx(tx),
            to: btc(b % 5 + 100),
            ..base
        });
    }
    let store = Store::open_or_create(&st).expect("store");
    let mut app = store.appender().expect("appender");
    for r in recs {
        app.transfer(r).expect("transfer");
    }
    app.finish().expect("finish");
    let store = Store::open(&st).expect("open");
    for version in [VERSION_1, VERSION] {
        let out = dir.path().join(format!("v{version}"));
        let opts = ExportOptions {
            format_version: Some(version),
            ..ExportOptions::default()
        };
        let s = export(&store, &out, &opts, &mut |_, _| {}).expect("export");
        assert_eq!((s.version, s.transfers), (version, store.transfer_count()));
        let m = ExportManifest::read(&out)
            .expect("manifest")
            .expect("written");
        let mut id = 0;
        for part in &m.parts {
            let (batches, kv) = read(&out.join(&part.file));
            assert!(kv.contains(&("tripoint.chain".into(), "bitcoin".into())));
            for b in &batches {
                for i in 0..b.num_rows() {
                    let r = store.record(id);
                    for (name, want) in [("from_address", &r.from), ("to_address", &r.to)] {
                        assert_eq!(
                            col::<StringArray>(b, name).value(i),
                            want.to_string(),
                            "v{version} row {id} {name}"
                        );
                    }
                    id += 1;
                }
            }
        }
        assert_eq!(id, store.transfer_count(), "v{version}: every row");
    }
}
