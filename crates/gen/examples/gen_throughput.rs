//! Generation throughput without the CLI: `cargo run --release -p tripoint-gen
//! --example gen_throughput -- ROWS [DIR]` (no DIR: into a sink that discards).

use std::time::Instant;

use tripoint_gen::{GenConfig, GenError, ScenarioSink, TokenRow, TokenTransferRow, TxRow};

struct Discard(u64);

impl ScenarioSink for Discard {
    fn token(&mut self, _: &TokenRow) -> Result<(), GenError> {
        Ok(())
    }
    fn label(&mut self, _: &tripoint_chain::Label) -> Result<(), GenError> {
        Ok(())
    }
    fn transaction(&mut self, tx: &TxRow) -> Result<(), GenError> {
        self.0 ^= tx.value as u64;
        Ok(())
    }
    fn token_transfer(&mut self, t: &TokenTransferRow) -> Result<(), GenError> {
        self.0 ^= t.value as u64;
        Ok(())
    }
}

fn main() -> Result<(), GenError> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = GenConfig {
        transfers: rows,
        ..Default::default()
    };
    let started = Instant::now();
    let summary = match args.next() {
        Some(dir) => tripoint_gen::generate(&cfg, std::path::Path::new(&dir))?,
        None => tripoint_gen::generate_into(&cfg, &mut Discard(0))?,
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} rows in {secs:.2} s: {:.0} rows/s",
        summary.rows(),
        summary.rows() as f64 / secs
    );
    Ok(())
}
