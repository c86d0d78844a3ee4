//! `tripoint bench watch`: the live watch of issue 13, each part beside what
//! a user without it would run, on the same input in the same run.
//!
//! * `latency`: drills on a real anvil node. A tainted mule pays a labelled
//!   exchange; the time from the block being mined (`evm_mine` with
//!   automine off) to the webhook receiving the signed `service` alert,
//!   p50/p95 over `--drills`, beside a poller's best case: `tripoint ingest
//!   eth-rpc` then `tripoint trace`, started as soon as the block is mined.
//! * `cases`: the cost of advancing `--cases` open cases by one block of
//!   `--block-transfers` transfers on a generated store of `--transfers`
//!   (the watch's own [`tripoint_watch::Tracker`]: the live walks, the
//!   alerts and their one SQLite commit), beside re-tracing every case from
//!   scratch (the trace engine in process, and `tripoint trace` per case).
//! * `labels`: `tripoint labels import` of generated GraphSense TagPacks and
//!   the memory the labels take once loaded, beside PyYAML loading the same
//!   files (`scripts/peers/tagpack_load.py`).

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tripoint_case::watch_source::WatchCases;
use tripoint_chain::{
    Amount, Asset, Chain, Position, SourceCursor, TransferGraph, TransferRecord, TransferSink,
    TxHash,
};
use tripoint_gen::utxo::XorShift;
use tripoint_store::Store;
use tripoint_trace::{trace, TraceConfig, Traversal};
use tripoint_watch::{CaseSource as _, Thresholds, Tracker, WatchCase};

use crate::error::{fail, Context as _, Result};
use crate::stats::{mib, peak_rss_bytes, peak_rss_bytes_of, percentile};
use crate::{GeneratedCsv, Peers, Tripoint, WorkDir};

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Parts to run, comma-separated: latency, cases, labels.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_delimiter = ',', default_value = "latency,cases,labels")
    )]
    pub parts: Vec<String>,
    /// Drills of the latency part (a block mined, its alert at the webhook).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 100))]
    pub drills: usize,
    /// The watch's polling interval at the head in the latency part (its default).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 200))]
    pub poll_ms: u64,
    /// Generated transfers in the store of the cases part.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10_000_000))]
    pub transfers: u64,
    /// Open cases advanced together.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1000))]
    pub cases: usize,
    /// Transfers in each new block.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 300))]
    pub block_transfers: usize,
    /// New blocks the cases are advanced by (each measured).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 20))]
    pub blocks: usize,
    /// The watch's minimum for new_hop alerts in the cases part (ppm of the
    /// taint a case's seeds paid out; 0: every newly reached address).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = tripoint_watch::DEFAULT_MIN_HOP_PPM))]
    pub min_hop_ppm: u32,
    /// Cases re-traced with `tripoint trace` child processes (the rest in process).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 20))]
    pub peer_processes: usize,
    /// Generated TagPack labels imported in the labels part.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1_000_000))]
    pub labels: u64,
    /// A tiny run of every part (3 drills, 20,000 transfers, 50 cases, 2,000 labels).
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Leave out the Python peer (PyYAML); tripoint's own peers still run.
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_peers: bool,
    /// Working directory: new or empty, kept afterwards (default: a temporary one, removed).
    #[cfg_attr(feature = "cli", arg(long))]
    pub dir: Option<PathBuf>,
    /// Also print the figures as one JSON object (last line).
    #[cfg_attr(feature = "cli", arg(long))]
    pub json: bool,
}

const ETHER: u128 = 1_000_000_000_000_000_000;
const THIEF: &str = "0x7e1f0000000000000000000000000000000000b1";
const EXCHANGE: &str = "0xe8c40000000000000000000000000000000000b5";

pub fn run(o: &Options) -> Result<()> {
    let mut o = o.clone();
    if o.smoke {
        o.drills = 3;
        o.transfers = 20_000;
        o.cases = 50;
        o.blocks = 3;
        o.peer_processes = 3;
        o.labels = 2_000;
    }
    let work = WorkDir::new(o.dir.as_deref(), "watch")?;
    let tripoint = Tripoint::current()?;
    let part = |p: &str| o.parts.iter().any(|x| x.trim() == p);
    println!(
        "== tripoint bench watch, work dir {}",
        work.path().display()
    );
    let mut out = serde_json::Map::new();
    if part("latency") {
        out.insert(
            "latency".into(),
            latency(&o, &tripoint, &work.path().join("latency"))?,
        );
    }
    if part("cases") {
        out.insert(
            "cases".into(),
            cases(&o, &tripoint, &work.path().join("cases"))?,
        );
    }
    if part("labels") {
        out.insert(
            "labels".into(),
            labels(&o, &tripoint, &work.path().join("labels"))?,
        );
    }
    if o.json {
        println!("{}", Value::Object(out));
    }
    Ok(())
}

