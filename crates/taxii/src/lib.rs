//! TAXII 2.1 server over a STIX 2.1 store (SQLite or PostgreSQL), with partner
//! access, markings enforcement and audit.
//!
//! Layers, outermost first: [`server`] (axum routes, content negotiation, HTTP
//! status mapping) → [`service`] (the exchange's rules: access, TLP, creator
//! identity, validation, pagination, audit; used by the server and by the
//! import CLI alike) → [`store`] (SQLite/PostgreSQL). [`model`] holds the pure
//! versioning rules; [`config`] and [`auth`] the partners and their secrets.

pub mod auth;
pub mod config;
pub mod error;
pub mod federation;
pub mod model;
pub mod private;
pub mod server;
pub mod service;
pub mod session;
pub mod store;

pub use error::Error;
