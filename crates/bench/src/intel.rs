//! `tripoint bench intel`: TAXII GET and POST throughput and latency of
//! `tripoint serve` (SQLite, and PostgreSQL when given) beside medallion and
//! OpenTAXII, all driven by the same load generator ([`crate::loadgen`]) in
//! the same run.

use std::path::{Path, PathBuf};

use tripoint_taxii::config::{Collection, Config};
use tripoint_taxii::service::{open_store, CreatorPolicy, Exchange};

use crate::error::{fail, Context as _, Result};
use crate::loadgen::{LoadResult, LoadSpec};
use crate::stats::{peak_rss_bytes_of, progress};
use crate::{Peers, Tripoint, WorkDir};

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Small sizes (2,000 generated objects, 1,000 posted, 200 GETs) that finish in seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Objects in the generated collection (default 100,000).
    #[cfg_attr(feature = "cli", arg(long))]
    pub generated: Option<usize>,
    /// Objects to POST, 100 per envelope (default 10,000).
    #[cfg_attr(feature = "cli", arg(long))]
    pub post: Option<usize>,
    /// GET requests per scenario and server (default 2,000).
    #[cfg_attr(feature = "cli", arg(long))]
    pub requests: Option<usize>,
    /// Concurrent client connections of the GET scenarios, one run per value (e.g. 4,16); POST and the wrong-password flood use the first.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_delimiter = ',', default_value = "4,16")
    )]
    pub concurrency: Vec<usize>,
    /// Longest time spent on one scenario for one server, in seconds (slow peers stop early).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 30))]
    pub max_secs: u64,
    /// PostgreSQL server for the tripoint/PostgreSQL run (a fresh schema is used); skipped when unset.
    #[cfg_attr(feature = "cli", arg(long, env = "TRIPOINT_TEST_PG_URL"))]
    pub pg_url: Option<String>,
    /// Python with medallion 3.0.0 and OpenTAXII 0.9.3 (default: $TRIPOINT_PYTHON, else the project's venv set up by scripts/setup-python.sh --bench).
    #[cfg_attr(feature = "cli", arg(long, env = "TRIPOINT_PYTHON"))]
    pub python: Option<PathBuf>,
}

struct Target {
    name: String,
    child: std::process::Child,
    base: String,
    authorization: String,
    collections: [String; 3],
    /// A cheap authenticated GET path (the legitimate requests of the
    /// wrong-password flood): the ATT&CK collection resource, or where a
    /// server cannot answer that, its API root.
    cheap: String,
    /// tripoint targets: the configuration (for reading the audit) and
    /// partner `us`'s Basic login (for a federation link to this server).
    config: Option<PathBuf>,
    login: Option<(String, String)>,
}

impl Drop for Target {
    /// SIGTERM first, so a server with worker processes (gunicorn) stops
    /// them too; SIGKILL if it is still running after 10 s.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: `pid` is our own child, not yet reaped (we hold it).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    /// The server process and its child processes (gunicorn's workers).
    fn pids(&self) -> Vec<u32> {
        let pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        std::iter::once(pid)
            .chain(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            )
            .collect()
    }

    /// Peak RSS (VmHWM) of the server process plus its child processes
    /// (gunicorn's workers), while it runs.
    fn peak_rss_mb(&self) -> Option<f64> {
        let pids = self.pids();
        let own = peak_rss_bytes_of(pids[0])?;
        let children: u64 = pids[1..].iter().filter_map(|&p| peak_rss_bytes_of(p)).sum();
        Some((own + children) as f64 / 1048576.0)
    }

    /// CPU time (user + system) the server and its worker processes have
    /// used so far, in seconds: what a request costs the server, whatever
    /// else runs on the machine.
    fn cpu_seconds(&self) -> Option<f64> {
        let pids = self.pids();
        cpu_seconds_of(pids[0])?;
        Some(pids.into_iter().filter_map(cpu_seconds_of).sum())
    }
}

/// utime + stime of a running process (`/proc/PID/stat`), in seconds.
fn cpu_seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_sec > 0).then(|| ticks as f64 / per_sec as f64)
}

/// The 1-minute load average (`/proc/loadavg`): how busy the machine was
/// around a measurement (it is shared).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

const BENCH_COLLECTIONS: [(&str, &str); 3] = [
    ("6c1f3b7e-0a2d-4c9e-8f11-bbbbbbbb0001", "attack"),
    ("6c1f3b7e-0a2d-4c9e-8f11-bbbbbbbb0002", "generated"),
    ("6c1f3b7e-0a2d-4c9e-8f11-bbbbbbbb0003", "post"),
];

