//! Importer tests against real fixture files and a `Vec` sink.

use std::io::Write;
use std::path::{Path, PathBuf};

use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, SourceCursor, TokenInfo, TransferRecord, TransferSink,
};

use crate::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn write_gz(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
    p
}

fn addr(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(20))
}
fn hash(n: u32) -> String {
    format!("0x{:064x}", n)
}
fn eth(n: u8) -> Address {
    Address::parse(&addr(n)).unwrap()
}

/// Columns reordered against ethereum-etl's order, plus extra ones; a failed
/// tx (status 0), a contract creation, both timestamp styles.
fn transactions_csv() -> String {
    let mut s = String::from("block_timestamp,value,extra,to_address,hash,from_address,transaction_index,block_number,receipt_status,receipt_contract_address\n");
    s += &format!(
        "1700000000,1000,x,{},{},{},0,100,1,\n",
        addr(2),
        hash(1),
        addr(1)
    );
    s += &format!(
        "1700000000,5,x,{},{},{},1,100,0,\n",
        addr(3),
        hash(2),
        addr(1)
    );
    s += &format!(
        "2023-11-14 22:13:32 UTC,7,y,,{},{},0,101,1,{}\n",
        hash(3),
        addr(2),
        addr(9)
    );
    s += &format!(
        "2023-11-14 22:13:32 UTC,0,y,{},{},{},1,101,1,\n",
        addr(4),
        hash(4),
        addr(3)
    );
    s
}

fn token_transfers_csv() -> String {
    let big: Amount = Amount::ONE << 200u32;
    let mut s = String::from("token_address,from_address,to_address,value,transaction_hash,log_index,block_number,ignored\n");
    s += &format!(
        "{},{},{},{},{},3,101,z\n",
        addr(7),
        addr(2),
        addr(5),
        big,
        hash(4)
    );
    s += &format!(
        "{},{},{},9,{},0,100,z\n",
        addr(7),
        addr(1),
        addr(5),
        hash(2)
    ); // failed tx: reverted
    s
}

fn tokens_csv() -> String {
    format!(
        "address,symbol,name,decimals,total_supply\n{},BIG,Big Token,18,1\n{},ODD,Odd,,1\n",
        addr(7),
        addr(8)
    )
}

fn sorted(mut v: Vec<TransferRecord>) -> Vec<TransferRecord> {
    v.sort_by_key(|r| (r.order_key(), r.tx_hash));
    v
}

#[test]
fn ethereum_etl_fixture_maps_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &transactions_csv()),
        token_transfers: Some(write(
            dir.path(),
            "token_transfers.csv",
            &token_transfers_csv(),
        )),
        tokens: Some(write(dir.path(), "tokens.csv", &tokens_csv())),
    };
    let mut sink = VecSink::default();
    let s = import_ethereum_etl(&files, &mut sink, &ImportOptions::default()).unwrap();
    assert_eq!(s.tokens, 2);
    assert_eq!(
        sink.tokens[0],
        TokenInfo {
            address: eth(7),
            symbol: "BIG".into(),
            name: "Big Token".into(),
            decimals: Some(18)
        }
    );
    assert_eq!(sink.tokens[1].decimals, None);
    // tx1 (ok), tx3 (creation -> created contract), tx4 (zero value, kept), token log of tx4.
    assert_eq!(s.transfers, 4, "{:?}", sink.records);
    assert_eq!(
        s.no_value_rows, 2,
        "failed tx and the token log of the failed tx"
    );
    let r = &sink.records;
    assert_eq!(
        (r[0].from.clone(), r[0].to.clone(), r[0].amount),
        (eth(1), eth(2), Amount::from(1000u32))
    );
    assert_eq!(r[0].asset, Asset::Native(Chain::Ethereum));
    assert_eq!(r[1].to, eth(9), "creation credits the created contract");
    assert_eq!(r[1].timestamp, 1_700_000_012);
    let tok = r
        .iter()
        .find(|x| matches!(x.asset, Asset::Token(_)))
        .unwrap();
    assert_eq!(tok.amount, Amount::ONE << 200u32);
    assert_eq!(tok.asset, Asset::Token(eth(7)));
    assert_eq!(tok.position, Position::Log(3));
    assert_eq!(
        (tok.block, tok.tx_index, tok.timestamp),
        (101, 1, 1_700_000_012),
        "joined to tx 4"
    );
    assert!(
        r.iter().all(|x| x.tx_hash != hash(2).parse().unwrap()),
        "failed tx moves nothing"
    );
}

