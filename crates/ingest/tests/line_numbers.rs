//! Every importer names the physical line of a bad row (the header is line 1):
//! a property test puts one bad row at a random position among good rows, with
//! blank lines, CRLF endings and quoted multi-line fields around it, and checks
//! the line the error names against the line the row was written on.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tripoint_chain::{Asset, Chain};
use tripoint_ingest::{
    import_bitcoin_etl, import_ethereum_etl, import_transfers_csv, AmountUnit, EthereumEtlFiles,
    ImportOptions, IngestError, TransfersCsvOptions, VecSink,
};

fn addr(n: usize) -> String {
    format!("0x{:040x}", n + 1)
}

fn hash(n: usize) -> String {
    format!("0x{:064x}", n + 1)
}

/// How a generated file looks around its rows.
#[derive(Debug, Clone)]
struct Layout {
    crlf: bool,
    /// Per data row: blank lines written before it.
    blanks_before: Vec<usize>,
    /// Per data row: newlines inside its quoted free-text field.
    newlines_inside: Vec<usize>,
    /// Which data row is bad.
    bad: usize,
    /// Bad by a field's value (else by its number of fields).
    bad_value: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (1usize..7, any::<bool>(), any::<bool>()).prop_flat_map(|(rows, crlf, bad_value)| {
        (
            proptest::collection::vec(prop_oneof![3 => Just(0usize), 1 => 1usize..3], rows),
            proptest::collection::vec(prop_oneof![2 => Just(0usize), 1 => 1usize..3], rows),
            0..rows,
        )
            .prop_map(move |(blanks_before, newlines_inside, bad)| Layout {
                crlf,
                blanks_before,
                newlines_inside,
                bad,
                bad_value,
            })
    })
}

