//! Small helpers shared by subcommands: logging, progress bars, where the shared data is.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The output rule of every command (docs/trace.md, "Output formats"):
/// `table` for people (the default), `json` for tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people: tables with header rows, amounts in whole units.
    Table,
    /// JSON for tools: exact figures, stable field names.
    Json,
}

pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[allow(dead_code)]
/// A progress bar on stderr; indicatif hides it when stderr is not a terminal,
/// so scripts and CI logs stay clean.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A spinner for work of unknown length (e.g. following a chain head).
#[allow(dead_code)]
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos} ({per_sec})")
            .expect("static template"),
    );
    bar.set_message(what.to_string());
    bar
}

/// Where the shared real-data folder is, if present (`../shared/data` beside the checkout,
/// or `TRIPOINT_SHARED_DATA`); absent when `TRIPOINT_HIDE_SHARED=1`.
pub fn shared_data_dir() -> Option<std::path::PathBuf> {
    tripoint_shared_data::locate()
}
