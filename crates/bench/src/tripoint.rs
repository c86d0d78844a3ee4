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
/// child's own peak RSS. A non-zero exit is an error with its stderr.
///
/// Linux's `ru_maxrss` for a child starts from the high-water mark of the
/// address space it was spawned from, i.e. this process's: it is exact only
/// when the child outgrew us. Otherwise the child's own `VmHWM`, sampled every
/// 10 ms until it exits, is reported (a figure within one interval's growth).
pub fn run_measured(mut cmd: Command) -> crate::Result<Measured> {
    let shown = format!("{cmd:?}");
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let sampler = HwmSampler::start(child.id());
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
    // Stop sampling once the child has exited but before it is reaped, so
    // its pid cannot have been reused by another process.
    wait_exited(child.id()).with_context(|| format!("waiting for {shown}"))?;
    let sampled = sampler.stop();
    let (code, ru_maxrss) =
        wait_with_rusage(child.id()).with_context(|| format!("waiting for {shown}"))?;
    // Our own high-water mark read after the child is gone: the child's
    // `ru_maxrss` starts from our mark at the moment it exec'd, which other
    // threads may have raised after the spawn, and our mark only grows, so
    // comparing with the later value never mistakes ours for the child's.
    let spawner_peak = crate::stats::peak_rss_bytes();
    let peak_rss_bytes = match (ru_maxrss, spawner_peak) {
        (Some(ru), Some(ours)) if ru > ours => Some(ru),
        (Some(ru), None) => sampled.or(Some(ru)),
        _ => sampled,
    };
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
    /// The child's own peak RSS ([`run_measured`]); `None` where the OS
    /// does not report it.
    pub peak_rss_bytes: Option<u64>,
}

/// Samples a running process's `VmHWM` on a thread until stopped.
struct HwmSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Option<u64>>,
}

impl HwmSampler {
    fn start(pid: u32) -> HwmSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = None;
            loop {
                // A high-water mark only grows: the last sample is the best.
                if let Some(hwm) = crate::stats::peak_rss_bytes_of(pid) {
                    peak = peak.max(Some(hwm));
                }
                if flag.load(std::sync::atomic::Ordering::Acquire) {
                    return peak;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        HwmSampler { stop, thread }
    }

    fn stop(self) -> Option<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.thread.join().unwrap_or(None)
    }
}

/// Block until child `pid` has exited, leaving it unreaped (a zombie).
fn wait_exited(pid: u32) -> std::io::Result<()> {
    loop {
        // SAFETY: `siginfo_t` is plain old data, so all-zero bytes are valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live local of the right type; WNOWAIT leaves the
        // child for `wait_with_rusage` to reap.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_child_is_not_charged_with_its_spawners_memory() {
        // Raise this process's high-water mark: 256 MiB, every page written.
        let big = vec![1u8; 256 << 20];
        std::hint::black_box(&big);
        let mut cmd = Command::new("sleep");
        cmd.arg("0.3");
        let m = run_measured(cmd).expect("sleep runs");
        let peak = m.peak_rss_bytes.expect("Linux reports peak RSS");
        assert!(peak < 64 << 20, "sleep was charged {peak} bytes");
        drop(big);
    }

    #[test]
    fn a_large_child_is_reported_at_its_own_peak() {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            "import time; x = b'x' * (200 << 20); time.sleep(0.3); print(len(x))",
        ]);
        let m = run_measured(cmd).expect("python3 runs");
        let peak = m.peak_rss_bytes.expect("Linux reports peak RSS");
        assert!(peak > 190 << 20, "python3 peak {peak} bytes");
        assert!(peak < 400 << 20, "python3 peak {peak} bytes");
    }
}
