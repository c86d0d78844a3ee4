//! The one integration-test binary: drives the real `tripoint` binary and the
//! library crates end to end. One module per area.

mod case;
mod common;
mod console;
mod contracts;
mod demo;
mod ews;
mod gen;
mod ingest;
mod intel;
mod labels;
mod store;
mod trace;
mod watch;