#[test]
fn gzip_input_gives_identical_records() {
    let dir = tempfile::tempdir().unwrap();
    let plain = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &transactions_csv()),
        token_transfers: Some(write(
            dir.path(),
            "token_transfers.csv",
            &token_transfers_csv(),
        )),
        tokens: None,
    };
    let gz = EthereumEtlFiles {
        transactions: write_gz(dir.path(), "transactions.csv.gz", &transactions_csv()),
        token_transfers: Some(write_gz(
            dir.path(),
            "token_transfers.csv.gz",
            &token_transfers_csv(),
        )),
        tokens: None,
    };
    let (mut a, mut b) = (VecSink::default(), VecSink::default());
    import_ethereum_etl(&plain, &mut a, &ImportOptions::default()).unwrap();
    import_ethereum_etl(&gz, &mut b, &ImportOptions::default()).unwrap();
    assert_eq!(a.records.len(), 4);
    assert_eq!(a.records, b.records);
}

#[test]
fn token_transfer_without_its_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut tt = String::from(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n",
    );
    tt += &format!("{},{},{},1,{},0,100\n", addr(7), addr(1), addr(2), hash(77)); // block 100 known
    tt += &format!("{},{},{},1,{},0,555\n", addr(7), addr(1), addr(2), hash(78)); // block unknown
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &transactions_csv()),
        token_transfers: Some(write(dir.path(), "token_transfers.csv", &tt)),
        tokens: None,
    };
    let mut sink = VecSink::default();
    let e = import_ethereum_etl(&files, &mut sink, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.ends_with(&format!("token_transfers.csv:3: column transaction_hash: transaction {} is not in the transactions file, nor is any transaction of block 555 (its timestamp is unknown)", hash(78))), "{e}");
    let mut sink = VecSink::default();
    let opts = ImportOptions {
        skip_bad_rows: true,
        ..Default::default()
    };
    let s = import_ethereum_etl(&files, &mut sink, &opts).unwrap();
    assert_eq!(s.bad_rows_skipped, 1);
    let r = sink
        .records
        .iter()
        .find(|r| r.tx_hash == hash(77).parse().unwrap())
        .unwrap();
    assert_eq!(
        (r.block, r.tx_index, r.timestamp),
        (100, eth_etl::UNKNOWN_TX_INDEX, 1_700_000_000)
    );
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = transactions_csv();
    t += &format!(
        "1700000001,x12,x,{},{},{},0,102,1,\n",
        addr(2),
        hash(5),
        addr(1)
    );
    t += &format!("1700000001,1,x,{},0x12,{},1,102,1,\n", addr(2), addr(1));
    t += "1700000001,1,too,few\n";
    t += &format!(
        "1700000002,3,x,{},{},{},0,103,1,\n",
        addr(2),
        hash(6),
        addr(1)
    );
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &t),
        token_transfers: None,
        tokens: None,
    };
    let opts = ImportOptions {
        checkpoint_every: 2,
        ..Default::default()
    };
    let mut sink = VecSink::default();
    let e = import_ethereum_etl(&files, &mut sink, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("transactions.csv:6: column value: 'x12' is not an integer"),
        "{e}"
    );
    // Rows 1-4 were checkpointed in batches of two; nothing of the bad batch was.
    sink.crash();
    assert_eq!(sink.records.len(), 3);
    assert!(sink.pending.is_empty());
    let opts = ImportOptions {
        skip_bad_rows: true,
        ..opts
    };
    let mut sink = VecSink::default();
    let s = import_ethereum_etl(&files, &mut sink, &opts).unwrap();
    assert_eq!(s.bad_rows_skipped, 3);
    assert_eq!(s.rows_read, 8);
    assert_eq!(sink.records.len(), 4);
}

