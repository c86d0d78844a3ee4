//! The generated ethereum-etl input that the ingest and scale benchmarks
//! share: written once with a progress bar, then handed to `tripoint ingest`.

use std::path::{Path, PathBuf};

use crate::error::{Context as _, Result};
use crate::stats::progress;

/// A generated scenario's CSV files.
pub struct GeneratedCsv {
    pub summary: tripoint_gen::GenSummary,
    pub transactions: PathBuf,
    pub token_transfers: PathBuf,
    pub tokens: PathBuf,
    /// `traces.csv`, when generated with contract-mediated flows.
    pub traces: Option<PathBuf>,
}

impl GeneratedCsv {
    /// Generate `n` transfers (seed 42) into `dir`.
    pub fn write(n: u64, dir: &Path) -> Result<GeneratedCsv> {
        GeneratedCsv::write_with(n, dir, 0.0)
    }

    /// [`GeneratedCsv::write`] with a share of contract-mediated flows
    /// (above 0: `traces.csv` too).
    pub fn write_with(n: u64, dir: &Path, contract_share: f64) -> Result<GeneratedCsv> {
        let cfg = tripoint_gen::GenConfig {
            seed: 42,
            transfers: n,
            contract_share,
            ..Default::default()
        };
        let bar = progress(n, "generating");
        let summary =
            tripoint_gen::generate_files(&cfg, dir, &mut |rows| bar.set_position(rows))
                .with_context(|| format!("generating {n} transfers into {}", dir.display()))?;
        bar.finish_and_clear();
        Ok(GeneratedCsv {
            summary,
            transactions: dir.join("transactions.csv"),
            token_transfers: dir.join("token_transfers.csv"),
            tokens: dir.join("tokens.csv"),
            traces: (contract_share > 0.0).then(|| dir.join("traces.csv")),
        })
    }

    /// The arguments of `tripoint ingest --json` loading these files into `store`.
    pub fn ingest_args(&self, store: &Path) -> Vec<String> {
        let p = |x: &Path| x.display().to_string();
        vec![
            "ingest".into(),
            "--store".into(),
            p(store),
            "--json".into(),
            "ethereum-etl".into(),
            "--transactions".into(),
            p(&self.transactions),
            "--token-transfers".into(),
            p(&self.token_transfers),
            "--tokens".into(),
            p(&self.tokens),
        ]
    }
}
