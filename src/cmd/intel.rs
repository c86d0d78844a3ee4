//! `tripoint intel`: set up the exchange, administer partners and collections,
//! import STIX content, read the audit log (see docs/intel.md).

use anyhow::{bail, Context};
use std::io::Read;
use std::path::{Path, PathBuf};
use tripoint_taxii::config::{issue_credentials, Collection, Config, IssuedSecrets, Partner};
use tripoint_taxii::model::{format_micros, parse_micros};
use tripoint_taxii::service::{open_store, CreatorPolicy, Exchange};
use tripoint_taxii::store::{AuditEntry, AuditFilter};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write the default trilateral configuration (US, JP, KR; API root /trilateral/) and print its secrets once.
    Init {
        /// Configuration file to write (created 0600).
        #[arg(long)]
        config: PathBuf,
        /// Storage: SQLite file (relative to the config) or a postgres:// URL.
        #[arg(long, default_value = "tripoint-intel.db")]
        storage: String,
        /// Replace an existing file (its secrets stop working).
        #[arg(long)]
        force: bool,
    },
    /// Print the argon2id hash of a secret (argument, or stdin when absent) for a config's `hash`.
    HashSecret {
        /// The secret (prefer stdin: arguments show up in process lists).
        secret: Option<String>,
    },
    /// Partners: add (prints new credentials once) or list.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Collections: add, list, or grant a partner access.
    Collection {
        #[command(subcommand)]
        command: CollectionCommand,
    },
    /// Import STIX bundles or TAXII envelopes (or OFAC / MISP sources) through the POST validation path.
    Import {
        /// Configuration file of the server to load into.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Collection id or alias (default: the first configured collection).
        #[arg(long)]
        collection: Option<String>,
        /// Input format.
        #[arg(long, value_enum, default_value_t = ImportFormat::Stix)]
        format: ImportFormat,
        /// Post as this partner (created_by_ref enforced as for POST); default keeps publishers' created_by_ref.
        #[arg(long)]
        partner: Option<String>,
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the audit log, or (with --object) who posted and who was served one object.
    Audit {
        /// Configuration file of the server whose log to read.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Only entries of this partner (`-` = unauthenticated, `admin` = CLI imports).
        #[arg(long)]
        partner: Option<String>,
        /// Only entries at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Output: an aligned table, or one JSON object per line.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Show only the newest N entries (still oldest first).
        #[arg(long)]
        limit: Option<usize>,
        /// A STIX id: who posted each of its versions, and who was served them
        /// (replayed from the recorded pages).
        #[arg(long)]
        object: Option<String>,
    },
    /// Move audit entries older than a time into a JSON-lines file (appended; 0600), then delete them.
    AuditExport {
        /// Configuration file of the server whose log to prune.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Entries strictly before this RFC 3339 time are moved.
        #[arg(long)]
        before: String,
        /// File the entries are appended to (created 0600).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Subcommand)]
enum PartnerCommand {
    /// Add a partner with new Basic and API-key credentials (printed once).
    Add {
        /// Configuration file to edit.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Partner id: 1-32 of a-z 0-9 - _, starting with a letter (not admin or tripoint).
        #[arg(long)]
        id: String,
        /// Display name, e.g. "Australia".
        #[arg(long)]
        name: String,
        /// STIX identity id (default: tripoint's derived id for this partner).
        #[arg(long)]
        identity: Option<String>,
    },
    /// List partners, their identities and how many credentials each has.
    List {
        /// Configuration file to read.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
    },
}

#[derive(clap::Subcommand)]
enum CollectionCommand {
    /// Add a collection and print its id.
    Add {
        /// Configuration file to edit.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Title shown to partners.
        #[arg(long)]
        title: String,
        /// Explicit UUID (default: a new random one).
        #[arg(long)]
        id: Option<String>,
        /// API root the collection belongs to.
        #[arg(long, default_value = "trilateral")]
        api_root: String,
        /// Short name usable instead of the UUID in URLs and commands.
        #[arg(long)]
        alias: Option<String>,
        /// Partners that may read (comma-separated ids).
        #[arg(long, value_delimiter = ',')]
        read: Vec<String>,
        /// Partners that may write (comma-separated ids).
        #[arg(long, value_delimiter = ',')]
        write: Vec<String>,
    },
    /// List collections with their access lists.
    List {
        /// Configuration file to read.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
    },
    /// Grant a partner rights on a collection (id or alias).
    Grant {
        /// Configuration file to edit.
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Collection id or alias.
        collection: String,
        /// Partner id.
        partner: String,
        /// May read the collection.
        #[arg(long)]
        read: bool,
        /// May post to the collection.
        #[arg(long)]
        write: bool,
        /// Clear for TLP:AMBER+STRICT objects in this collection.
        #[arg(long)]
        amber_strict: bool,
        /// Clear for TLP:RED (and AMBER+STRICT) objects in this collection.
        #[arg(long)]
        red: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// STIX 2.1 bundle, TAXII envelope, JSON array or single object.
    Stix,
    /// The OFAC SDN DPRK digital-currency address list (JSON).
    OfacDprkCrypto,
    /// The MISP threat-actor galaxy (DPRK subset).
    MispGalaxy,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    /// One JSON object per line.
    Json,
    /// Aligned columns with a header row.
    Table,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Init {
            config,
            storage,
            force,
        } => init(&config, &storage, force),
        Command::HashSecret { secret } => {
            let secret = match secret {
                Some(s) => s,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("reading the secret from stdin")?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
            };
            if secret.is_empty() {
                bail!("empty secret");
            }
            println!("{}", tripoint_taxii::auth::hash_secret(&secret)?);
            Ok(())
        }
        Command::Partner { command } => partner(command),
        Command::Collection { command } => collection(command),
        Command::Import {
            config,
            collection,
            format,
            partner,
            files,
        } => import(
            &config,
            collection.as_deref(),
            format,
            partner.as_deref(),
            &files,
        ),
        Command::Audit {
            config,
            partner,
            since,
            format,
            limit,
            object,
        } => match object {
            Some(id) => audit_object(&config, &id, format),
            None => audit(&config, partner, since.as_deref(), format, limit),
        },
        Command::AuditExport {
            config,
            before,
            out,
        } => audit_export(&config, &before, &out),
    }
}

fn print_secrets(secrets: &[IssuedSecrets]) {
    println!("# Secrets (shown once; only their argon2 hashes are stored):");
    for s in secrets {
        println!(
            "partner {}: basic {}:{}  api-key {}",
            s.partner, s.username, s.password, s.api_key
        );
    }
}

fn init(path: &Path, storage: &str, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("{} exists; pass --force to replace it", path.display());
    }
    let (mut cfg, secrets) = Config::trilateral(storage)?;
    let admin = cfg.issue_admin()?;
    cfg.save(path)?;
    println!("wrote {}", path.display());
    print_secrets(&secrets);
    println!(
        "operator (admin endpoints): basic {}:{}  api-key {}",
        admin.username, admin.password, admin.api_key
    );
    Ok(())
}

fn partner(cmd: PartnerCommand) -> anyhow::Result<()> {
    match cmd {
        PartnerCommand::Add {
            config,
            id,
            name,
            identity,
        } => {
            let mut cfg = Config::load(&config)?;
            if cfg.partners.iter().any(|p| p.id == id) {
                bail!("{}: partner `{id}` already exists", config.display());
            }
            let (credentials, secrets) = issue_credentials(&id)?;
            cfg.partners.push(Partner {
                identity: identity
                    .unwrap_or_else(|| tripoint_stix::content::partner_identity_id(&id)),
                id,
                name,
                credentials,
            });
            cfg.save(&config)?;
            print_secrets(&[secrets]);
            Ok(())
        }
        PartnerCommand::List { config } => {
            let cfg = Config::load(&config)?;
            println!("{:<8} {:<50} {:<24} credentials", "id", "identity", "name");
            for p in &cfg.partners {
                println!(
                    "{:<8} {:<50} {:<24} {}",
                    p.id,
                    p.identity,
                    p.name,
                    p.credentials.len()
                );
            }
            Ok(())
        }
    }
}

fn collection(cmd: CollectionCommand) -> anyhow::Result<()> {
    match cmd {
        CollectionCommand::Add {
            config,
            title,
            id,
            api_root,
            alias,
            read,
            write,
        } => {
            let mut cfg = Config::load(&config)?;
            let id = id.unwrap_or_else(tripoint_taxii::config::new_uuid);
            cfg.collections.push(Collection {
                id: id.clone(),
                api_root,
                title,
                description: None,
                alias,
                read,
                write,
                cleared_amber_strict: vec![],
                cleared_red: vec![],
            });
            cfg.save(&config)?;
            println!("{id}");
            Ok(())
        }
        CollectionCommand::List { config } => {
            let cfg = Config::load(&config)?;
            println!(
                "{:<36} {:<12} {:<12} {:<16} {:<16} {:<16} title",
                "id", "api_root", "alias", "read", "write", "cleared_red"
            );
            for c in &cfg.collections {
                println!(
                    "{:<36} {:<12} {:<12} {:<16} {:<16} {:<16} {}",
                    c.id,
                    c.api_root,
                    c.alias.as_deref().unwrap_or("-"),
                    c.read.join(","),
                    c.write.join(","),
                    c.cleared_red.join(","),
                    c.title
                );
            }
            Ok(())
        }
        CollectionCommand::Grant {
            config,
            collection,
            partner,
            read,
            write,
            amber_strict,
            red,
        } => {
            if !(read || write || amber_strict || red) {
                bail!("nothing to grant: pass --read, --write, --amber-strict and/or --red");
            }
            let mut cfg = Config::load(&config)?;
            if !cfg.partners.iter().any(|p| p.id == partner) {
                bail!("{}: no partner `{partner}`", config.display());
            }
            let c = cfg
                .collections
                .iter_mut()
                .find(|c| {
                    c.id.eq_ignore_ascii_case(&collection)
                        || c.alias.as_deref() == Some(collection.as_str())
                })
                .with_context(|| format!("{}: no collection `{collection}`", config.display()))?;
            for (wanted, list) in [
                (read, &mut c.read),
                (write, &mut c.write),
                (amber_strict, &mut c.cleared_amber_strict),
                (red, &mut c.cleared_red),
            ] {
                if wanted && !list.contains(&partner) {
                    list.push(partner.clone());
                }
            }
            cfg.save(&config)?;
            println!("granted");
            Ok(())
        }
    }
}

fn exchange(config_path: &Path) -> anyhow::Result<std::sync::Arc<Exchange>> {
    let cfg = Config::load(config_path)?;
    let store = open_store(&cfg, config_path)
        .with_context(|| format!("opening storage `{}`", cfg.storage))?;
    Ok(Exchange::new(store, cfg, None))
}

fn import(
    config_path: &Path,
    collection: Option<&str>,
    format: ImportFormat,
    partner: Option<&str>,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let ex = exchange(config_path)?;
    let name = match collection {
        Some(c) => c.to_string(),
        None => ex
            .snapshot()
            .config
            .collections
            .first()
            .map(|c| c.id.clone())
            .with_context(|| format!("{}: no collections configured", config_path.display()))?,
    };
    let key = ex
        .collection_key(&name)
        .with_context(|| format!("{}: no collection `{name}`", config_path.display()))?;
    let policy = match partner {
        Some(p) => {
            let p = ex
                .partner(p)
                .with_context(|| format!("{}: no partner `{p}`", config_path.display()))?;
            CreatorPolicy::Partner(tripoint_taxii::service::Caller {
                partner: p.id,
                identity: p.identity,
            })
        }
        None => CreatorPolicy::Preserve {
            fallback: tripoint_stix::content::tripoint_identity_id(),
        },
    };
    let mut failed = 0usize;
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let objects = match format {
            ImportFormat::Stix => tripoint_stix::import::parse_bundle_or_envelope(&bytes),
            ImportFormat::OfacDprkCrypto => tripoint_stix::import::ofac_dprk_crypto(&bytes),
            ImportFormat::MispGalaxy => tripoint_stix::import::misp_galaxy_dprk(&bytes),
        }
        .with_context(|| format!("{}", file.display()))?;
        let total = objects.len();
        let report = ex.ingest(&key, objects, &policy)?;
        let ids: Vec<String> = report.successes.iter().map(|s| s.0.clone()).collect();
        let result = if report.failures.is_empty() {
            "ok".to_string()
        } else {
            format!("{} failed", report.failures.len())
        };
        // The imported versions are in the provenance records (partner `admin`).
        let _ = ids;
        ex.audit_blocking(AuditEntry::new(
            "admin",
            "import",
            &format!("{name} <- {}", file.display()),
            &result,
        ))?;
        let duplicates = report.successes.iter().filter(|s| s.2.is_some()).count();
        println!(
            "{}: {total} objects: {} stored, {duplicates} already stored, {} failed",
            file.display(),
            report.successes.len() - duplicates,
            report.failures.len()
        );
        for (id, _, reason) in &report.failures {
            eprintln!("{}: {id}: {reason}", file.display());
        }
        failed += report.failures.len();
    }
    if failed > 0 {
        bail!("{failed} objects failed validation or versioning rules (the others were stored)");
    }
    Ok(())
}