/// Fails after `left` transfers, like a process killed mid-import.
struct Dying<'a> {
    inner: &'a mut VecSink,
    left: usize,
}
impl TransferSink for Dying<'_> {
    type Error = std::io::Error;
    fn token(&mut self, t: TokenInfo) -> Result<(), Self::Error> {
        self.inner.token(t).map_err(|e| match e {})
    }
    fn transfer(&mut self, r: TransferRecord) -> Result<(), Self::Error> {
        if self.left == 0 {
            return Err(std::io::Error::other("killed"));
        }
        self.left -= 1;
        self.inner.transfer(r).map_err(|e| match e {})
    }
    fn checkpoint(&mut self, c: &SourceCursor) -> Result<(), Self::Error> {
        self.inner.checkpoint(c).map_err(|e| match e {})
    }
    fn resume_position(&self, s: &str) -> Option<u64> {
        self.inner.resume_position(s)
    }
}

#[test]
fn resume_after_crash_equals_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from(
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n",
    );
    let mut tt = String::from(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n",
    );
    for i in 0..500u32 {
        t += &format!(
            "{},{},{},{},{},{},{}\n",
            hash(i),
            i / 10,
            i % 10,
            addr((i % 50) as u8),
            addr((i % 7) as u8),
            i,
            1_600_000_000 + i / 10
        );
        tt += &format!(
            "{},{},{},{},{},{},{}\n",
            addr(200),
            addr((i % 7) as u8),
            addr(201),
            i,
            hash(i),
            i % 3,
            i / 10
        );
    }
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &t),
        token_transfers: Some(write(dir.path(), "token_transfers.csv", &tt)),
        tokens: None,
    };
    let opts = ImportOptions {
        checkpoint_every: 37,
        ..Default::default()
    };
    let mut clean = VecSink::default();
    import_ethereum_etl(&files, &mut clean, &opts).unwrap();
    assert_eq!(clean.records.len(), 1000);
    for kill_after in [0, 1, 100, 499, 500, 777, 999] {
        let mut sink = VecSink::default();
        let r = import_ethereum_etl(
            &files,
            &mut Dying {
                inner: &mut sink,
                left: kill_after,
            },
            &opts,
        );
        assert!(r.is_err());
        sink.crash();
        let before = sink.records.len();
        assert!(before <= kill_after);
        let s = import_ethereum_etl(&files, &mut sink, &opts).unwrap();
        assert!(
            s.rows_resumed > 0 || before == 0,
            "kill at {kill_after}: resumed {}",
            s.rows_resumed
        );
        assert_eq!(
            sorted(sink.records),
            sorted(clean.records.clone()),
            "kill at {kill_after}"
        );
    }
    // A second full run appends nothing.
    let s = import_ethereum_etl(&files, &mut clean, &opts).unwrap();
    assert_eq!((s.rows_resumed, s.rows_read), (1000, 0));
}

const BTC: &str = r#"{"hash":"00000000000000000000000000000000000000000000000000000000000000a1","block_number":1,"block_timestamp":1231469665,"index":0,"is_coinbase":true,"inputs":[{"index":0,"spent_transaction_hash":null,"spent_output_index":null,"addresses":[],"value":null}],"outputs":[{"index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":5000000000}]}

{"hash":"00000000000000000000000000000000000000000000000000000000000000a2","block_number":2,"block_timestamp":"2009-01-09 03:00:00 UTC","index":1,"is_coinbase":false,"inputs":[{"index":0,"spent_transaction_hash":"00000000000000000000000000000000000000000000000000000000000000a1","spent_output_index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":5000000000}],"outputs":[{"index":0,"addresses":["bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"],"value":"1000000000"},{"index":1,"addresses":["1BoatSLRHtKNngkdXEeobR76b53LETtpyT","1CounterpartyXXXXXXXXXXXXXXXUWLpVr"],"value":3999990000},{"index":2,"addresses":[],"value":0}]}
{"hash":"00000000000000000000000000000000000000000000000000000000000000a3","block_number":3,"block_timestamp":1231480000,"index":1,"inputs":[{"index":0,"spent_transaction_hash":"00000000000000000000000000000000000000000000000000000000000000a2","spent_output_index":0,"addresses":["bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"],"value":1000000000}],"outputs":[{"index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":999990000}]}
"#;

