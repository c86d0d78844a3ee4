//! Throughput of the ethereum-etl importer alone (no store), for profiling:
//! `cargo run --release -p tripoint-ingest --example parse_speed -- DIR`
//! where DIR holds `transactions.csv` and `token_transfers.csv` (e.g. from `tripoint gen`).

use std::path::PathBuf;
use std::time::Instant;

use tripoint_chain::{SourceCursor, TokenInfo, TransferRecord, TransferSink};
use tripoint_ingest::{import_ethereum_etl, EthereumEtlFiles, ImportOptions};

#[derive(Default)]
struct Count(u64);

impl TransferSink for Count {
    type Error = std::convert::Infallible;
    fn token(&mut self, _: TokenInfo) -> Result<(), Self::Error> {
        Ok(())
    }
    fn transfer(&mut self, r: TransferRecord) -> Result<(), Self::Error> {
        self.0 += 1;
        std::hint::black_box(r);
        Ok(())
    }
    fn checkpoint(&mut self, _: &SourceCursor) -> Result<(), Self::Error> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: parse_speed DIR"));
    let files = EthereumEtlFiles {
        transactions: dir.join("transactions.csv"),
        token_transfers: Some(dir.join("token_transfers.csv")),
        tokens: None,
    };
    let t = Instant::now();
    let mut sink = Count::default();
    import_ethereum_etl(&files, &mut sink, &ImportOptions::default()).expect("import");
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} records in {s:.2} s: {:.0} records/s",
        sink.0,
        sink.0 as f64 / s
    );
}
