//! Parquet out of and into tripoint.
//!
//! * [`export`]: a store's transfers (partitioned by block range) and labels
//!   as Parquet files that DuckDB, DataFusion and Spark read as they are,
//!   incrementally (a small manifest in the output directory remembers the
//!   last exported block). Schema and format version: `docs/scale.md`.
//! * [`cryo`]: import the Parquet datasets written by the `cryo` extractor
//!   (`transactions`, `erc20_transfers`, `native_transfers`, and `blocks`
//!   for timestamps) into any [`tripoint_chain::TransferSink`].
//! * [`trace`]: a trace's tainted flows and reached addresses as Parquet
//!   (`tripoint trace … --format parquet --out DIR`).
//! * [`exposure`]: read the batch exposure results the Spark job
//!   (`jobs/exposure.py`) writes, for `tripoint screen --exposure-from`.

mod binary;
mod block;
pub mod cryo;
mod error;
mod export;
pub mod exposure;
mod fixed;
mod manifest;
mod text;
pub mod trace;

pub use binary::{labels_schema_v2, transfers_schema_v2};
pub use error::ExportError;
pub use export::{
    export, flows_schema, keep_freed_memory, labels_schema_v1, transfers_schema_v1, ExportOptions,
    ExportSummary,
};
pub use manifest::{ExportManifest, LabelsFile, PartFile, MANIFEST_FILE};

/// `format` key of every file's Parquet key-value metadata and of the manifest.
pub const FORMAT: &str = "tripoint-parquet";
/// Format version of new exports (schema of every table): 2, binary hashes
/// and addresses. Readers refuse versions other than this and [`VERSION_1`].
pub const VERSION: u32 = 2;
/// Format version 1 (hex text hashes and addresses, decimal text amounts):
/// still written into a directory that holds it, and read.
pub const VERSION_1: u32 = 1;