fn audit(
    config_path: &Path,
    partner: Option<String>,
    since: Option<&str>,
    format: OutputFormat,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let since_us = since
        .map(|s| {
            parse_micros(s).with_context(|| format!("--since `{s}` is not an RFC 3339 timestamp"))
        })
        .transpose()?;
    let ex = exchange(config_path)?;
    let entries = ex.read_audit(&AuditFilter {
        partner,
        since_us,
        limit,
        ..Default::default()
    })?;
    match format {
        OutputFormat::Json => {
            for e in &entries {
                let mut v = serde_json::to_value(e)?;
                v["at"] = serde_json::json!(format_micros(e.at_us));
                println!("{v}");
            }
        }
        OutputFormat::Table => {
            println!(
                "{:<27} {:<8} {:<18} {:<48} {:>6} result",
                "at", "partner", "action", "target", "served"
            );
            for e in &entries {
                let served = e
                    .page
                    .as_ref()
                    .map(|p| p.returned.to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<27} {:<8} {:<18} {:<48} {:>6} {}",
                    format_micros(e.at_us),
                    cell(&e.partner),
                    cell(&e.action),
                    cell(&e.target),
                    served,
                    cell(&e.result)
                );
            }
        }
    }
    Ok(())
}

/// A table cell: control characters (line breaks above all) are shown
/// escaped, so no stored value can start a line of its own.
fn cell(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        s.to_string()
    }
}

