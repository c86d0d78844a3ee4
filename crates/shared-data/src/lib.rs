//! Where the public real-data folder is: `../shared/data` beside the checkout,
//! or the folder named by `TRIPOINT_SHARED_DATA`.
//!
//! `TRIPOINT_HIDE_SHARED=1` makes it absent whatever is on disk, so a machine
//! that has the data (CI) can also run the suite as a fresh machine would:
//! `.ci/run` does a second pass with it set. The binary (demo, ews, intel
//! defaults) and every test that reads the data go through this one crate, so
//! the variable hides the data from all of them alike.

use std::io::Write;
use std::path::PathBuf;

/// Set to `1` to treat the shared data as absent.
pub const HIDE_VAR: &str = "TRIPOINT_HIDE_SHARED";
/// Names the data folder explicitly (instead of `../shared/data`).
pub const DIR_VAR: &str = "TRIPOINT_SHARED_DATA";

/// Whether `TRIPOINT_HIDE_SHARED` asks to hide the data (any value but empty or `0`).
pub fn hidden() -> bool {
    std::env::var_os(HIDE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The data folder, or `None` when it is absent or hidden.
pub fn locate() -> Option<PathBuf> {
    if hidden() {
        return None;
    }
    let dir = match std::env::var_os(DIR_VAR) {
        Some(p) => PathBuf::from(p),
        // This crate sits at crates/shared-data, two levels below the checkout.
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    dir.is_dir().then_some(dir)
}

/// For tests: `rel` inside the data folder, or `None` after printing
/// `skipped: ../shared/data absent` with the test's name.
///
/// The line goes straight to the process's stderr rather than through
/// `eprintln!`, which the test harness captures and throws away for passing
/// tests; a skip must be visible in the ordinary `cargo test` output.
pub fn for_test(rel: &str) -> Option<PathBuf> {
    match locate() {
        Some(dir) if rel.is_empty() => Some(dir),
        Some(dir) => Some(dir.join(rel)),
        None => {
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("a test");
            let why = if hidden() {
                " (TRIPOINT_HIDE_SHARED)"
            } else {
                ""
            };
            let line = format!("skipped: ../shared/data absent{why}: {test}\n");
            // A failed write to stderr leaves nothing better to report it to.
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the environment, so no other test in this binary races it.
    #[test]
    fn hide_variable_wins_over_everything() {
        let dir = std::env::temp_dir();
        std::env::set_var(DIR_VAR, &dir);
        std::env::remove_var(HIDE_VAR);
        assert_eq!(locate(), Some(dir.clone()));
        assert_eq!(for_test("intel"), Some(dir.join("intel")));
        std::env::set_var(HIDE_VAR, "0");
        assert_eq!(locate(), Some(dir.clone()));
        std::env::set_var(HIDE_VAR, "1");
        assert!(hidden());
        assert_eq!(locate(), None);
        std::env::remove_var(HIDE_VAR);
        std::env::set_var(DIR_VAR, dir.join("no-such-folder-here"));
        assert_eq!(locate(), None);
        std::env::remove_var(DIR_VAR);
    }
}
