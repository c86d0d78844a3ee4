//! Child processes of the running `tripoint` binary: benchmarks drive the
//! same public interface a user does, and a child's peak memory is its own.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{fail, Context as _};

/// The running `tripoint` executable.
#[derive(Debug, Clone)]
pub struct Tripoint {
    exe: PathBuf,
}

impl Tripoint {
    pub fn current() -> crate::Result<Tripoint> {
        Ok(Tripoint {
            exe: std::env::current_exe().context("locating the tripoint binary")?,
        })
    }

    /// A command for `tripoint <args>`, to spawn or run.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args);
        c
    }

    /// Run `tripoint <args>` to completion; its stdout.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> crate::Result<Vec<u8>> {
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("starting tripoint {}", shown.join(" ")))?;
        if !out.status.success() {
            fail!(
                "tripoint {} failed: {}",
                shown.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out.stdout)
    }

    /// Run `tripoint <args>` and parse the JSON it prints.
    pub fn run_json<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
    ) -> crate::Result<serde_json::Value> {
        let out = self.run(args)?;
        crate::peers::last_json(&String::from_utf8_lossy(&out))
            .context("tripoint printed no JSON result")
    }
}
