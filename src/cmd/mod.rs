//! One module per subcommand. Each exports `Args` (clap) and `run`.

pub mod bench;
pub mod case;
pub mod demo;
pub mod eval;
pub mod ews;
pub mod export;
pub mod gen;
pub mod ingest;
pub mod intel;
pub mod labels;
pub mod screen;
pub mod serve;
pub mod trace;
pub mod util;
pub mod watch;
