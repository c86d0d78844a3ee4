//! A generated scenario with contract-mediated flows (`tripoint-gen` with
//! `contract_share`), read back through the ethereum-etl importers
//! (transactions, token transfers and `traces.csv`), gives exactly the
//! records the generator's `RecordSink` produces: the internal transfers
//! keyed by their depth-first rank and the WETH minted or burned by
//! wrapping and unwrapping.

use std::collections::BTreeMap;

use tripoint_chain::{SourceCursor, TokenInfo, TransferRecord, TransferSink};
use tripoint_gen::{generate, generate_into, GenConfig, RecordSink};
use tripoint_ingest::{import_ethereum_etl, import_ethereum_etl_traces, EthereumEtlFiles};

/// Records by key (tx hash, position); a key seen twice is kept twice.
#[derive(Default)]
struct Records(BTreeMap<String, Vec<TransferRecord>>);

impl TransferSink for Records {
    type Error = std::convert::Infallible;
    fn token(&mut self, _: TokenInfo) -> Result<(), Self::Error> {
        Ok(())
    }
    fn transfer(&mut self, r: TransferRecord) -> Result<(), Self::Error> {
        let key = format!("{:?}/{:?}", r.tx_hash, r.position);
        self.0.entry(key).or_default().push(r);
        Ok(())
    }
    fn checkpoint(&mut self, _: &SourceCursor) -> Result<(), Self::Error> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

#[test]
fn files_with_traces_give_the_records_of_the_record_sink() {
    let cfg = GenConfig {
        seed: 3,
        transfers: 20_000,
        contract_share: 0.3,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&cfg, dir.path()).unwrap();
    assert!(summary.internal_transfers > 1_000, "{summary:?}");

    let mut from_files = Records::default();
    let opts = Default::default();
    import_ethereum_etl(
        &EthereumEtlFiles {
            transactions: dir.path().join("transactions.csv"),
            token_transfers: Some(dir.path().join("token_transfers.csv")),
            tokens: Some(dir.path().join("tokens.csv")),
        },
        &mut from_files,
        &opts,
    )
    .unwrap();
    let traces = import_ethereum_etl_traces(
        &dir.path().join("traces.csv"),
        &dir.path().join("transactions.csv"),
        &mut from_files,
        &opts,
    )
    .unwrap();
    assert_eq!(traces.bad_rows_skipped, 0);

    let mut direct = Records::default();
    let mut sink = RecordSink::new(&mut direct);
    generate_into(&cfg, &mut sink).unwrap();

    // The traces derive the WETH of unwraps again from the ether side: the
    // same key twice, which the store keeps once. Compare one per key.
    let once =
        |r: &Records| -> Vec<TransferRecord> { r.0.values().map(|v| v[0].clone()).collect() };
    for v in from_files.0.values() {
        assert!(v.iter().all(|r| *r == v[0]), "one key, one record: {v:?}");
    }
    let (a, b) = (once(&from_files), once(&direct));
    assert_eq!(a.len(), b.len());
    let internal = a
        .iter()
        .filter(|r| {
            r.asset == tripoint_chain::Asset::Native(tripoint_chain::Chain::Ethereum)
                && tripoint_chain::Position::internal_of(r.position.sub_index()).is_some()
        })
        .count() as u64;
    assert_eq!(internal, summary.internal_transfers);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

/// Import a generated scenario's files (transactions, token transfers and
/// `traces.csv`) into the store at `dir` once; what the appender did.
fn ingest_files(
    scenario: &std::path::Path,
    dir: &std::path::Path,
) -> tripoint_store::AppendSummary {
    let store =
        tripoint_store::Store::open_or_create(dir).expect("a store in a temporary directory");
    let mut app = store.appender().expect("the only writer");
    let opts = Default::default();
    import_ethereum_etl(
        &EthereumEtlFiles {
            transactions: scenario.join("transactions.csv"),
            token_transfers: Some(scenario.join("token_transfers.csv")),
            tokens: Some(scenario.join("tokens.csv")),
        },
        &mut app,
        &opts,
    )
    .expect("the generated files import");
    import_ethereum_etl_traces(
        &scenario.join("traces.csv"),
        &scenario.join("transactions.csv"),
        &mut app,
        &opts,
    )
    .expect("the generated traces import");
    app.finish().expect("the store publishes")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]
    /// Re-ingest is a no-op: random scenarios with random shares of
    /// contract-mediated flows (internal transfers, swaps paid out by
    /// internal calls, WETH), imported again into one store (the same files,
    /// and a copy that has no cursor), add nothing and leave the store's
    /// figures unchanged.
    #[test]
    fn reingesting_random_traces_adds_nothing(seed in 0u64..1_000_000, share in 0.05f64..0.9) {
        let cfg = GenConfig { seed, transfers: 10_000, contract_share: share, ..Default::default() };
        let tmp = tempfile::tempdir().unwrap();
        let scenario = tmp.path().join("scenario");
        let summary = generate(&cfg, &scenario).unwrap();
        proptest::prop_assert!(summary.internal_transfers > 0);
        let dir = tmp.path().join("store");
        let first = ingest_files(&scenario, &dir);
        proptest::prop_assert!(first.appended >= summary.internal_transfers);
        let before = tripoint_store::Store::open(&dir).unwrap().stats();
        // The same files again resume from their cursors; a copy under
        // another path has no cursor, so every record meets its stored key.
        let again = ingest_files(&scenario, &dir);
        proptest::prop_assert_eq!(again.appended, 0, "re-ingest appended records");
        let copy = tmp.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        for f in ["transactions.csv", "token_transfers.csv", "tokens.csv", "traces.csv"] {
            std::fs::copy(scenario.join(f), copy.join(f)).unwrap();
        }
        let second = ingest_files(&copy, &dir);
        proptest::prop_assert_eq!(second.appended, 0, "re-ingest by key appended records");
        proptest::prop_assert!(second.duplicates_skipped >= first.appended);
        let after = tripoint_store::Store::open(&dir).unwrap().stats();
        proptest::prop_assert_eq!(after.transfers, before.transfers);
        proptest::prop_assert_eq!(after.addresses, before.addresses);
        proptest::prop_assert_eq!(after.assets, before.assets);
    }
}