#[test]
fn bitcoin_etl_spend_chain() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "transactions.json", BTC);
    let mut sink = VecSink::default();
    let s = import_bitcoin_etl(&p, &mut sink, &ImportOptions::default()).unwrap();
    assert_eq!(s.rows_read, 3);
    assert_eq!(s.no_value_rows, 2, "coinbase input and OP_RETURN output");
    let r = &sink.records;
    assert_eq!(r.len(), 6);
    let a1: tripoint_chain::TxHash = hash(0xa1).parse().unwrap();
    let a2: tripoint_chain::TxHash = hash(0xa2).parse().unwrap();
    assert_eq!(r[0].from, Address::Tx(a1));
    assert_eq!(r[0].position, Position::Output(0));
    assert_eq!(r[0].amount, Amount::from(5_000_000_000u64));
    // tx a2's input spends a1:0 from the satoshi address into the a2 node.
    assert_eq!(
        r[1].position,
        Position::Input {
            index: 0,
            spends: tripoint_chain::OutPoint { tx: a1, index: 0 }
        }
    );
    assert_eq!(
        (r[1].from.to_string().as_str(), r[1].to.clone()),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", Address::Tx(a2))
    );
    assert_eq!(r[1].timestamp, 1_231_470_000);
    assert!(r[3].to.to_string().starts_with("multisig"));
    assert_eq!(
        r[4].from.to_string(),
        "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"
    );
    // Bad JSON line names the line.
    let p = write(dir.path(), "bad.json", &format!("{}{{\"hash\": 5}}\n", BTC));
    let e = import_bitcoin_etl(&p, &mut VecSink::default(), &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.json:5: not a bitcoin-etl transaction"),
        "{e}"
    );
}

#[test]
fn transfers_csv_mapping_and_synthetic_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "block_time,from,to,total_eth\n2022-03-29T21:41:18+00:00,\\x{a},\\x{b},1e-05\n2022-03-29T21:41:18+00:00,\\x{a},\\x{b},1e-05\n2022-03-30T00:00:00+00:00,\\x{b},\\x{a},33568.152\n",
        a = "11".repeat(20),
        b = "22".repeat(20)
    );
    let p = write(dir.path(), "dune.csv", &body);
    let o = TransfersCsvOptions {
        map: "from=from,to=to,amount=total_eth,time=block_time"
            .parse()
            .unwrap(),
        chain: Chain::Ethereum,
        asset: Asset::Native(Chain::Ethereum),
        decimals: AmountUnit::Eth.decimals(),
    };
    let mut sink = VecSink::default();
    import_transfers_csv(&p, &o, &mut sink, &ImportOptions::default()).unwrap();
    let r = &sink.records;
    assert_eq!(r.len(), 3, "identical rows are distinct transfers");
    assert_ne!(r[0].tx_hash, r[1].tx_hash);
    assert_eq!(
        r[2].amount,
        Amount::from(33_568_152u64) * Amount::from(10u64.pow(15))
    );
    assert_eq!(r[0].amount, Amount::from(10u64.pow(13)));
    assert_eq!(r[0].block, 1_648_590_078);
    // Same file, other directory: same hashes, so re-ingest appends nothing.
    let other = tempfile::tempdir().unwrap();
    let q = write(other.path(), "dune.csv", &body);
    let mut again = VecSink::default();
    import_transfers_csv(&q, &o, &mut again, &ImportOptions::default()).unwrap();
    assert_eq!(again.records, sink.records);
    // Bad amount: names the mapped column.
    let p = write(dir.path(), "bad.csv", &body.replace("33568.152", "12abc"));
    let e = import_transfers_csv(&p, &o, &mut VecSink::default(), &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("bad.csv:4: column total_eth: '12abc' is not a non-negative decimal number"),
        "{e}"
    );
    assert!("from=a,to=b,amount=c"
        .parse::<ColumnMap>()
        .unwrap_err()
        .to_string()
        .contains("time"));
    assert!("from=a,to=b,amount=c,time=d,colour=e"
        .parse::<ColumnMap>()
        .is_err());
}

