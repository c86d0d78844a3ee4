//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

/// A child process killed (and reaped) on drop, also when a test fails.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait for `cond` up to `secs`, polling; panics with `what` on time-out.
pub fn wait_for<T>(secs: u64, what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Spawn a `tripoint serve … --listen 127.0.0.1:0` command and read its base
/// URL (without `/taxii2/`) from the first line it prints. The child is
/// killed before the panic if that line is not the expected one.
pub fn spawn_serve(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tripoint serve");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|u| u.strip_suffix("/taxii2/"))
        .map(str::to_string);
    match (read, base) {
        (Ok(_), Some(base)) => (child, base),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tripoint serve: unexpected first line {line:?}")
        }
    }
}

/// One HTTP answer, whatever its status.
pub struct HttpAnswer {
    pub status: u16,
    /// Lower-cased names, one entry per value (`Set-Cookie` may repeat).
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl HttpAnswer {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (any case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON: `Null` when empty, a JSON string when not JSON.
    pub fn json(&self) -> Value {
        if self.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.text).unwrap_or_else(|_| Value::String(self.text.clone()))
        }
    }
}

/// One HTTP request on a new connection, redirects not followed. A pooled
/// connection the server has just closed (idle timeout, or after a refusal)
/// reads as "Unexpected EOF" on a loaded machine: the client's race, not the
/// server's answer.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> HttpAnswer {
    let agent = ureq::AgentBuilder::new()
        .max_idle_connections(0)
        .redirects(0)
        .build();
    let mut req = agent.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let mut all = Vec::new();
    for name in resp.headers_names() {
        for v in resp.all(&name) {
            all.push((name.to_ascii_lowercase(), v.to_string()));
        }
    }
    let text = resp.into_string().unwrap_or_default();
    HttpAnswer {
        status,
        headers: all,
        text,
    }
}

/// Write a TagPack actor pack (actor `upbit`, jurisdiction KR) and a TagPack
/// labelling `address` as the Upbit exchange wallet `label`; returns both paths.
pub fn write_upbit_tagpack(dir: &Path, address: &str, label: &str) -> (PathBuf, PathBuf) {
    let actors = dir.join("a.actorpack.yaml");
    std::fs::write(
        &actors,
        "actors:\n- id: upbit\n  label: Upbit\n  jurisdictions:\n  - KR\n",
    )
    .expect("write actor pack");
    let pack = dir.join("upbit.yaml");
    std::fs::write(
        &pack,
        format!(
            "title: Upbit wallets\ncategory: exchange\nactor: upbit\ncurrency: ETH\n\
             confidence: service_data\nlastmod: 2024-05-01\nsource: https://example.org/upbit\ntags:\n\
             - address: '{address}'\n  label: {label}\n"
        ),
    )
    .expect("write tagpack");
    (actors, pack)
}

/// One ether in wei.
pub const ETHER: u128 = 1_000_000_000_000_000_000;
/// The drills' thief and exchange wallets (anvil tests).
pub const THIEF: &str = "0x7e1f000000000000000000000000000000000001";
pub const EXCHANGE: &str = "0xe8c4000000000000000000000000000000000005";

/// The anvil binary: $TRIPOINT_ANVIL, else the project's install dir.
pub fn anvil_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TRIPOINT_ANVIL").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        p.exists(),
        "anvil is not installed: run scripts/setup-anvil.sh (scripts/test.sh does), or set TRIPOINT_ANVIL"
    );
    p
}

/// A local anvil node on a port the OS picked.
pub struct Anvil {
    _child: Killed,
    pub url: String,
}

impl Anvil {
    pub fn start() -> Anvil {
        let mut child = Command::new(anvil_bin())
            .args(["--host", "127.0.0.1", "--port", "0", "--accounts", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let stdout = child.stdout.take().expect("piped");
        let child = Killed(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("anvil did not report its address within 30 s");
        Anvil {
            _child: child,
            url: format!("http://{addr}"),
        }
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        let v: Value = ureq::post(&self.url)
            .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .unwrap_or_else(|e| panic!("{method}: {e}"))
            .into_json()
            .unwrap();
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    pub fn fund(&self, addr: &str, wei: u128) {
        self.call("anvil_setBalance", json!([addr, format!("0x{wei:x}")]));
        self.call("anvil_impersonateAccount", json!([addr]));
    }

    /// Send `wei` from `from` (impersonated) to `to`; anvil mines it at once. Returns the tx hash.
    pub fn send(&self, from: &str, to: &str, wei: u128) -> String {
        let h = self.call(
            "eth_sendTransaction",
            json!([{"from": from, "to": to, "value": format!("0x{wei:x}")}]),
        );
        let hash = h.as_str().unwrap().to_string();
        // Automine can still be mining when the call returns: wait for the
        // receipt, so the next transaction (or read) sees this one's effect.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self
            .call("eth_getTransactionReceipt", json!([hash]))
            .is_null()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{hash}: not mined within 30 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        hash
    }

    pub fn head(&self) -> u64 {
        let h = self.call("eth_blockNumber", json!([]));
        u64::from_str_radix(h.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}
