//! tripoint ews: supply-chain early warning for critical minerals and
//! lithium-ion batteries — importers, pure indicator functions, alerts, the
//! status board and a no-look-ahead back-test. See `docs/ews.md`.

pub mod baci_db;
pub mod error;
pub mod import;
pub mod indicators;
pub mod model;
pub mod provenance;

pub use error::{BadRow, BadRows, EwsError};
pub use import::load_events;
pub use model::*;
pub mod alerts;
pub mod config;
pub mod signals;

pub use alerts::{
    board, cell_level, coverage, replay, Alert, Board, BoardCell, Coverage, Standing,
};
pub mod backtest;
pub use backtest::{backtest, BacktestReport, Baseline, EventResult};
pub use config::Config;
pub use signals::{all_signals, Family, Signal};
pub mod reference;
pub mod snapshot;
/// Dates in this crate's API are `chrono::NaiveDate`.
pub use chrono;
pub use snapshot::{load_snapshot, save_snapshot};
pub mod synthetic;
pub use synthetic::synthetic_dataset;