/// Block-ordered transactions and token transfers (a failed tx among them)
/// reach the sink as one chain-ordered stream, with the same records as the
/// two-pass join produces on the same rows in a shuffled token file.
#[test]
fn ordered_exports_arrive_merged_in_chain_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from(
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp,receipt_status\n",
    );
    let head =
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n";
    let mut rows = Vec::new();
    for i in 0..300u32 {
        let (block, idx) = (1000 + i / 7, i % 7);
        let status = if i % 31 == 5 { 0 } else { 1 };
        t += &format!(
            "{},{block},{idx},{},{},{},{},{status}\n",
            hash(i),
            addr((i % 40) as u8),
            addr((i % 9) as u8),
            i * 3,
            1_650_000_000 + block * 12
        );
        for log in 0..(i % 3) {
            rows.push(format!(
                "{},{},{},{},{},{},{block}\n",
                addr(200 + (log as u8)),
                addr((i % 11) as u8),
                addr(100),
                i + log,
                hash(i),
                idx * 4 + log
            ));
        }
    }
    let ordered = head.to_string() + &rows.concat();
    rows.reverse();
    let shuffled = head.to_string() + &rows.concat();
    let files = |tt: &str, name: &str| EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &t),
        token_transfers: Some(write(dir.path(), name, tt)),
        tokens: None,
    };
    let opts = ImportOptions {
        checkpoint_every: 50,
        ..Default::default()
    };
    let mut merged = VecSink::default();
    let s = import_ethereum_etl(&files(&ordered, "tt.csv"), &mut merged, &opts).unwrap();
    let keys: Vec<_> = merged.records.iter().map(|r| r.order_key()).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "records arrive in strictly ascending chain order"
    );
    let failed = (0..300u32).filter(|i| i % 31 == 5);
    let failed_logs: u64 = failed.clone().map(|i| (i % 3) as u64).sum();
    assert_eq!(s.no_value_rows, failed.count() as u64 + failed_logs);
    assert_eq!(s.rows_read, 300 + rows.len() as u64);
    assert_eq!(s.transfers as usize, merged.records.len());
    let mut two_pass = VecSink::default();
    let s2 =
        import_ethereum_etl(&files(&shuffled, "tt-shuffled.csv"), &mut two_pass, &opts).unwrap();
    assert_eq!((s2.rows_read, s2.rows_resumed), (s.rows_read, 0));
    assert_eq!(s2.transfers, s.transfers);
    assert_eq!(sorted(two_pass.records), merged.records);
}

/// Dies when asked to checkpoint `source` for the `nth` time (0-based), like
/// a process killed between the two manifests of a merged checkpoint.
struct DiesAtCheckpoint<'a> {
    inner: &'a mut VecSink,
    source: String,
    nth: usize,
}
impl TransferSink for DiesAtCheckpoint<'_> {
    type Error = std::io::Error;
    fn token(&mut self, t: TokenInfo) -> Result<(), Self::Error> {
        self.inner.token(t).map_err(|e| match e {})
    }
    fn transfer(&mut self, r: TransferRecord) -> Result<(), Self::Error> {
        self.inner.transfer(r).map_err(|e| match e {})
    }
    fn checkpoint(&mut self, c: &SourceCursor) -> Result<(), Self::Error> {
        if c.source == self.source {
            if self.nth == 0 {
                return Err(std::io::Error::other("killed"));
            }
            self.nth -= 1;
        }
        self.inner.checkpoint(c).map_err(|e| match e {})
    }
    fn resume_position(&self, s: &str) -> Option<u64> {
        self.inner.resume_position(s)
    }
}

#[test]
fn killed_between_the_two_cursors_of_a_merged_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from(
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n",
    );
    let mut tt = String::from(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n",
    );
    for i in 0..400u32 {
        t += &format!(
            "{},{},{},{},{},{},{}\n",
            hash(i),
            i / 8,
            i % 8,
            addr((i % 30) as u8),
            addr((i % 11) as u8),
            i + 1,
            1_600_000_000 + i / 8
        );
        if i % 2 == 0 {
            tt += &format!(
                "{},{},{},{},{},{},{}\n",
                addr(200),
                addr((i % 5) as u8),
                addr(201),
                i,
                hash(i),
                i % 4,
                i / 8
            );
        }
    }
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &t),
        token_transfers: Some(write(dir.path(), "token_transfers.csv", &tt)),
        tokens: None,
    };
    let opts = ImportOptions {
        checkpoint_every: 60,
        ..Default::default()
    };
    let mut clean = VecSink::default();
    import_ethereum_etl(&files, &mut clean, &opts).unwrap();
    assert_eq!(clean.records.len(), 600);
    let token_source = canonical_source(files.token_transfers.as_ref().unwrap()).unwrap();
    for nth in [0, 1, 3] {
        let mut sink = VecSink::default();
        let r = import_ethereum_etl(
            &files,
            &mut DiesAtCheckpoint {
                inner: &mut sink,
                source: token_source.clone(),
                nth,
            },
            &opts,
        );
        assert!(r.is_err());
        sink.crash();
        // The transactions cursor moved, the token cursor did not.
        let tx_source = canonical_source(&files.transactions).unwrap();
        let (tx_at, tok_at) = (
            sink.resume_position(&tx_source).unwrap(),
            sink.resume_position(&token_source).unwrap_or(0),
        );
        assert!(tx_at > 0 && tok_at < tx_at / 2 + 1, "{tx_at} {tok_at}");
        import_ethereum_etl(&files, &mut sink, &opts).unwrap();
        assert_eq!(
            sorted(sink.records),
            sorted(clean.records.clone()),
            "killed at token checkpoint {nth}"
        );
    }
}

