//! `tripoint bench console`: the web console of issue 16 in a real browser,
//! beside a peer in the same run. The measuring is done by
//! `tests/console/bench.js` (Node, Playwright and Debian's chromium, which
//! `scripts/setup-console.sh` installs; anvil from `scripts/setup-anvil.sh`),
//! started here against this very binary:
//!
//! * server time of every console page (p50/p99/max over `--requests`
//!   sequential requests; goal p99 < 20 ms) beside the TAXII API's `GET
//!   objects` on the same server;
//! * a case graph of `--nodes` addresses laid out and drawn in chromium (goal
//!   < 2 s for 2,000) beside Cytoscape's own `breadthfirst` layout, with the
//!   page's peak memory;
//! * the SSE latency: a real `tripoint watch` on a real anvil prints each
//!   alert once stored; the time until the open alerts page adds it (goal
//!   <= 200 ms);
//! * the server's peak memory.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{fail, Context as _, Result};

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Sequential requests per console page for the server-time figures.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 200))]
    pub requests: usize,
    /// Addresses of the synthetic case graph drawn in chromium.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 2000))]
    pub nodes: usize,
    /// Transactions on the node, each raising alerts, for the SSE latency.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 20))]
    pub alerts: usize,
    /// A quick run for CI: 20 requests per page, 300 addresses, 3 transactions.
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Also print the figures as one JSON object (last line).
    #[cfg_attr(feature = "cli", arg(long))]
    pub json: bool,
}

pub fn run(o: &Options) -> Result<()> {
    let (requests, nodes, alerts) = if o.smoke {
        (20, 300, 3)
    } else {
        (o.requests.max(1), o.nodes.max(1), o.alerts.max(1))
    };
    let project = crate::locate::project_dir().context(
        "cannot find the project's tests/console/ folder: set TRIPOINT_HOME to the tripoint source tree",
    )?;
    let script = project.join("tests/console/bench.js");
    if !script.is_file() {
        fail!(
            "{} is missing: set TRIPOINT_HOME to the tripoint source tree",
            script.display()
        );
    }
    let chromium = setup_console(&project)?;
    let anvil = crate::watch::anvil_bin()?;
    let exe = std::env::current_exe().context("locating the tripoint binary")?;
    println!(
        "== tripoint bench console: {requests} requests per page, a graph of {nodes} addresses, {alerts} alert transactions ({})",
        exe.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .args(["--requests", &requests.to_string()])
        .args(["--nodes", &nodes.to_string()])
        .args(["--alerts", &alerts.to_string()])
        .env("TRIPOINT_BIN", &exe)
        .env("TRIPOINT_ANVIL", &anvil)
        .env("TRIPOINT_CHROMIUM", &chromium)
        .current_dir(project.join("tests/console"));
    if o.json {
        cmd.arg("--json");
    }
    let status = cmd
        .status()
        .with_context(|| format!("starting node {}", script.display()))?;
    if !status.success() {
        fail!("{} failed ({status})", script.display());
    }
    Ok(())
}

/// Run `scripts/setup-console.sh` (quick when everything is installed); the
/// chromium it prints.
fn setup_console(project: &std::path::Path) -> Result<PathBuf> {
    let setup = project.join("scripts/setup-console.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", setup.display()))?;
    if !out.status.success() {
        fail!("{} failed", setup.display());
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(PathBuf::from(if path.is_empty() {
        "/usr/bin/chromium".to_string()
    } else {
        path
    }))
}
