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

    /// Run `tripoint <args>` to completion and measure it from outside
    /// ([`run_measured`]).
    pub fn run_measured<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> crate::Result<Measured> {
        run_measured(self.command(args))
    }
}

/// Run `cmd` to completion and measure it from outside: wall seconds and the
/// child's own peak RSS (from `wait4`'s rusage, so it is the whole run's
/// high-water mark, not a sample). A non-zero exit is an error with its stderr.
pub fn run_measured(mut cmd: Command) -> crate::Result<Measured> {
    let shown = format!("{cmd:?}");
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    // Read both pipes before waiting, so a chatty child never blocks.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    {
        use std::io::Read;
        let mut err_pipe = child.stderr.take().expect("piped");
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err_pipe.read_to_end(&mut buf);
            buf
        });
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_end(&mut stdout);
        }
        stderr = err_reader.join().unwrap_or(stderr);
    }
    let (code, peak_rss_bytes) =
        wait_with_rusage(child.id()).with_context(|| format!("waiting for {shown}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if code != 0 {
        fail!("{shown} failed: {}", String::from_utf8_lossy(&stderr));
    }
    Ok(Measured {
        stdout,
        seconds,
        peak_rss_bytes,
    })
}

/// A finished child run of the binary.
#[derive(Debug, Clone)]
pub struct Measured {
    pub stdout: Vec<u8>,
    pub seconds: f64,
    /// `ru_maxrss` of the child; `None` where the OS does not report it.
    pub peak_rss_bytes: Option<u64>,
}

/// Reap `pid` and return its exit code and peak RSS in bytes.
fn wait_with_rusage(pid: u32) -> std::io::Result<(i32, Option<u64>)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, so all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types, and
        // `pid` is a child of this process that nothing else reaps.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == pid as libc::pid_t {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Linux reports ru_maxrss in KiB.
    let rss = u64::try_from(usage.ru_maxrss).ok().map(|kib| kib * 1024);
    Ok((code, rss))
}
