//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `tripoint` binary built for this test run.
pub fn tripoint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tripoint"))
}

/// Run `tripoint` with arguments; panics with stdout/stderr if it fails.
pub fn run_ok(args: &[&str]) -> Output {
    let out = tripoint().args(args).output().expect("spawn tripoint");
    assert!(
        out.status.success(),
        "tripoint {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `../shared/data` (real public data; CI has it). Tests that need it call
/// this and return early, printing `skipped: ../shared/data absent`, on a
/// machine without it or when `TRIPOINT_HIDE_SHARED=1` hides it.
pub fn shared_data() -> Option<PathBuf> {
    tripoint_shared_data::for_test("")
}