fn audit_object(config_path: &Path, id: &str, format: OutputFormat) -> anyhow::Result<()> {
    let ex = exchange(config_path)?;
    let posted = ex.provenance(id)?;
    let served = ex.who_saw(id)?;
    match format {
        OutputFormat::Json => {
            for p in &posted {
                let mut v = serde_json::to_value(p)?;
                v["kind"] = serde_json::json!("posted");
                v["at"] = serde_json::json!(format_micros(p.posted_us));
                v["version"] = serde_json::json!(format_micros(p.version_us));
                println!("{v}");
            }
            for s in &served {
                let mut v = serde_json::to_value(s)?;
                v["kind"] = serde_json::json!("served");
                v["at"] = serde_json::json!(format_micros(s.at_us));
                v["version"] = serde_json::json!(format_micros(s.version_us));
                println!("{v}");
            }
        }
        OutputFormat::Table => {
            println!(
                "{:<7} {:<27} {:<8} {:<14} {:<36} version",
                "what", "at", "partner", "action", "collection"
            );
            for p in &posted {
                println!(
                    "{:<7} {:<27} {:<8} {:<14} {:<36} {}",
                    "posted",
                    format_micros(p.posted_us),
                    cell(&p.partner),
                    if p.duplicate { "re-posted" } else { "stored" },
                    p.collection,
                    format_micros(p.version_us)
                );
            }
            for s in &served {
                println!(
                    "{:<7} {:<27} {:<8} {:<14} {:<36} {}",
                    "served",
                    format_micros(s.at_us),
                    cell(&s.partner),
                    cell(&s.action),
                    s.collection,
                    format_micros(s.version_us)
                );
            }
        }
    }
    Ok(())
}

