//! tripoint ews: supply-chain early warning for critical minerals and
//! lithium-ion batteries — importers, pure indicator functions, alerts, the
//! status board and a no-look-ahead back-test. See `docs/ews.md`.

pub mod error;
pub mod import;
pub mod indicators;
pub mod model;

pub use error::{BadRow, BadRows, EwsError};
pub use import::load_events;
pub use model::*;