fn p(x: &Path) -> String {
    x.display().to_string()
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

/// p50, p95 and max of seconds, sorted in place.
fn quantiles(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        percentile(v, 0.5),
        percentile(v, 0.95),
        v.last().copied().unwrap_or(f64::NAN),
    )
}

/// Run `tripoint <args>` to completion: its stdout, wall seconds and peak
/// RSS read from `/proc/<pid>/status` (VmHWM, the new image's own high-water
/// mark) every millisecond while it runs. `wait4`'s `ru_maxrss` would carry
/// this benchmark's own size into the child (Linux keeps it across the
/// spawn's exec), and this process holds a large store and a thousand walks.
fn run_polled<S: AsRef<std::ffi::OsStr>>(t: &Tripoint, args: &[S]) -> Result<crate::Measured> {
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    let started = Instant::now();
    let mut child = t
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting tripoint {}", shown.join(" ")))?;
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(
        child
            .stdout
            .take()
            .map(|x| Box::new(x) as Box<dyn Read + Send>),
    );
    let err = pipe(
        child
            .stderr
            .take()
            .map(|x| Box::new(x) as Box<dyn Read + Send>),
    );
    let mut peak = None;
    let status = loop {
        if let Some(rss) = peak_rss_bytes_of(child.id()) {
            peak = Some(peak.unwrap_or(0).max(rss));
        }
        if let Some(s) = child.try_wait()? {
            break s;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let seconds = started.elapsed().as_secs_f64();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        fail!(
            "tripoint {} failed: {}",
            shown.join(" "),
            String::from_utf8_lossy(&stderr)
        );
    }
    Ok(crate::Measured {
        stdout,
        seconds,
        peak_rss_bytes: peak,
    })
}

// ---------------------------------------------------------------- latency

/// A child process killed and reaped on drop, however the run ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The anvil binary: `$TRIPOINT_ANVIL`, else what `scripts/setup-anvil.sh`
/// installs (it prints the path; quick when already installed).
pub(crate) fn anvil_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TRIPOINT_ANVIL").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let setup = crate::locate::scripts_dir()?.join("setup-anvil.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", setup.display()))?;
    if !out.status.success() {
        fail!("{} failed", setup.display());
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    ))
}

/// A local anvil on a port the OS picked, killed on drop.
struct Anvil {
    _child: Killed,
    url: String,
}

impl Anvil {
    fn start() -> Result<Anvil> {
        let bin = anvil_bin()?;
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--accounts", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("anvil's stdout")?;
        let child = Killed(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .context("anvil did not say where it listens within 30 s")?;
        Ok(Anvil {
            _child: child,
            url: format!("http://{addr}"),
        })
    }

    fn call(&self, method: &str, params: Value) -> Result<Value> {
        let v: Value = ureq::post(&self.url)
            .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .map_err(|e| crate::BenchError::Failed(format!("anvil {method}: {e}")))?
            .into_json()?;
        if let Some(e) = v.get("error") {
            fail!("anvil {method}: {e}");
        }
        Ok(v["result"].clone())
    }

    fn fund(&self, addr: &str) -> Result<()> {
        self.call(
            "anvil_setBalance",
            json!([addr, format!("0x{:x}", 1_000_000 * ETHER)]),
        )?;
        self.call("anvil_impersonateAccount", json!([addr]))?;
        Ok(())
    }

    fn send(&self, from: &str, to: &str, wei: u128) -> Result<String> {
        let h = self.call(
            "eth_sendTransaction",
            json!([{"from": from, "to": to, "value": format!("0x{wei:x}")}]),
        )?;
        Ok(h.as_str().context("a transaction hash")?.to_string())
    }
}

/// A local HTTP receiver: every POST body with the moment it was read,
/// answered 200. Its thread ends when it is dropped.
struct Receiver {
    url: String,
    addr: std::net::SocketAddr,
    got: Arc<Mutex<Vec<(Instant, Value)>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Result<Receiver> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                if let Some(body) = read_post(conn) {
                    let at = Instant::now();
                    if let Ok(v) = serde_json::from_slice(&body) {
                        g.lock().expect("receiver lock").push((at, v));
                    }
                }
            }
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            addr,
            got,
            stop,
        })
    }

    /// When the alert of `tx_hash` of `kind` arrived, if it did.
    fn arrival(&self, tx_hash: &str, kind: &str) -> Option<Instant> {
        self.got
            .lock()
            .expect("receiver lock")
            .iter()
            .find(|(_, a)| a["tx_hash"] == tx_hash && a["kind"] == kind)
            .map(|(t, _)| *t)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Read one HTTP request's body and answer 200.
fn read_post(mut s: TcpStream) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    Some(body)
}