fn basic(user: &str, password: &str) -> String {
    tripoint_taxii::auth::basic_authorization(user, password)
}

fn wait_ready(
    base: &str,
    authorization: &str,
    child: &mut std::process::Child,
    what: &str,
) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            fail!("{what} exited while starting: {status}");
        }
        let r = ureq_get(&format!("{base}/taxii2/"), authorization);
        if r.is_ok() {
            return Ok(());
        }
        if start.elapsed() > std::time::Duration::from_secs(300) {
            fail!("{what} did not answer at {base} within 300 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn ureq_get(url: &str, authorization: &str) -> std::result::Result<(), String> {
    let spec = LoadSpec {
        method: "GET",
        url: url.to_string(),
        authorization: authorization.to_string(),
        bodies: std::sync::Arc::new(vec![]),
        requests: 1,
        concurrency: 1,
        max_duration: std::time::Duration::from_secs(5),
        warmup_url: None,
        request_timeout: std::time::Duration::from_secs(5),
    };
    let r = crate::loadgen::run(&spec);
    if r.ok == 1 {
        Ok(())
    } else {
        Err(r.first_error.unwrap_or_default())
    }
}

/// Start `tripoint serve` over a store loaded with the three data sets.
fn start_tripoint(
    name: &str,
    dir: &Path,
    storage: &str,
    data: &[&[serde_json::Value]; 2],
) -> Result<Target> {
    let (mut cfg, secrets) = Config::trilateral(storage)?;
    cfg.api_roots[0].path = "bench".into();
    cfg.default_api_root = Some("bench".into());
    cfg.max_content_length = 100 * 1024 * 1024;
    cfg.collections = BENCH_COLLECTIONS
        .iter()
        .map(|(id, alias)| Collection {
            id: id.to_string(),
            api_root: "bench".into(),
            title: alias.to_string(),
            description: None,
            alias: Some(alias.to_string()),
            read: vec!["us".into()],
            write: vec!["us".into()],
            cleared_amber_strict: vec![],
            cleared_red: vec![],
        })
        .collect();
    let config = dir.join(format!("{name}.toml"));
    cfg.save(&config)?;
    {
        let loaded = Config::load(&config)?;
        let store = open_store(&loaded, &config)
            .with_context(|| format!("opening storage `{}`", loaded.storage))?;
        let ex = Exchange::new(store, loaded, None);
        let policy = CreatorPolicy::Preserve {
            fallback: tripoint_stix::content::tripoint_identity_id(),
        };
        for (objects, (id, alias)) in data.iter().zip(BENCH_COLLECTIONS) {
            let bar = progress(objects.len() as u64, &format!("{name}: {alias}"));
            for chunk in objects.chunks(5000) {
                let report = ex.ingest(id, chunk.to_vec(), &policy)?;
                if let Some(f) = report.failures.first() {
                    fail!(
                        "loading {alias} into {name}: {} failed, e.g. {}: {}",
                        report.failures.len(),
                        f.0,
                        f.2
                    );
                }
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
        }
        ex.flush_audit();
    }
    let mut child = Tripoint::current()?
        .command(&["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .context("starting tripoint serve")?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().context("stdout")?),
        &mut line,
    )?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|u| u.strip_suffix("/taxii2/"))
        .with_context(|| format!("unexpected first line from tripoint serve: {line:?}"))?
        .to_string();
    let us = &secrets[0];
    Ok(Target {
        name: name.to_string(),
        child,
        base,
        authorization: basic(&us.username, &us.password),
        collections: BENCH_COLLECTIONS.map(|(id, _)| format!("/bench/collections/{id}/")),
        cheap: format!("/bench/collections/{}/", BENCH_COLLECTIONS[0].0),
        config: Some(config),
        login: Some((us.username.clone(), us.password.clone())),
    })
}

/// Start medallion 3.0.0 (memory backend) over the same data.
fn start_medallion(python: &Path, dir: &Path, data: &[&[serde_json::Value]; 2]) -> Result<Target> {
    use serde_json::json;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let added = "2026-01-01T00:00:00.000000Z";
    let collections: Vec<serde_json::Value> = BENCH_COLLECTIONS
        .iter()
        .enumerate()
        .map(|(i, (id, alias))| {
            let objects: &[serde_json::Value] = data.get(i).copied().unwrap_or(&[]);
            let manifest: Vec<serde_json::Value> = objects
                .iter()
                .map(|o| {
                    json!({
                        "id": o["id"],
                        "date_added": added,
                        "version": o.get("modified").or_else(|| o.get("created")).cloned().unwrap_or(json!(added)),
                        "media_type": "application/stix+json;version=2.1",
                    })
                })
                .collect();
            json!({
                "id": id, "title": alias, "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": objects, "manifest": manifest,
            })
        })
        .collect();
    let db = json!({
        "/discovery": {"title": "medallion bench", "default": format!("{base}/bench/"), "api_roots": [format!("{base}/bench/")]},
        "bench": {
            "information": {"title": "bench", "versions": ["application/taxii+json;version=2.1"], "max_content_length": 104857600},
            "status": [],
            "collections": collections,
        }
    });
    let db_path = dir.join("medallion-data.json");
    std::fs::write(&db_path, serde_json::to_vec(&db)?)?;
    let password = tripoint_taxii::config::random_secret();
    let config = json!({
        // Short session timeout: medallion keeps the rest of every result set for `next`.
        "backend": {"module_class": "MemoryBackend", "module": "medallion.backends.memory_backend",
                    "filename": db_path, "session_timeout": 2, "check_interval": 1},
        "users": {"bench": password},
        "taxii": {"max_page_size": 100},
    });
    let config_path = dir.join("medallion.json");
    std::fs::write(&config_path, serde_json::to_vec(&config)?)?;
    let mut child = std::process::Command::new(python)
        .args([
            "-m",
            "medallion.scripts.run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "ERROR",
        ])
        .arg(&config_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting medallion with {}", python.display()))?;
    let authorization = basic("bench", &password);
    wait_ready(&base, &authorization, &mut child, "medallion")?;
    Ok(Target {
        name: "medallion-memory".into(),
        child,
        base,
        authorization,
        collections: BENCH_COLLECTIONS.map(|(id, _)| format!("/bench/collections/{id}/")),
        cheap: format!("/bench/collections/{}/", BENCH_COLLECTIONS[0].0),
        config: None,
        login: None,
    })
}

/// Start OpenTAXII 0.9.3 (SQLite, gunicorn with one worker per core) over
/// the same data, by `scripts/peers/opentaxii_serve.py`. Its clients use
/// the JWT bearer token OpenTAXII issues for the account (its own fast path:
/// Basic makes it hash the password on every request).
fn start_opentaxii(peers: &Peers, dir: &Path, data: &[&[serde_json::Value]; 2]) -> Result<Target> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let work = dir.join("opentaxii");
    std::fs::create_dir_all(&work)?;
    let mut args: Vec<String> = Vec::new();
    for (i, (id, alias)) in BENCH_COLLECTIONS.iter().enumerate() {
        let objects: &[serde_json::Value] = data.get(i).copied().unwrap_or(&[]);
        let file = work.join(format!("{alias}.json"));
        std::fs::write(&file, serde_json::to_vec(objects)?)?;
        args.push("--collection".into());
        args.push(format!("{id}:{alias}:{}", file.display()));
    }
    let password = tripoint_taxii::config::random_secret();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let log = work.join("opentaxii.log");
    let script = peers.script("opentaxii_serve.py");
    let mut child = std::process::Command::new(peers.python())
        .arg(&script)
        .arg("--work")
        .arg(&work)
        .args(["--port", &port.to_string(), "--password", &password])
        .args(["--workers", &workers.to_string()])
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("starting {}", script.display()))?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().context("stdout")?),
        &mut line,
    )?;
    let started: serde_json::Value = match serde_json::from_str(line.trim()) {
        Ok(v) => v,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            fail!(
                "{} did not start: {}",
                script.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
    };
    let mut target = Target {
        name: "opentaxii-sqlite".into(),
        child,
        base,
        authorization: format!(
            "Bearer {}",
            started["token"]
                .as_str()
                .context("no token from opentaxii_serve.py")?
        ),
        collections: [String::new(), String::new(), String::new()],
        cheap: String::new(),
        config: None,
        login: None,
    };
    let root = started["api_root"]
        .as_str()
        .context("no api_root from opentaxii_serve.py")?;
    target.collections =
        BENCH_COLLECTIONS.map(|(id, _)| format!("/taxii2/{root}/collections/{id}/"));
    // OpenTAXII 0.9.3 answers its collection resource with a 500 (a UUID it
    // cannot serialise to JSON); its API root is the cheap GET instead.
    target.cheap = format!("/taxii2/{root}/");
    wait_ready(
        &target.base,
        &target.authorization,
        &mut target.child,
        "OpenTAXII",
    )?;
    Ok(target)
}

