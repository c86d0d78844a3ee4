//! The benchmarks of `tripoint bench`: each engine measured beside a peer
//! tool (DuckDB, graphsense-clustering, medallion, geopolrisk-py) on the same
//! input in the same run, so a printed ratio survives a noisy machine.
//!
//! The harness pieces are shared by every engine: one [`WorkDir`], one
//! [`Peers`] runner for the Python peers in `scripts/peers/`, one
//! [`Tripoint`] runner for child processes of the binary itself, and one set
//! of statistics and peak-RSS helpers ([`stats`]). The project's scripts are
//! found at run time ([`locate`]), so an installed binary benchmarks away
//! from its source tree; the shared data comes from `tripoint-shared-data`. This crate prints its figures on
//! stdout: a benchmark's output is its result.

pub mod console;
mod error;
pub mod ews;
mod generated;
pub mod ingest;
pub mod intel;
pub mod loadgen;
pub mod locate;
mod peers;
pub mod scale;
mod spark;
pub mod stats;
pub mod trace;
mod tripoint;
pub mod watch;
mod work_dir;

pub use error::{BenchError, Result};
pub use generated::GeneratedCsv;
pub use peers::Peers;
pub use tripoint::{run_measured, Measured, Tripoint};
pub use work_dir::WorkDir;