/// The ethereum-etl files of [`resume_after_crash_equals_clean_run`]'s shape,
/// small: 60 transactions and their token logs.
fn small_etl(dir: &Path) -> EthereumEtlFiles {
    let mut t = String::from(
        "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n",
    );
    for i in 0..60u32 {
        t += &format!(
            "{},{},{},{},{},{},{}\n",
            hash(i),
            i / 10,
            i % 10,
            addr((i % 5) as u8),
            addr((i % 7) as u8),
            i + 1,
            1_600_000_000 + i / 10
        );
    }
    EthereumEtlFiles {
        transactions: write(dir, "transactions.csv", &t),
        token_transfers: None,
        tokens: None,
    }
}

#[test]
fn pipelined_import_equals_a_direct_import() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_etl(dir.path());
    let opts = ImportOptions {
        checkpoint_every: 7,
        ..ImportOptions::default()
    };
    let mut direct = VecSink::default();
    let want = import_ethereum_etl(&files, &mut direct, &opts).unwrap();
    let mut piped = VecSink::default();
    let sources = vec![canonical_source(&files.transactions).unwrap()];
    let (f, o) = (files.clone(), opts.clone());
    let got = pipeline::import_pipelined(&mut piped, &sources, move |sink| {
        import_ethereum_etl(&f, sink, &o).map_err(|e| PipeErr(e.to_string()))
    })
    .map_err(|e| e.0)
    .unwrap();
    assert_eq!(got.transfers, want.transfers);
    assert_eq!(piped.records, direct.records);
    assert!(piped.pending.is_empty());
    assert_eq!(piped.cursors, direct.cursors);
    assert_eq!(piped.checkpoints, direct.checkpoints);

    // A second pipelined run resumes from the writer's cursor: nothing is re-read.
    let (f, o) = (files.clone(), opts.clone());
    let again = pipeline::import_pipelined(&mut piped, &sources, move |sink| {
        import_ethereum_etl(&f, sink, &o).map_err(|e| PipeErr(e.to_string()))
    })
    .map_err(|e| e.0)
    .unwrap();
    assert_eq!(again.rows_resumed, 60);
    assert_eq!(again.transfers, 0);
}

/// The error type a test gives the pipeline: both sides as text.
#[derive(Debug)]
struct PipeErr(String);
impl<W: std::error::Error + 'static> From<pipeline::PipelineError<W>> for PipeErr {
    fn from(e: pipeline::PipelineError<W>) -> Self {
        let source = std::error::Error::source(&e).map(ToString::to_string);
        PipeErr(format!("{e}: {}", source.unwrap_or_default()))
    }
}

#[test]
fn a_failing_writer_is_reported_before_the_parser_and_keeps_only_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_etl(dir.path());
    let opts = ImportOptions {
        checkpoint_every: 10,
        ..ImportOptions::default()
    };
    let mut inner = VecSink::default();
    let mut dying = Dying {
        inner: &mut inner,
        left: 25,
    };
    let sources = vec![canonical_source(&files.transactions).unwrap()];
    let err = pipeline::import_pipelined(&mut dying, &sources, move |sink| {
        import_ethereum_etl(&files, sink, &opts).map_err(|e| PipeErr(e.to_string()))
    })
    .map_err(|e| e.0)
    .unwrap_err();
    assert_eq!(err, "writing the store: killed");
    inner.crash();
    assert_eq!(inner.records.len(), 20, "two checkpoints of 10 survive");
}