struct Measured {
    scenario: &'static str,
    target: String,
    /// Client connections.
    connections: usize,
    result: LoadResult,
    /// Server CPU time (its worker processes included) per successful
    /// request, in milliseconds.
    cpu_ms: Option<f64>,
}

pub fn run(args: &Options) -> Result<()> {
    use crate::loadgen::run as load;
    let n_generated = args
        .generated
        .unwrap_or(if args.smoke { 2_000 } else { 100_000 });
    let n_post = args.post.unwrap_or(if args.smoke { 1_000 } else { 10_000 });
    let n_requests = args
        .requests
        .unwrap_or(if args.smoke { 200 } else { 2_000 });
    let max_duration = std::time::Duration::from_secs(if args.smoke {
        args.max_secs.min(5)
    } else {
        args.max_secs
    });
    // Slow peers may take long on one request; past this it counts as an error.
    // (medallion needs ~30 s for one ATT&CK page on a loaded 2-core machine, and
    // its 100,000-object page is quadratic, so the full run waits up to 3 minutes;
    // the smoke run only shows that every server answers.)
    let request_timeout = std::time::Duration::from_secs(if args.smoke {
        30
    } else {
        (args.max_secs * 3).max(180)
    });
    let us_identity = tripoint_stix::content::partner_identity_id("us");

    let attack: Vec<serde_json::Value> = match tripoint_shared_data::locate()
        .map(|d| d.join("intel/mitre-attack-dprk/dprk-attack-v18.1.stix21.json"))
        .filter(|p| p.is_file())
    {
        Some(p) => tripoint_stix::import::parse_bundle_or_envelope(&std::fs::read(&p)?)
            .with_context(|| p.display().to_string())?,
        None => {
            eprintln!("ATT&CK bundle not found (../shared/data): using 2,165 generated objects in its place");
            tripoint_stix::content::synthetic_objects(11, 2165, &us_identity)
        }
    };
    let generated = tripoint_stix::content::synthetic_objects(1, n_generated, &us_identity);
    let to_post = tripoint_stix::content::synthetic_objects(2, n_post, &us_identity);
    let bodies: Vec<String> = to_post
        .chunks(100)
        .map(|c| serde_json::json!({ "objects": c }).to_string())
        .collect();
    let bodies = std::sync::Arc::new(bodies);
    let data: [&[serde_json::Value]; 2] = [&attack, &generated];
    let work = WorkDir::new(None, "intel")?;

    let levels: Vec<usize> = {
        let mut v: Vec<usize> = args.concurrency.iter().map(|&c| c.max(1)).collect();
        v.dedup();
        if v.is_empty() {
            v.push(4);
        }
        v
    };
    let first_level = levels[0];
    println!(
        "tripoint bench intel: ATT&CK collection {} objects, generated collection {} objects, POST {} objects in {} envelopes; GETs with {} client connections, POST and the flood with {first_level}",
        attack.len(),
        generated.len(),
        to_post.len(),
        bodies.len(),
        levels.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" and "),
    );
    let peers = match &args.python {
        Some(p) => Peers::with_python(p.clone()),
        None => Peers::find(),
    };
    // (name, is a peer, how to start it): a peer that cannot start is
    // reported as unavailable and the run goes on without it.
    type Start<'a> = Box<dyn FnOnce() -> Result<Target> + 'a>;
    let mut targets: Vec<(&str, bool, Start)> = Vec::new();
    let d = work.path().to_path_buf();
    targets.push((
        "tripoint-sqlite",
        false,
        Box::new({
            let d = d.clone();
            move || start_tripoint("tripoint-sqlite", &d, "tripoint-sqlite.db", &data)
        }),
    ));
    match &args.pg_url {
        #[cfg(not(feature = "postgres"))]
        Some(_) => eprintln!("PostgreSQL run skipped: this build has no PostgreSQL support (cargo feature `postgres`)"),
        #[cfg(feature = "postgres")]
        Some(url) => {
            let url = tripoint_taxii::store::postgres_fresh_schema(url, "bench")?;
            let d = d.clone();
            targets.push((
                "tripoint-postgres",
                false,
                Box::new(move || start_tripoint("tripoint-postgres", &d, &url, &data)),
            ));
        }
        None => eprintln!("PostgreSQL run skipped: pass --pg-url or set TRIPOINT_TEST_PG_URL (eval \"$(scripts/pg.sh start)\")"),
    }
    let mut unavailable: Vec<String> = Vec::new();
    match &peers {
        Err(e) => {
            for peer in [MEDALLION, OPENTAXII] {
                unavailable.push(format!("{peer}: no Python with the peers ({e})"));
            }
        }
        Ok(peers) => {
            let has = |check: &str| {
                std::process::Command::new(peers.python())
                    .args(["-c", check])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false)
            };
            if has("import medallion, sys; sys.exit(0 if medallion.__version__ == '3.0.0' else 1)")
            {
                let d = d.clone();
                let python = peers.python().to_path_buf();
                targets.push((
                    MEDALLION,
                    true,
                    Box::new(move || start_medallion(&python, &d, &data)),
                ));
            } else {
                unavailable.push(format!(
                    "{MEDALLION}: medallion 3.0.0 not importable with {} (scripts/setup-python.sh --bench installs it)",
                    peers.python().display()
                ));
            }
            if has("import gunicorn, opentaxii, sys; sys.exit(0 if opentaxii.__version__ == '0.9.3' else 1)") {
                let d = d.clone();
                targets.push((
                    OPENTAXII,
                    true,
                    Box::new(move || start_opentaxii(peers, &d, &data)),
                ));
            } else {
                unavailable.push(format!(
                    "{OPENTAXII}: OpenTAXII 0.9.3 and gunicorn not importable with {} (scripts/setup-python.sh --bench installs them)",
                    peers.python().display()
                ));
            }
        }
    }
    for u in &unavailable {
        eprintln!("peer unavailable: {u}");
    }

    let mut measured: Vec<Measured> = Vec::new();
    let mut memory: Vec<(String, Option<f64>)> = Vec::new();
    let mut flood_refused: Vec<(String, usize, std::time::Duration)> = Vec::new();
    let mut audits: Vec<(String, AuditBytes)> = Vec::new();
    let mut syncs: Vec<SyncTiming> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    // (server, 1-minute load average when its measurements began and ended)
    let mut loads: Vec<(String, Option<f64>, Option<f64>)> = Vec::new();
    for (label, is_peer, start) in targets {
        let target = match start() {
            Ok(t) => t,
            Err(e) if is_peer => {
                eprintln!("peer unavailable: {label}: {e}");
                unavailable.push(format!("{label}: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let load_at_start = load_average();
        // medallion takes tens of seconds per ATT&CK page: more connections
        // would only queue on it (and keep its threads busy long after).
        let target_levels: &[usize] = if target.name == MEDALLION {
            if levels.len() > 1 {
                notes.push(format!(
                    "{MEDALLION}: GETs measured with {first_level} connections only (one ATT&CK page takes it tens of seconds)"
                ));
            }
            &levels[..1]
        } else {
            &levels
        };
        let mut scenarios: Vec<(&'static str, &'static str, String, usize, usize)> = Vec::new();
        for &c in target_levels {
            scenarios.push((
                "GET attack page (limit 100)",
                "GET",
                format!("{}{}objects/?limit=100", target.base, target.collections[0]),
                n_requests,
                c,
            ));
            scenarios.push((
                "GET generated page (limit 100)",
                "GET",
                format!("{}{}objects/?limit=100", target.base, target.collections[1]),
                n_requests,
                c,
            ));
        }
        scenarios.push((
            "POST envelope of 100 objects",
            "POST",
            format!("{}{}objects/", target.base, target.collections[2]),
            bodies.len(),
            first_level,
        ));
        for (scenario, method, url, requests, connections) in scenarios {
            let spec = LoadSpec {
                method,
                url,
                authorization: target.authorization.clone(),
                bodies: if method == "POST" {
                    bodies.clone()
                } else {
                    std::sync::Arc::new(vec![])
                },
                requests,
                concurrency: connections,
                max_duration,
                warmup_url: Some(format!("{}/taxii2/", target.base)),
                request_timeout,
            };
            let cpu_before = target.cpu_seconds();
            let result = load(&spec);
            let cpu_ms = cpu_per_request(cpu_before, target.cpu_seconds(), result.ok);
            if result.ok == 0 && result.errors > 0 {
                eprintln!(
                    "{} / {scenario}: no request succeeded (timeout {} s; {} errors, e.g. {})",
                    target.name,
                    request_timeout.as_secs(),
                    result.errors,
                    result.first_error.as_deref().unwrap_or("?")
                );
            } else if result.errors > 0 {
                eprintln!(
                    "{} / {scenario}: {} errors, e.g. {}",
                    target.name,
                    result.errors,
                    result.first_error.as_deref().unwrap_or("?")
                );
            }
            measured.push(Measured {
                scenario,
                target: target.name.clone(),
                connections,
                result,
                cpu_ms,
            });
        }
        // Legitimate requests while 8 connections send wrong passwords (the
        // argon2 and failure-limit path). The legitimate credential is
        // verified first, as a running client's would be.
        {
            let scenario = "GET collection, wrong-pw flood";
            let url = format!("{}{}", target.base, target.cheap);
            let _ = ureq_get(&url, &target.authorization);
            let flood = LoadSpec {
                method: "GET",
                url: url.clone(),
                authorization: basic("us", "not-the-password"),
                bodies: std::sync::Arc::new(vec![]),
                requests: usize::MAX,
                concurrency: 8,
                max_duration,
                warmup_url: None,
                request_timeout,
            };
            let legit = LoadSpec {
                method: "GET",
                url,
                authorization: target.authorization.clone(),
                bodies: std::sync::Arc::new(vec![]),
                requests: n_requests,
                concurrency: first_level,
                max_duration,
                warmup_url: None,
                request_timeout,
            };
            let cpu_before = target.cpu_seconds();
            let (result, refused) = std::thread::scope(|s| {
                let flood = s.spawn(|| load(&flood));
                let result = load(&legit);
                (result, flood.join().map(|r| r.errors).unwrap_or(0))
            });
            // The server's CPU time here includes the flood's.
            let cpu_ms = cpu_per_request(cpu_before, target.cpu_seconds(), result.ok + refused);
            flood_refused.push((target.name.clone(), refused, max_duration));
            measured.push(Measured {
                scenario,
                target: target.name.clone(),
                connections: first_level,
                result,
                cpu_ms,
            });
        }
        if let Some(config) = &target.config {
            audits.push((target.name.clone(), audit_bytes(config)?));
        }
        if let (Some(login), Some(_)) = (&target.login, &target.config) {
            syncs.push(sync_timing(&target, login, &d)?);
        }
        memory.push((target.name.clone(), target.peak_rss_mb()));
        loads.push((target.name.clone(), load_at_start, load_average()));
    }

    println!();
    println!(
        "{:<32} {:<18} {:>5} {:>8} {:>10} {:>9} {:>9} {:>7} {:>11}",
        "scenario",
        "server",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "cpu ms/req"
    );
    for m in &measured {
        println!(
            "{:<32} {:<18} {:>5} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>7} {:>11}",
            m.scenario,
            m.target,
            m.connections,
            m.result.ok,
            m.result.requests_per_sec(),
            m.result.percentile_ms(50.0),
            m.result.percentile_ms(99.0),
            m.result.errors,
            m.cpu_ms.map_or("n/a".into(), |c| format!("{c:.3}"))
        );
    }
    println!("(cpu ms/req: the server's CPU time, worker processes included, per successful request; under the flood, per request answered, refusals included)");
    println!();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fmt_load = |l: &Option<f64>| l.map_or("n/a".into(), |l| format!("{l:.1}"));
    println!(
        "machine: {cores} cores shared with other work; 1-minute load average at the start and end of each server's run: {}",
        loads
            .iter()
            .map(|(name, a, b)| format!("{name} {} -> {}", fmt_load(a), fmt_load(b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, mb) in &memory {
        match mb {
            Some(mb) => println!("peak RSS {name}: {mb:.0} MB"),
            None => println!("peak RSS {name}: n/a"),
        }
    }
    for u in &unavailable {
        println!("peer unavailable: {u}");
    }
    for n in &notes {
        println!("note: {n}");
    }
    println!();
    for line in ratio_lines(&measured, request_timeout) {
        println!("{line}");
    }
    println!();
    for (name, refused, secs) in &flood_refused {
        println!(
            "wrong-password flood on {name}: {refused} refused requests in {:.0} s (8 connections)",
            secs.as_secs_f64()
        );
    }
    for m in measured.iter().filter(|m| m.scenario.contains("wrong-pw")) {
        println!(
            "legitimate p99 under the flood, {}: {:.2} ms (goal < 20 ms)",
            m.target,
            m.result.percentile_ms(99.0)
        );
    }
    for (name, a) in &audits {
        println!(
            "audit {name}: {} entries, {:.0} bytes/request, {:.2} bytes/object served over {} read pages ({} objects), largest entry {} bytes (goals: <= 16 bytes/object, <= 1 KB/request; column values)",
            a.entries, a.per_request(), a.per_object(), a.pages, a.served, a.largest
        );
    }
    for t in &syncs {
        println!(
            "sync {} -> fresh tripoint (SQLite), ATT&CK collection: {} objects, {} stored, {} requests, {:.2} s ({:.0} objects/s); re-sync (no-op): {} requests, {:.3} s",
            t.source, t.objects, t.stored, t.requests, t.seconds, t.objects as f64 / t.seconds.max(1e-9), t.resync_requests, t.resync_seconds
        );
    }
    if !syncs.is_empty() {
        println!("sync peer: not measured — medallion serves one ATT&CK page in tens of seconds (see the GET figures), so a medallion-to-tripoint sync would time the peer's page, not the sync");
    }
    for m in measured
        .iter()
        .filter(|m| m.target == "tripoint-sqlite" && m.scenario.starts_with("GET generated"))
    {
        println!(
            "p99 of a 100-object page on the generated collection (tripoint-sqlite, {} connections): {:.2} ms (goal < 10 ms)",
            m.connections,
            m.result.percentile_ms(99.0)
        );
    }
    Ok(())
}

/// Server CPU milliseconds per request between two readings.
fn cpu_per_request(before: Option<f64>, after: Option<f64>, requests: usize) -> Option<f64> {
    let (before, after) = (before?, after?);
    (requests > 0).then(|| (after - before).max(0.0) * 1000.0 / requests as f64)
}

const MEDALLION: &str = "medallion-memory";
const OPENTAXII: &str = "opentaxii-sqlite";

/// The goal of tripoint's req/s over each peer's on the GET-objects pages
/// (issue 12), and whether tripoint's p99 must also stay under 10 ms there.
fn goal_over(peer: &str) -> (f64, bool) {
    if peer == OPENTAXII {
        (10.0, true)
    } else {
        (20.0, false)
    }
}

/// One line per tripoint server, peer, scenario and connection count: the
/// req/s ratio, against the goal on the GET-objects pages.
fn ratio_lines(measured: &[Measured], request_timeout: std::time::Duration) -> Vec<String> {
    let mut lines = Vec::new();
    let is_peer = |t: &str| t == MEDALLION || t == OPENTAXII;
    for peer_name in [MEDALLION, OPENTAXII] {
        let (goal, p99_goal) = goal_over(peer_name);
        for m in measured.iter().filter(|m| !is_peer(&m.target)) {
            let Some(p) = measured.iter().find(|p| {
                p.target == peer_name && p.scenario == m.scenario && p.connections == m.connections
            }) else {
                continue;
            };
            let pages =
                m.scenario.starts_with("GET attack") || m.scenario.starts_with("GET generated");
            let ours = m.result.requests_per_sec();
            let p99 = m.result.percentile_ms(99.0);
            let head = format!(
                "{}, {} connections: {} / {peer_name}",
                m.scenario, m.connections, m.target
            );
            let p99_note = if pages && p99_goal {
                format!(
                    "; tripoint p99 goal < 10 ms: {}",
                    if p99 < 10.0 { "met" } else { "missed" }
                )
            } else {
                String::new()
            };
            let theirs = p.result.requests_per_sec();
            let timed_out = p
                .result
                .first_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out"));
            if theirs > 0.0 {
                let ratio = ours / theirs;
                let verdict = if pages {
                    format!(
                        " (goal >= {goal:.0}x: {})",
                        if ratio >= goal { "met" } else { "missed" }
                    )
                } else {
                    String::new()
                };
                let cpu = match (m.cpu_ms, p.cpu_ms) {
                    (Some(a), Some(b)) if a > 0.0 => format!(
                        "; server CPU {a:.3} vs {b:.3} ms/request ({:.1}x less)",
                        b / a
                    ),
                    _ => String::new(),
                };
                lines.push(format!(
                    "{head} = {ratio:.1}x req/s{verdict}; p99 {p99:.2} ms vs {:.2} ms{p99_note}{cpu}",
                    p.result.percentile_ms(99.0),
                ));
            } else if timed_out {
                // The peer's rate was below connections / timeout.
                lines.push(format!(
                    "{head} >= {:.0}x req/s ({peer_name} completed no request within {} s){p99_note}",
                    ours * request_timeout.as_secs_f64() / m.connections.max(1) as f64,
                    request_timeout.as_secs()
                ));
            } else if p.result.errors > 0 {
                lines.push(format!(
                    "{head}: no ratio, {peer_name} answered no request successfully ({})",
                    p.result.first_error.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    lines
}

/// What the audit of a run holds (column values, as
/// `AuditEntry::stored_bytes` counts them).
#[derive(Debug, Default)]
struct AuditBytes {
    entries: usize,
    bytes: usize,
    largest: usize,
    pages: usize,
    /// Object versions the recorded read pages returned.
    served: u64,
    /// Bytes of the entries that recorded a page.
    page_bytes: usize,
}

impl AuditBytes {
    fn per_request(&self) -> f64 {
        self.bytes as f64 / self.entries.max(1) as f64
    }
    fn per_object(&self) -> f64 {
        self.page_bytes as f64 / self.served.max(1) as f64
    }
}

/// Read the audit of a running tripoint (its database, as `intel audit` does).
fn audit_bytes(config: &Path) -> Result<AuditBytes> {
    let cfg = Config::load(config)?;
    let store = open_store(&cfg, config)?;
    let mut a = AuditBytes::default();
    for e in store.audit(&tripoint_taxii::store::AuditFilter::default())? {
        let b = e.stored_bytes();
        a.entries += 1;
        a.bytes += b;
        a.largest = a.largest.max(b);
        if let Some(p) = &e.page {
            a.pages += 1;
            a.served += p.returned;
            a.page_bytes += b;
        }
    }
    Ok(a)
}

struct SyncTiming {
    source: String,
    objects: u64,
    stored: u64,
    requests: u64,
    seconds: f64,
    resync_requests: u64,
    resync_seconds: f64,
}

/// Pull the ATT&CK collection of a running tripoint into a fresh one
/// (`intel sync`'s code, in this process), then sync again (a no-op).
fn sync_timing(source: &Target, login: &(String, String), dir: &Path) -> Result<SyncTiming> {
    use tripoint_taxii::config::{Direction, FederationLink, LinkCollection};
    let (mut cfg, _) = Config::trilateral(&format!("sync-from-{}.db", source.name))?;
    cfg.api_roots[0].path = "bench".into();
    cfg.default_api_root = Some("bench".into());
    for c in &mut cfg.collections {
        c.api_root = "bench".into();
    }
    cfg.collections.push(Collection {
        id: BENCH_COLLECTIONS[0].0.to_string(),
        api_root: "bench".into(),
        title: "attack".into(),
        description: None,
        alias: Some("attack".into()),
        read: vec!["us".into()],
        write: vec!["us".into()],
        cleared_amber_strict: vec![],
        cleared_red: vec![],
    });
    let secret = format!("sync-from-{}.secret", source.name);
    tripoint_taxii::private::write_atomic(&dir.join(&secret), login.1.as_bytes())?;
    cfg.federation.push(FederationLink {
        peer: "us".into(),
        url: format!("{}/bench/", source.base),
        username: Some(login.0.clone()),
        secret_file: secret.into(),
        ca_file: None,
        interval_secs: 0,
        page_size: 1000,
        collections: vec![LinkCollection {
            remote: "attack".into(),
            local: None,
            direction: Direction::Pull,
        }],
    });
    let path = dir.join(format!("sync-from-{}.toml", source.name));
    cfg.save(&path)?;
    let store = open_store(&cfg, &path)?;
    let ex = Exchange::new(store, cfg, Some(path));
    let run = |ex: &Exchange| -> Result<(u64, u64, u64, f64)> {
        let t = std::time::Instant::now();
        let outcomes = tripoint_taxii::federation::sync(ex, &[], false)
            .map_err(|e| crate::error::BenchError::Failed(e.to_string()))?;
        let seconds = t.elapsed().as_secs_f64();
        let mut sums = (0, 0, 0, seconds);
        for o in outcomes {
            if let Some(e) = o.error {
                fail!("sync from {}: {e}", source.name);
            }
            for c in o.collections {
                sums.0 += c.objects;
                sums.1 += c.stored;
                sums.2 += c.requests;
            }
        }
        Ok(sums)
    };
    let (objects, stored, requests, seconds) = run(&ex)?;
    let (_, _, resync_requests, resync_seconds) = run(&ex)?;
    ex.flush_audit();
    Ok(SyncTiming {
        source: source.name.clone(),
        objects,
        stored,
        requests,
        seconds,
        resync_requests,
        resync_seconds,
    })
}