fn audit_export(config_path: &Path, before: &str, out: &Path) -> anyhow::Result<()> {
    let before_us = parse_micros(before)
        .with_context(|| format!("--before `{before}` is not an RFC 3339 timestamp"))?;
    let ex = exchange(config_path)?;
    let moved = ex.take_audit_before(before_us, |entries| {
        let write = || -> std::io::Result<()> {
            tripoint_taxii::private::ensure_private(out)?;
            let mut f = std::fs::OpenOptions::new().append(true).open(out)?;
            let mut text = String::new();
            for e in entries {
                text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
                text.push('\n');
            }
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|e| tripoint_taxii::Error::Internal(format!("{}: {e}", out.display())))
    })?;
    println!(
        "{moved} audit entries before {before} moved to {}",
        out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Small sizes (2,000 generated objects, 1,000 posted, 200 GETs) that finish in seconds.
    #[arg(long)]
    smoke: bool,
    /// Objects in the generated collection (default 100,000).
    #[arg(long)]
    generated: Option<usize>,
    /// Objects to POST, 100 per envelope (default 10,000).
    #[arg(long)]
    post: Option<usize>,
    /// GET requests per scenario and server (default 2,000).
    #[arg(long)]
    requests: Option<usize>,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Longest time spent on one scenario for one server, in seconds (slow peers stop early).
    #[arg(long, default_value_t = 30)]
    max_secs: u64,
    /// PostgreSQL server for the tripoint/PostgreSQL run (a fresh schema is used); skipped when unset.
    #[arg(long, env = "TRIPOINT_TEST_PG_URL")]
    pg_url: Option<String>,
    /// Python with medallion 3.0.0 (default: $TRIPOINT_PYTHON, else .venv/bin/python of the checkout).
    #[arg(long, env = "TRIPOINT_PYTHON")]
    python: Option<PathBuf>,
}

struct Target {
    name: String,
    child: std::process::Child,
    base: String,
    authorization: String,
    collections: [String; 3],
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
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
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited while starting: {status}");
        }
        let r = ureq_get(&format!("{base}/taxii2/"), authorization);
        if r.is_ok() {
            return Ok(());
        }
        if start.elapsed() > std::time::Duration::from_secs(300) {
            bail!("{what} did not answer at {base} within 300 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn ureq_get(url: &str, authorization: &str) -> Result<(), String> {
    let spec = tripoint_taxii::loadgen::LoadSpec {
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
    let r = tripoint_taxii::loadgen::run(&spec);
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
) -> anyhow::Result<Target> {
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
        let ex = exchange(&config)?;
        let policy = CreatorPolicy::Preserve {
            fallback: tripoint_stix::content::tripoint_identity_id(),
        };
        for (objects, (id, alias)) in data.iter().zip(BENCH_COLLECTIONS) {
            let bar = crate::cmd::util::progress(objects.len() as u64, &format!("{name}: {alias}"));
            for chunk in objects.chunks(5000) {
                let report = ex.ingest(id, chunk.to_vec(), &policy)?;
                if let Some(f) = report.failures.first() {
                    bail!(
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
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--config"])
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
    })
}

/// Start medallion 3.0.0 (memory backend) over the same data.
fn start_medallion(
    python: &Path,
    dir: &Path,
    data: &[&[serde_json::Value]; 2],
) -> anyhow::Result<Target> {
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
    })
}

struct Measured {
    scenario: &'static str,
    target: String,
    result: tripoint_taxii::loadgen::LoadResult,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    use tripoint_taxii::loadgen::{run as load, LoadSpec};
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

    let attack: Vec<serde_json::Value> = match crate::cmd::util::shared_data_dir()
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
    let dir = tempfile_dir()?;

    println!(
        "tripoint bench intel: ATT&CK collection {} objects, generated collection {} objects, POST {} objects in {} envelopes; {} client connections",
        attack.len(),
        generated.len(),
        to_post.len(),
        bodies.len(),
        args.concurrency
    );
    let mut targets: Vec<Box<dyn FnOnce() -> anyhow::Result<Target>>> = Vec::new();
    let d = dir.path().to_path_buf();
    targets.push(Box::new({
        let d = d.clone();
        move || start_tripoint("tripoint-sqlite", &d, "tripoint-sqlite.db", &data)
    }));
    match &args.pg_url {
        Some(url) => {
            let url = tripoint_taxii::store::postgres_fresh_schema(url, "bench")?;
            let d = d.clone();
            targets.push(Box::new(move || start_tripoint("tripoint-postgres", &d, &url, &data)));
        }
        None => eprintln!("PostgreSQL run skipped: pass --pg-url or set TRIPOINT_TEST_PG_URL (eval \"$(scripts/pg.sh start)\")"),
    }
    let python = args
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let has_medallion = std::process::Command::new(&python)
        .args([
            "-c",
            "import medallion, sys; sys.exit(0 if medallion.__version__ == '3.0.0' else 1)",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if has_medallion {
        let d = d.clone();
        let python = python.clone();
        targets.push(Box::new(move || start_medallion(&python, &d, &data)));
    } else {
        eprintln!(
            "medallion 3.0.0 not found with {}: run scripts/setup-python.sh --bench (peer skipped)",
            python.display()
        );
    }

    let mut measured: Vec<Measured> = Vec::new();
    let mut memory: Vec<(String, Option<f64>)> = Vec::new();
    for start in targets {
        let target = start()?;
        let scenarios: [(&'static str, &'static str, String, usize); 3] = [
            (
                "GET attack page (limit 100)",
                "GET",
                format!("{}{}objects/?limit=100", target.base, target.collections[0]),
                n_requests,
            ),
            (
                "GET generated page (limit 100)",
                "GET",
                format!("{}{}objects/?limit=100", target.base, target.collections[1]),
                n_requests,
            ),
            (
                "POST envelope of 100 objects",
                "POST",
                format!("{}{}objects/", target.base, target.collections[2]),
                bodies.len(),
            ),
        ];
        for (scenario, method, url, requests) in scenarios {
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
                concurrency: args.concurrency,
                max_duration,
                warmup_url: Some(format!("{}/taxii2/", target.base)),
                request_timeout,
            };
            let result = load(&spec);
            if result.ok == 0 && result.errors > 0 {
                eprintln!(
                    "{} / {scenario}: no request completed within {} s ({})",
                    target.name,
                    request_timeout.as_secs(),
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
                result,
            });
        }
        memory.push((target.name.clone(), target.peak_rss_mb()));
    }

    println!();
    println!(
        "{:<32} {:<18} {:>8} {:>10} {:>9} {:>9} {:>9}",
        "scenario", "server", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for m in &measured {
        println!(
            "{:<32} {:<18} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9}",
            m.scenario,
            m.target,
            m.result.ok,
            m.result.requests_per_sec(),
            m.result.percentile_ms(50.0),
            m.result.percentile_ms(99.0),
            m.result.errors
        );
    }
    println!();
    for (name, mb) in &memory {
        match mb {
            Some(mb) => println!("peak RSS {name}: {mb:.0} MB"),
            None => println!("peak RSS {name}: n/a"),
        }
    }
    println!();
    let scenarios: Vec<&str> = measured
        .iter()
        .map(|m| m.scenario)
        .fold(Vec::new(), |mut v, s| {
            if !v.contains(&s) {
                v.push(s);
            }
            v
        });
    for s in scenarios {
        let peer = measured
            .iter()
            .find(|m| m.scenario == s && m.target == "medallion-memory");
        for m in measured
            .iter()
            .filter(|m| m.scenario == s && m.target != "medallion-memory")
        {
            let ours = m.result.requests_per_sec();
            match peer {
                Some(p) if p.result.requests_per_sec() > 0.0 => println!(
                    "{s}: {} / medallion = {:.1}x req/s (goal >= 20x); p99 {:.2} ms vs {:.2} ms",
                    m.target,
                    ours / p.result.requests_per_sec(),
                    m.result.percentile_ms(99.0),
                    p.result.percentile_ms(99.0)
                ),
                Some(p) if p.result.errors > 0 => println!(
                    "{s}: {} / medallion >= {:.0}x req/s (medallion completed no request within {} s)",
                    m.target,
                    // medallion's rate was below concurrency / timeout.
                    ours * request_timeout.as_secs_f64() / args.concurrency.max(1) as f64,
                    request_timeout.as_secs()
                ),
                _ => println!("{s}: {} {:.1} req/s (no medallion figure)", m.target, ours),
            }
        }
    }
    if let Some(m) = measured
        .iter()
        .find(|m| m.target == "tripoint-sqlite" && m.scenario.starts_with("GET generated"))
    {
        println!(
            "p99 of a 100-object page on the generated collection (tripoint-sqlite): {:.2} ms (goal < 10 ms)",
            m.result.percentile_ms(99.0)
        );
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<TempDir> {
    TempDir::new()
}

/// A scratch directory removed on drop (the binary has no `tempfile` dependency).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "tripoint-bench-intel-{}",
            tripoint_taxii::config::new_uuid()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