/// Poll `cond` every 2 ms for up to `secs`.
fn wait_for<T>(secs: u64, what: &str, mut cond: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            fail!("timed out after {secs} s waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A store with the exchange labelled (TagPack, actor in KR) and one open
/// case seeded with the thief.
fn drill_store(t: &Tripoint, dir: &Path, store: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let actors = dir.join("bench.actorpack.yaml");
    std::fs::write(
        &actors,
        "actors:\n- id: upbit\n  label: Upbit\n  jurisdictions:\n  - KR\n",
    )?;
    let pack = dir.join("exchange.yaml");
    std::fs::write(
        &pack,
        format!(
            "title: Exchange wallets\ncategory: exchange\nactor: upbit\ncurrency: ETH\n\
             lastmod: 2024-05-01\nsource: https://example.org/bench\ntags:\n\
             - address: '{EXCHANGE}'\n  label: Upbit bench\n"
        ),
    )?;
    t.run(&[
        "labels",
        "import",
        "--store",
        &p(store),
        &p(&actors),
        &p(&pack),
    ])?;
    t.run(&[
        "case",
        "new",
        "--store",
        &p(store),
        "--name",
        "drill",
        "--seed",
        THIEF,
        "--policy",
        "haircut",
    ])?;
    Ok(())
}

fn latency(o: &Options, t: &Tripoint, dir: &Path) -> Result<Value> {
    let anvil = Anvil::start()?;
    let hook = Receiver::start()?;
    let store = dir.join("watch-store");
    let peer_store = dir.join("peer-store");
    drill_store(t, dir, &store)?;
    drill_store(t, &dir.join("peer"), &peer_store)?;
    let secret = dir.join("secret");
    std::fs::write(&secret, "bench-watch-secret")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    }
    anvil.fund(THIEF)?;
    let mut watch = Killed(
        t.command(&[
            "watch",
            "--store",
            &p(&store),
            "--rpc",
            &anvil.url,
            "--webhook",
            &hook.url,
            "--webhook-secret-file",
            &p(&secret),
            "--poll-ms",
            &o.poll_ms.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("watch.err"))?)
        .spawn()
        .context("starting tripoint watch")?,
    );
    let ingest_args = [
        "ingest".to_string(),
        "--store".into(),
        p(&peer_store),
        "eth-rpc".into(),
        "--url".into(),
        anvil.url.clone(),
    ];
    let trace_args = [
        "trace".to_string(),
        "--store".into(),
        p(&peer_store),
        "--seed".into(),
        THIEF.into(),
        "--policy".into(),
        "haircut".into(),
        "--format".into(),
        "json".into(),
    ];
    println!(
        "\n-- latency: block mined -> signed alert at the webhook, {} drills on anvil (watch --poll-ms {})",
        o.drills, o.poll_ms
    );
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    let mut peer_rss = 0u64;
    let started = Instant::now();
    for i in 0..o.drills {
        let mule = format!("0x3a1e00000000000000000000000000000000{:04x}", i + 1);
        anvil.fund(&mule)?;
        // The mule gets stolen funds (one block), and the watch takes it in.
        let hop = anvil.send(THIEF, &mule, 10 * ETHER)?;
        wait_for(60, "the mule's new_hop alert", || {
            hook.arrival(&hop, "new_hop")
        })?;
        // The poller is caught up too, so it has only the drill's block to read.
        t.run(&ingest_args)?;
        // The deposit waits in the pool; the clock starts when its block is mined.
        anvil.call("evm_setAutomine", json!([false]))?;
        let deposit = anvil.send(&mule, EXCHANGE, 5 * ETHER)?;
        let mined = Instant::now();
        anvil.call("evm_mine", json!([]))?;
        anvil.call("evm_setAutomine", json!([true]))?;
        let at = wait_for(60, "the deposit's service alert", || {
            hook.arrival(&deposit, "service")
        })?;
        ours.push(at.duration_since(mined).as_secs_f64());
        // The poller's best case: ingest and trace the moment the block is there.
        let t0 = Instant::now();
        let ing = run_polled(t, &ingest_args)?;
        let tr = run_polled(t, &trace_args)?;
        let found = String::from_utf8_lossy(&tr.stdout).contains(&EXCHANGE[2..]);
        if !found {
            fail!("the poller's trace does not reach the exchange in drill {i}");
        }
        peer.push(t0.elapsed().as_secs_f64());
        peer_rss = peer_rss
            .max(ing.peak_rss_bytes.unwrap_or(0))
            .max(tr.peak_rss_bytes.unwrap_or(0));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let watch_rss = peak_rss_bytes_of(watch.0.id());
    if let Ok(Some(status)) = watch.0.try_wait() {
        fail!("tripoint watch exited early: {status}");
    }
    drop(watch);
    let (o50, o95, omax) = quantiles(&mut ours);
    let (p50, p95, pmax) = quantiles(&mut peer);
    let alerts = hook.got.lock().expect("receiver lock").len();
    println!(
        "tripoint watch          p50 {:>9}  p95 {:>9}  max {:>9}   {} alerts in {:.1} s ({:.1}/s)   peak RSS {}",
        ms(o50),
        ms(o95),
        ms(omax),
        alerts,
        elapsed,
        alerts as f64 / elapsed,
        mib(watch_rss)
    );
    println!(
        "ingest eth-rpc + trace  p50 {:>9}  p95 {:>9}  max {:>9}   (a poller's best case: started as the block is mined)   peak RSS {}",
        ms(p50),
        ms(p95),
        ms(pmax),
        mib(Some(peer_rss))
    );
    println!(
        "goal p95 <= 1 s: {}",
        if o95 <= 1.0 { "met" } else { "NOT met" }
    );
    Ok(json!({
        "drills": o.drills,
        "watch": {"p50_s": o50, "p95_s": o95, "max_s": omax, "alerts": alerts,
                  "alerts_per_s": alerts as f64 / elapsed, "peak_rss_bytes": watch_rss},
        "peer": {"p50_s": p50, "p95_s": p95, "max_s": pmax, "peak_rss_bytes": peer_rss},
    }))
}

// ------------------------------------------------------------------ cases

/// A synthetic transaction hash for the benchmark's own blocks.
fn bench_hash(n: u64) -> TxHash {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&n.to_be_bytes());
    h[8..12].copy_from_slice(b"bwch");
    TxHash(h)
}

/// CPU seconds (user + system, every thread) this process has used, and
/// its major page faults (pages read from disk, e.g. store pages the page
/// cache had dropped), so far.
fn cpu_and_faults() -> (f64, u64) {
    // SAFETY: an all-zero `rusage` is a valid value (integers and timevals).
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (s(u.ru_utime) + s(u.ru_stime), u.ru_majflt as u64)
}

/// The 1-minute load average (`/proc/loadavg`), NaN when unknown: the
/// machine is shared, so it is printed beside the per-block figures.
fn load_1min() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn cases(o: &Options, t: &Tripoint, dir: &Path) -> Result<Value> {
    let store_dir = dir.join("store");
    println!(
        "\n-- cases: {} open cases advanced by one block of {} transfers, on {} generated transfers",
        o.cases, o.block_transfers, o.transfers
    );
    let input = GeneratedCsv::write(o.transfers, &dir.join("csv"))?;
    let ingest = run_polled(t, &input.ingest_args(&store_dir))?;
    t.run(&[
        "labels",
        "import",
        "--store",
        &p(&store_dir),
        &p(&dir.join("csv/labels.csv")),
    ])?;
    println!("ingest                  {:>10.2} s", ingest.seconds);
    let mut g = Store::open(&store_dir)?;
    let n = g.transfer_count();
    let last = g.transfer(n.checked_sub(1).context("an empty store")?);
    // Seeds: random senders, as cases on a live chain start from a thief.
    let senders: Vec<u32> = (0..g.address_count() as u32)
        .filter(|&a| g.outgoing(a).next().is_some())
        .collect();
    if senders.is_empty() {
        fail!("the generated store has no sender");
    }
    let mut rng = XorShift::new(42);
    // Real cases in the store's case database (`tripoint case new`'s), which
    // the watch reads them from and keeps their alerts in.
    let case_err = |e: tripoint_case::CaseError| crate::BenchError::Failed(format!("cases: {e}"));
    let case_db = tripoint_case::open(&store_dir, None).map_err(case_err)?;
    for i in 0..o.cases {
        let case = tripoint_case::NewCase {
            name: format!("bench {i}"),
            seeds: vec![g
                .address(senders[rng.below(senders.len() as u64) as usize])
                .to_string()],
            ..tripoint_case::NewCase::default()
        }
        .validate()
        .map_err(case_err)?;
        case_db.create(&case).map_err(case_err)?;
    }
    drop(case_db);
    let mut source = WatchCases::open(&store_dir, None, None).map_err(case_err)?;
    let cases: Vec<WatchCase> = source
        .open_cases()
        .map_err(|e| crate::BenchError::Failed(format!("cases: {e}")))?;
    let mut tracker = Tracker::open(
        &store_dir,
        vec![
            tripoint_watch::outbox::CASE.to_string(),
            tripoint_watch::outbox::STDOUT.to_string(),
        ],
        Thresholds {
            min_hop_ppm: o.min_hop_ppm,
            ..Thresholds::default()
        },
    )
    .map_err(|e| crate::BenchError::Failed(format!("watch database: {e}")))?;
    let t0 = Instant::now();
    tracker
        .refresh_cases(&mut source, &g, Some(last.block))
        .map_err(|e| crate::BenchError::Failed(format!("starting the cases: {e}")))?;
    let start_s = t0.elapsed().as_secs_f64();
    let reached: usize = cases
        .iter()
        .filter_map(|c| tracker.live(&c.id))
        .map(|l| l.nodes().len())
        .sum();
    println!(
        "start-up (walks from the store, once)  {:>8.2} s   {} cases, {} reached addresses in all",
        start_s,
        tracker.case_count(),
        reached
    );
    // What the cases' state holds, by part (estimated from capacities).
    let state = tracker.heap_bytes();
    let state_total: usize = state.iter().map(|(_, n)| n).sum();
    println!(
        "  cases' state {} ({} per case): {}",
        mib(Some(state_total as u64)),
        mib(Some((state_total / tracker.case_count().max(1)) as u64)),
        state
            .iter()
            .map(|(part, n)| format!("{part} {}", mib(Some(*n as u64))))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Payers of the new blocks: half tainted (reached by some case), half any sender.
    let mut reach = std::collections::HashMap::<u32, u32>::new();
    for l in cases.iter().filter_map(|c| tracker.live(&c.id)) {
        for nd in l.nodes() {
            *reach.entry(nd.addr).or_default() += 1;
        }
    }
    let mut tainted: Vec<u32> = reach.keys().copied().collect();
    tainted.sort_unstable();
    let addresses = g.address_count() as u64;
    // How much the cases overlap: on a live chain, cases are distinct
    // thefts whose taint rarely meets; here every case starts at a random
    // sender of one generated graph.
    let overlap = reached as f64 / tainted.len().max(1) as f64;
    println!(
        "  cases' reach: {} distinct addresses ({:.1} % of the store's {}), each reached by {:.1} cases on average (max {})",
        tainted.len(),
        100.0 * tainted.len() as f64 / addresses.max(1) as f64,
        addresses,
        overlap,
        reach.values().max().copied().unwrap_or(0)
    );
    let (mut per_block, mut append_s) = (Vec::new(), Vec::new());
    let (mut walk_s, mut store_s, mut deliver_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut alerts = 0usize;
    let mut hash_no = 0u64;
    // Per block: what its time went to and what it touched (which blocks
    // are the slow ones, and why).
    let mut blocks = Vec::new();
    let load_before = load_1min();
    for b in 0..o.blocks as u64 {
        let block = last.block + 1 + b;
        let time = last.timestamp + 12 * (b as i64 + 1);
        let mut recs = Vec::with_capacity(o.block_transfers);
        for k in 0..o.block_transfers {
            let from = if k % 2 == 0 && !tainted.is_empty() {
                tainted[rng.below(tainted.len() as u64) as usize]
            } else {
                senders[rng.below(senders.len() as u64) as usize]
            };
            let to = rng.below(addresses) as u32;
            hash_no += 1;
            recs.push(TransferRecord {
                chain: Chain::Ethereum,
                block,
                timestamp: time,
                tx_hash: bench_hash(hash_no),
                tx_index: k as u32,
                position: Position::NativeValue,
                from: g.address(from),
                to: g.address(to),
                asset: Asset::Native(Chain::Ethereum),
                amount: Amount::from(1 + rng.below(ETHER as u64 / 10)),
            });
        }
        let t_append = Instant::now();
        {
            let mut app = g.appender()?;
            app.transfer_batch(&recs)?;
            app.checkpoint(&SourceCursor {
                source: "bench-watch".into(),
                position: block + 1,
            })?;
        }
        let begin = g.transfer_count();
        g = Store::open(&store_dir)?;
        append_s.push(t_append.elapsed().as_secs_f64());
        let t_adv = Instant::now();
        let (cpu0, faults0) = cpu_and_faults();
        let work = tracker
            .advance(&g, begin, block)
            .map_err(|e| crate::BenchError::Failed(format!("advancing the cases: {e}")))?;
        // What the watch does next: keep the alerts with their cases and
        // print them (here into a sink), in batches.
        let t_del = Instant::now();
        tracker
            .deliver_local(&mut source, &mut std::io::sink(), None)
            .map_err(|e| crate::BenchError::Failed(format!("delivering the alerts: {e}")))?;
        per_block.push(t_adv.elapsed().as_secs_f64());
        deliver_s.push(t_del.elapsed().as_secs_f64());
        let (cpu1, faults1) = cpu_and_faults();
        blocks.push(json!({
            "cpu_s": cpu1 - cpu0, "major_faults": faults1 - faults0,
            "block": block, "seconds": t_adv.elapsed().as_secs_f64(),
            "walk_s": work.walk.as_secs_f64(), "store_s": work.store.as_secs_f64(),
            "deliver_s": t_del.elapsed().as_secs_f64(), "alerts": work.alerts,
            "cases_walked": work.cases_walked, "case_rows": work.case_rows,
            "new_nodes": work.new_nodes, "slowest_case_s": work.slowest_case.as_secs_f64(),
            "threads": work.threads,
        }));
        alerts += work.alerts;
        walk_s.push(work.walk.as_secs_f64());
        store_s.push(work.store.as_secs_f64());
    }
    // What the alerts are: by kind, and whether any repeats a (case,
    // payee, kind) — an address alerted again and again.
    let stored = tracker
        .outbox()
        .alerts()
        .map_err(|e| crate::BenchError::Failed(format!("reading the alerts: {e}")))?;
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut distinct = std::collections::HashSet::new();
    // The new hops' taint as a share of their case's seeded ether: how
    // many are dust an analyst would not act on.
    let mut hop_ppm = [0usize; 5];
    for a in &stored {
        *kinds.entry(a.kind.clone()).or_default() += 1;
        distinct.insert((a.case_id.clone(), a.to.clone(), a.kind.clone()));
        if a.kind != "new_hop" || a.asset != "ETH" {
            continue;
        }
        let seeded = tracker
            .live(&a.case_id)
            .map_or(Amount::ZERO, |l| l.seeded(tripoint_chain::NATIVE_ASSET));
        let taint: Amount = a.taint.parse().unwrap_or(Amount::ZERO);
        let ppm = (taint.saturating_mul(Amount::from(1_000_000u32)) / seeded.max(Amount::ONE))
            .min(Amount::from(u32::MAX))
            .as_u32();
        let bucket = match ppm {
            0 => 0,
            1..=9 => 1,
            10..=99 => 2,
            100..=999 => 3,
            _ => 4,
        };
        hop_ppm[bucket] += 1;
    }
    let load_after = load_1min();
    // The blocks, slowest first.
    let mut by_time: Vec<&Value> = blocks.iter().collect();
    by_time.sort_by(|a, b| {
        b["seconds"]
            .as_f64()
            .partial_cmp(&a["seconds"].as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    println!("  blocks, slowest first: time = walks + storing + delivering; CPU time of every thread in it; cases walked, (case, row) pairs they were handed, addresses newly reached (summed over cases), the slowest case's walk, threads, store pages read from disk");
    for b in &by_time {
        let f = |k: &str| ms(b[k].as_f64().unwrap_or(0.0));
        println!(
            "    block {}: {} = {} + {} + {}; CPU {}; {} cases, {} pairs, {} new, slowest case {}, {} threads, {} major faults, {} alerts",
            b["block"], f("seconds"), f("walk_s"), f("store_s"), f("deliver_s"), f("cpu_s"),
            b["cases_walked"], b["case_rows"], b["new_nodes"], f("slowest_case_s"), b["threads"], b["major_faults"], b["alerts"]
        );
    }
    let ours_rss = peak_rss_bytes();
    let (a50, a95, amax) = quantiles(&mut per_block);
    let (ap50, _, _) = quantiles(&mut append_s);
    let (w50, w95, _) = quantiles(&mut walk_s);
    let (s50, s95, _) = quantiles(&mut store_s);
    let (d50, d95, _) = quantiles(&mut deliver_s);
    let mut cpu_s: Vec<f64> = blocks.iter().filter_map(|b| b["cpu_s"].as_f64()).collect();
    let (c50, c95, _) = quantiles(&mut cpu_s);

    // The peer: re-trace every case from scratch, as `tripoint trace` does
    // (its default traversal), on the final store.
    let t0 = Instant::now();
    let mut equal = 0usize;
    for c in &cases {
        let seeds: Vec<u32> = c.seeds.iter().filter_map(|s| g.lookup(s)).collect();
        let mut cfg = TraceConfig::new(c.policy, seeds);
        cfg.max_hops = c.max_hops;
        cfg.traversal = Traversal::Auto;
        let fresh = trace(&g, &cfg)?;
        if let Some(live) = tracker.live(&c.id) {
            let mut a: Vec<u32> = fresh.nodes.iter().map(|x| x.addr).collect();
            let mut b: Vec<u32> = live.nodes().iter().map(|x| x.addr).collect();
            a.sort_unstable();
            b.sort_unstable();
            equal += usize::from(a == b);
        }
    }
    let retrace_s = t0.elapsed().as_secs_f64();
    let k = o.peer_processes.min(cases.len());
    let mut child_s = 0.0;
    let mut child_rss = 0u64;
    for c in cases.iter().take(k) {
        let m = run_polled(
            t,
            &[
                "trace".to_string(),
                "--store".into(),
                p(&store_dir),
                "--seed".into(),
                c.seeds[0].to_string(),
                "--policy".into(),
                "haircut".into(),
                "--format".into(),
                "json".into(),
            ],
        )?;
        child_s += m.seconds;
        child_rss = child_rss.max(m.peak_rss_bytes.unwrap_or(0));
    }
    let per_child = child_s / k.max(1) as f64;
    let tps = o.block_transfers as f64 / a50;
    println!(
        "tripoint watch (Tracker::advance)  p50 {:>9}  p95 {:>9}  max {:>9}   {:.0} transfers/s, {:.0} case-blocks/s   {} alerts in {} blocks   peak RSS {}",
        ms(a50),
        ms(a95),
        ms(amax),
        tps,
        o.cases as f64 / a50,
        alerts,
        o.blocks,
        mib(ours_rss)
    );
    println!(
        "  load average (1 min) before / after the blocks {load_before:.2} / {load_after:.2}; CPU time per block p50 {} p95 {}",
        ms(c50),
        ms(c95)
    );
    println!(
        "  of which walks + alert derivation p50 {}  p95 {};  storing alerts, deliveries, watermarks (one transaction) p50 {}  p95 {};  keeping them with their cases and printing them p50 {}  p95 {}",
        ms(w50),
        ms(w95),
        ms(s50),
        ms(s95),
        ms(d50),
        ms(d95)
    );
    println!(
        "  alerts per block {:.0} ({:.2} per case): {}; distinct (case, payee, kind) {} of {}",
        alerts as f64 / o.blocks.max(1) as f64,
        alerts as f64 / (o.blocks.max(1) * o.cases.max(1)) as f64,
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        distinct.len(),
        stored.len()
    );
    println!(
        "  new_hop taint / case's seeded ether (--min-hop-ppm {}): <1 ppm {}, 1-9 ppm {}, 10-99 ppm {}, 100-999 ppm {}, >=1000 ppm {}",
        o.min_hop_ppm, hop_ppm[0], hop_ppm[1], hop_ppm[2], hop_ppm[3], hop_ppm[4]
    );
    println!(
        "  (appending the block and reopening the store, before: p50 {})",
        ms(ap50)
    );
    println!(
        "re-trace every case (engine)       {:>9} per block   {} cases, {:.2} ms each   live = fresh trace for {equal}/{} cases",
        format!("{:.2} s", retrace_s),
        cases.len(),
        retrace_s * 1e3 / cases.len().max(1) as f64,
        cases.len()
    );
    println!(
        "tripoint trace per case (process)  {:>9} per block   ({k} runs of {:.1} ms, times {} cases)   peak RSS {}",
        format!("{:.2} s", per_child * cases.len() as f64),
        per_child * 1e3,
        cases.len(),
        mib(Some(child_rss))
    );
    println!(
        "ratio re-trace/watch    {:>10.0}x   goal <= 50 ms per block: {}",
        retrace_s / a50.max(1e-9),
        if a95 <= 0.050 { "met" } else { "NOT met" }
    );
    Ok(json!({
        "transfers": n, "cases": o.cases, "block_transfers": o.block_transfers, "blocks": o.blocks,
        "start_s": start_s, "reached": reached,
        "state_bytes": state_total,
        "state_bytes_by_part": state.iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(), "distinct_reached": tainted.len(),
        "min_hop_ppm": o.min_hop_ppm,
        "watch": {"p50_s": a50, "p95_s": a95, "max_s": amax, "alerts": alerts,
                  "transfers_per_s": tps, "peak_rss_bytes": ours_rss,
                  "walk_p50_s": w50, "store_p50_s": s50, "deliver_p50_s": d50,
                  "cpu_p50_s": c50, "cpu_p95_s": c95, "load_avg_before_after": [load_before, load_after], "alert_kinds": kinds,
                  "distinct_case_payee_kind": distinct.len(), "new_hop_ppm_buckets": hop_ppm},
        "blocks": blocks,
        "retrace": {"seconds": retrace_s, "equal": equal},
        "trace_process": {"runs": k, "seconds_each": per_child, "peak_rss_bytes": child_rss},
    }))
}

// ----------------------------------------------------------------- labels

/// `n` labels as GraphSense TagPacks of 50,000 tags each, plus one actor
/// pack; deterministic. Returns the files.
fn write_tagpacks(n: u64, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let cats = [
        "exchange", "mixer", "defi_dex", "bridge", "market", "wallet",
    ];
    let actors = dir.join("actors.actorpack.yaml");
    let mut a = String::from("actors:\n");
    for i in 0..50 {
        a.push_str(&format!(
            "- id: actor{i}\n  label: Actor {i}\n  jurisdictions:\n  - {}\n",
            ["US", "JP", "KR", "SC", "KY"][i % 5]
        ));
    }
    std::fs::write(&actors, a)?;
    let mut files = vec![actors];
    let mut rng = XorShift::new(7);
    let per_file = 50_000u64;
    let mut i = 0u64;
    let mut f = 0;
    while i < n {
        let path = dir.join(format!("pack{f:04}.yaml"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(
            w,
            "title: Generated pack {f}\ncreator: tripoint bench\ncurrency: ETH\n\
             lastmod: 2024-05-01\nsource: https://example.org/bench/{f}\ntags:"
        )?;
        for _ in 0..per_file.min(n - i) {
            let addr: String = (0..20)
                .map(|_| format!("{:02x}", rng.below(256) as u8))
                .collect();
            writeln!(
                w,
                "- address: '0x{addr}'\n  label: Service {i}\n  category: {}\n  actor: actor{}",
                cats[(i % 6) as usize],
                i % 50
            )?;
            i += 1;
        }
        w.flush()?;
        files.push(path);
        f += 1;
    }
    Ok(files)
}

fn labels(o: &Options, t: &Tripoint, dir: &Path) -> Result<Value> {
    println!(
        "\n-- labels: {} generated TagPack labels (50 actors)",
        o.labels
    );
    let files = write_tagpacks(o.labels, &dir.join("packs"))?;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let store = dir.join("store");
    let mut args = vec![
        "labels".to_string(),
        "import".into(),
        "--store".into(),
        p(&store),
    ];
    args.extend(files.iter().map(|f| p(f)));
    let first = run_polled(t, &args)?;
    let again = run_polled(t, &args)?;
    let added = String::from_utf8_lossy(&first.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("added ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .context("labels import printed no count")?;
    let stored_bytes: u64 = std::fs::read_dir(&store)?
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("labels-"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    // Loaded labels: `labels show` builds the whole index; an empty store's
    // `labels show` is the same process without them.
    let empty = dir.join("empty");
    Store::open_or_create(&empty)?;
    let probe = "0x0000000000000000000000000000000000000001";
    let base = run_polled(t, &["labels", "show", "--store", &p(&empty), probe])?;
    let shown = run_polled(t, &["labels", "show", "--store", &p(&store), probe])?;
    let index = shown
        .peak_rss_bytes
        .zip(base.peak_rss_bytes)
        .map(|(a, b)| a.saturating_sub(b));
    println!(
        "tripoint labels import  {:>8.2} s  {:>10.0} labels/s  ({added} added; input {:.0} MiB)   peak RSS {}",
        first.seconds,
        o.labels as f64 / first.seconds,
        bytes as f64 / 1048576.0,
        mib(first.peak_rss_bytes)
    );
    println!(
        "  re-import (idempotent) {:>7.2} s  {:>10.0} labels/s   peak RSS {}",
        again.seconds,
        o.labels as f64 / again.seconds,
        mib(again.peak_rss_bytes)
    );
    println!(
        "  labels in memory     {:>9}   ({:.0} bytes a label; `labels show` {:.0} ms, peak RSS {})   on disk {:.0} MiB",
        mib(index),
        index.unwrap_or(0) as f64 / o.labels.max(1) as f64,
        shown.seconds * 1e3,
        mib(shown.peak_rss_bytes),
        stored_bytes as f64 / 1048576.0
    );
    let mut out = json!({
        "labels": o.labels, "added": added, "input_bytes": bytes,
        "import": {"seconds": first.seconds, "per_s": o.labels as f64 / first.seconds,
                   "peak_rss_bytes": first.peak_rss_bytes},
        "reimport": {"seconds": again.seconds, "peak_rss_bytes": again.peak_rss_bytes},
        "index_bytes": index, "stored_bytes": stored_bytes,
    });
    if !o.no_peers {
        let mut a = vec![];
        a.extend(files.iter().map(|f| p(f)));
        match Peers::find().and_then(|peers| peers.run_json("tagpack_load.py", &a)) {
            Ok(v) => {
                let s = v["seconds"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "pyyaml (CSafeLoader)    {:>8.2} s  {:>10.0} labels/s  ({} tags into a dict)   peak RSS {}   ratio {:.1}x",
                    s,
                    v["tags"].as_f64().unwrap_or(0.0) / s,
                    v["tags"],
                    mib(v["peak_rss_bytes"].as_u64()),
                    s / first.seconds
                );
                out["peer"] = v;
            }
            Err(e) => println!("pyyaml peer unavailable: {e}"),
        }
    }
    Ok(out)
}
