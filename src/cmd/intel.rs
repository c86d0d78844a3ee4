//! `tripoint intel`: set up the exchange, administer partners and collections,
//! import STIX content, read the audit log (see docs/intel.md).

use anyhow::{bail, Context};
use std::io::Read;
use std::path::{Path, PathBuf};
use tripoint_taxii::config::{self, Config, Grant, IssuedSecrets, NewCollection};
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
    /// Pull from (and push to) the peer servers of the [[federation]] links, from where the last sync left off.
    Sync {
        /// Configuration file of this server (its [[federation]] links).
        #[arg(long, env = "TRIPOINT_CONFIG")]
        config: PathBuf,
        /// Only the link(s) to this peer partner (repeatable; default: every link).
        #[arg(long)]
        peer: Vec<String>,
        /// Forget the stored cursors and sync everything again (what is already stored counts as duplicates).
        #[arg(long)]
        from_start: bool,
        /// Output: an aligned table, or one JSON object per linked collection and direction.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
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
        Command::Sync {
            config,
            peer,
            from_start,
            format,
        } => sync(&config, &peer, from_start, format),
    }
}

fn sync(
    config_path: &Path,
    peers: &[String],
    from_start: bool,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let cfg = Config::load(config_path)?;
    if cfg.federation.is_empty() {
        bail!(
            "{}: no [[federation]] links to sync (docs/intel.md)",
            config_path.display()
        );
    }
    let store = open_store(&cfg, config_path)
        .with_context(|| format!("opening storage `{}`", cfg.storage))?;
    let ex = Exchange::new(store, cfg, Some(config_path.to_path_buf()));
    let outcomes = tripoint_taxii::federation::sync(&ex, peers, from_start)?;
    ex.flush_audit();
    if format == OutputFormat::Table {
        println!(
            "{:<4}  {:<8} {:<24} {:>8} {:>8} {:>9} {:>7} {:>6} {:>8} {:>7}  cursor",
            "dir",
            "peer",
            "collection",
            "objects",
            "stored",
            "duplicate",
            "skipped",
            "failed",
            "requests",
            "seconds"
        );
    }
    let mut bad = 0;
    for o in &outcomes {
        for c in &o.collections {
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string(c)?),
                OutputFormat::Table => println!(
                    "{:<4}  {:<8} {:<24} {:>8} {:>8} {:>9} {:>7} {:>6} {:>8} {:>7.2}  {}",
                    c.direction,
                    c.peer,
                    format!(
                        "{} -> {}",
                        if c.direction == "pull" {
                            &c.remote
                        } else {
                            &c.local
                        },
                        if c.direction == "pull" {
                            &c.local
                        } else {
                            &c.remote
                        }
                    ),
                    c.objects,
                    c.stored,
                    c.duplicates,
                    c.skipped,
                    c.failed,
                    c.requests,
                    c.seconds,
                    c.cursor.as_deref().unwrap_or("-")
                ),
            }
            for f in &c.failures {
                eprintln!("{} {} {}: refused: {f}", c.direction, c.peer, c.remote);
            }
        }
        if let Some(e) = &o.error {
            eprintln!("error: {e}");
        }
        if !o.clean() {
            bad += 1;
        }
    }
    if bad > 0 {
        bail!(
            "{bad} of {} federation links did not sync cleanly",
            outcomes.len()
        );
    }
    Ok(())
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
            let secrets = config::edit(&config, |c| c.add_partner(&config, &id, &name, identity))?;
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
            let new = NewCollection {
                id,
                api_root,
                title,
                alias,
                read,
                write,
            };
            let id = config::edit(&config, |c| Ok(c.add_collection(new)))?;
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
            let grant = Grant {
                read,
                write,
                amber_strict,
                red,
            };
            config::edit(&config, |c| c.grant(&config, &collection, &partner, grant))?;
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