/// A CSV file: the header, then each row `row(i, free_text, bad)` after its
/// blank lines. Returns the text and the physical line of the bad row.
fn csv_file(l: &Layout, header: &str, row: impl Fn(usize, &str, bool) -> String) -> (String, u64) {
    let nl = if l.crlf { "\r\n" } else { "\n" };
    let mut text = format!("{header}{nl}");
    let mut line = 2u64;
    let mut bad_line = 0;
    for i in 0..l.blanks_before.len() {
        for _ in 0..l.blanks_before[i] {
            text += nl;
            line += 1;
        }
        if i == l.bad {
            bad_line = line;
        }
        // Quoted free text with its own line breaks (and a doubled quote).
        let free = format!("\"note {i} \"\"q\"\"{}\"", nl.repeat(l.newlines_inside[i]));
        text += &row(i, &free, i == l.bad);
        text += nl;
        line += 1 + l.newlines_inside[i] as u64;
    }
    (text, bad_line)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

/// The line an error names, checked against its Display form too.
fn reported_line(e: &IngestError, file: &Path) -> u64 {
    let line = match e {
        IngestError::BadField { line, .. } | IngestError::BadLine { line, .. } => *line,
        other => panic!("not a row error: {other}"),
    };
    let shown = e.to_string();
    let prefix = format!("{}:{line}: ", file.display());
    assert!(shown.starts_with(&prefix), "{shown:?} vs {prefix:?}");
    line
}

const TX_HEADER: &str = "hash,from_address,to_address,value,block_number,block_timestamp,transaction_index,receipt_status,input";

fn tx_row(i: usize, free: &str, bad: bool, bad_value: bool) -> String {
    let value = if bad && bad_value {
        "12x".to_string()
    } else {
        format!("{}", 1000 + i)
    };
    let extra = if bad && !bad_value { ",surplus" } else { "" };
    format!(
        "{},{},{},{value},{},{},0,1,{free}{extra}",
        hash(i),
        addr(1),
        addr(2),
        100 + i,
        1_700_000_000 + i
    )
}

fn all_good(l: &Layout) -> Layout {
    Layout {
        bad: usize::MAX,
        ..l.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn ethereum_etl_transactions(l in layout()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (text, want) = csv_file(&l, TX_HEADER, |i, f, bad| tx_row(i, f, bad, l.bad_value));
        let files = EthereumEtlFiles {
            transactions: write(dir.path(), "transactions.csv", &text),
            token_transfers: None,
            tokens: None,
        };
        let e = import_ethereum_etl(&files, &mut VecSink::default(), &ImportOptions::default())
            .expect_err("a bad row");
        prop_assert_eq!(reported_line(&e, &files.transactions), want, "{}\n{:?}", e, text);
    }

    #[test]
    fn ethereum_etl_token_transfers(l in layout()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (txs, _) = csv_file(&all_good(&l), TX_HEADER, |i, f, _| tx_row(i, f, false, true));
        let (text, want) = csv_file(
            &l,
            "token_address,from_address,to_address,value,transaction_hash,log_index,block_number,note",
            |i, f, bad| {
                let value = if bad && l.bad_value { "-5".to_string() } else { format!("{}", 7 + i) };
                let extra = if bad && !l.bad_value { ",surplus" } else { "" };
                format!("{},{},{},{value},{},0,{},{f}{extra}", addr(7), addr(2), addr(3), hash(i), 100 + i)
            },
        );
        let files = EthereumEtlFiles {
            transactions: write(dir.path(), "transactions.csv", &txs),
            token_transfers: Some(write(dir.path(), "token_transfers.csv", &text)),
            tokens: None,
        };
        let e = import_ethereum_etl(&files, &mut VecSink::default(), &ImportOptions::default())
            .expect_err("a bad row");
        let file = files.token_transfers.as_deref().expect("given");
        prop_assert_eq!(reported_line(&e, file), want, "{}\n{:?}", e, text);
    }

    #[test]
    fn ethereum_etl_tokens(l in layout()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (txs, _) = csv_file(&all_good(&l), TX_HEADER, |i, f, _| tx_row(i, f, false, true));
        let (text, want) = csv_file(&l, "address,symbol,name,decimals", |i, f, bad| {
            let decimals = if bad && l.bad_value { "eighteen" } else { "18" };
            let extra = if bad && !l.bad_value { ",surplus" } else { "" };
            format!("{},T{i},{f},{decimals}{extra}", addr(10 + i))
        });
        let files = EthereumEtlFiles {
            transactions: write(dir.path(), "transactions.csv", &txs),
            token_transfers: None,
            tokens: Some(write(dir.path(), "tokens.csv", &text)),
        };
        let e = import_ethereum_etl(&files, &mut VecSink::default(), &ImportOptions::default())
            .expect_err("a bad row");
        let file = files.tokens.as_deref().expect("given");
        prop_assert_eq!(reported_line(&e, file), want, "{}\n{:?}", e, text);
    }

    #[test]
    fn transfers_csv(l in layout()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (text, want) = csv_file(&l, "time,from,to,amount,memo", |i, f, bad| {
            let amount = if bad && l.bad_value { "1.2.3" } else { "0.5" };
            let extra = if bad && !l.bad_value { ",surplus" } else { "" };
            format!("2022-03-29T21:41:{:02}Z,{},{},{amount},{f}{extra}", i, addr(1), addr(2))
        });
        let p = write(dir.path(), "dune.csv", &text);
        let o = TransfersCsvOptions {
            map: "from=from,to=to,amount=amount,time=time".parse().expect("mapping"),
            chain: Chain::Ethereum,
            asset: Asset::Native(Chain::Ethereum),
            decimals: AmountUnit::Eth.decimals(),
        };
        let e = import_transfers_csv(&p, &o, &mut VecSink::default(), &ImportOptions::default())
            .expect_err("a bad row");
        prop_assert_eq!(reported_line(&e, &p), want, "{}\n{:?}", e, text);
    }

    /// JSON lines have no header and no multi-line records; blank lines may
    /// hold spaces, and endings may be CRLF.
    #[test]
    fn bitcoin_etl(l in layout()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let nl = if l.crlf { "\r\n" } else { "\n" };
        let (mut text, mut line, mut want) = (String::new(), 1u64, 0u64);
        for i in 0..l.blanks_before.len() {
            for b in 0..l.blanks_before[i] {
                text += if b % 2 == 0 { "" } else { "  " };
                text += nl;
                line += 1;
            }
            let good_hash = format!("{:064x}", i + 1);
            let (h, broken) = if i == l.bad {
                want = line;
                if l.bad_value { ("not-a-hash".to_string(), false) } else { (good_hash, true) }
            } else {
                (good_hash, false)
            };
            text += &format!(
                r#"{{"hash":"{h}","block_number":{},"block_timestamp":{},"index":0,"is_coinbase":true,"inputs":[],"outputs":[{{"index":0,"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":50}}]}}{}"#,
                i + 1,
                1_231_006_505 + i,
                if broken { "," } else { "" }
            );
            text += nl;
            line += 1;
        }
        let p = write(dir.path(), "transactions.json", &text);
        let e = import_bitcoin_etl(&p, &mut VecSink::default(), &ImportOptions::default())
            .expect_err("a bad row");
        prop_assert_eq!(reported_line(&e, &p), want, "{}\n{:?}", e, text);
    }
}

/// The case the issue reported: header on line 1, a bad row on line 3.
#[test]
fn bad_transaction_on_line_three_is_reported_on_line_three() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "{TX_HEADER}\n{}\n{}\n",
        tx_row(0, "", false, true),
        tx_row(1, "", true, true)
    );
    let files = EthereumEtlFiles {
        transactions: write(dir.path(), "transactions.csv", &text),
        token_transfers: None,
        tokens: None,
    };
    let e = import_ethereum_etl(&files, &mut VecSink::default(), &ImportOptions::default())
        .expect_err("a bad row");
    assert_eq!(reported_line(&e, &files.transactions), 3, "{e}");
    assert!(e.to_string().contains("column value"), "{e}");
}
