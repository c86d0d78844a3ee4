//! `tripoint watch`: follow a node, append blocks, advance open cases and
//! deliver alerts (`tripoint-watch`); `--status` shows where it stands.
//! See `docs/watch.md`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tripoint_watch::{Thresholds, WatchOptions};

use crate::cmd::util;

#[derive(clap::Args)]
pub struct Args {
    /// Store directory (created if missing); the watch keeps its alerts in DIR/watch.sqlite.
    #[arg(long)]
    pub store: PathBuf,
    /// JSON-RPC endpoint of the Ethereum node, e.g. http://127.0.0.1:8545 (its cursor is shared
    /// with `ingest eth-rpc --url` of the same URL).
    #[arg(long)]
    pub rpc: Option<String>,
    /// POST every alert to this URL (repeatable), signed with HMAC-SHA256.
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// File holding the webhooks' HMAC secret (required with --webhook; keep it 0600).
    #[arg(long)]
    pub webhook_secret_file: Option<PathBuf>,
    /// Also share every alert in the partners' TAXII exchange: CONFIG is the exchange's
    /// configuration file (as `intel --config`), COLLECTION a collection id or alias; each
    /// alert becomes an indicator and its sighting, created by the case's partner and marked
    /// with the case's TLP.
    #[arg(long, value_name = "CONFIG:COLLECTION")]
    pub publish: Option<String>,
    /// Store a block only once this many blocks are on top of it (a reorg within them never
    /// reaches the store; deeper ones are rolled back).
    #[arg(long, default_value_t = 0)]
    pub confirmations: u64,
    /// First block when the store has no cursor for this node yet.
    #[arg(long)]
    pub from_block: Option<u64>,
    /// Polling interval at the head, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub poll_ms: u64,
    /// A movement carrying at least this share of a case's seeded taint raises a
    /// large_movement alert (per mille).
    #[arg(long, default_value_t = 100)]
    pub large_per_mille: u32,
    /// A newly reached address raises a new_hop alert only once the taint it received in one
    /// asset reaches this many millionths of what the case's seeds paid out in it (dust raises
    /// none); a case's own `case new --min-hop-ppm` overrides it. 0: every new address.
    #[arg(long, default_value_t = tripoint_watch::DEFAULT_MIN_HOP_PPM)]
    pub min_hop_ppm: u32,
    /// PostgreSQL URL of the case database (as `tripoint case --db`); default DIR/cases.sqlite.
    #[arg(long, env = "TRIPOINT_CASE_DB")]
    pub case_db: Option<String>,
    /// Show the cursor, the lag behind the node's head and pending deliveries, then exit.
    #[arg(long)]
    pub status: bool,
    /// Output of --status: table (people) or json (tools).
    #[arg(long, value_enum, default_value = "table")]
    pub format: util::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.status {
        return status(&args);
    }
    let Some(rpc) = args.rpc.clone() else {
        bail!("--rpc URL is required (or --status)");
    };
    if args.min_hop_ppm > 1_000_000 {
        bail!(
            "--min-hop-ppm {}: more than 1000000 (parts per million)",
            args.min_hop_ppm
        );
    }
    let secret = match &args.webhook_secret_file {
        Some(f) => Some(tripoint_watch::deliver::read_secret(f)?),
        None => None,
    };
    let opts = WatchOptions {
        webhooks: args.webhooks.clone(),
        secret,
        confirmations: args.confirmations,
        from_block: args.from_block,
        poll: Duration::from_millis(args.poll_ms.max(10)),
        thresholds: Thresholds {
            large_per_mille: args.large_per_mille,
            min_hop_ppm: args.min_hop_ppm,
        },
        publish: args.publish.as_deref().map(tripoint_watch::publish_target),
        ..WatchOptions::new(args.store.clone(), rpc)
    };
    let mut cases = tripoint_case::watch_source::WatchCases::open(
        &args.store,
        args.case_db.as_deref(),
        args.publish.as_deref(),
    )?;
    eprintln!(
        "watch: following {} into {} (confirmations {}, {} webhook(s){}); alerts as JSON lines on stdout",
        opts.rpc,
        args.store.display(),
        opts.confirmations,
        opts.webhooks.len(),
        args.publish
            .as_deref()
            .map(|p| format!(", publishing to {p}"))
            .unwrap_or_default()
    );
    let stop = AtomicBool::new(false);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    tripoint_watch::run(&opts, &mut cases, &mut out, &stop)
        .with_context(|| format!("watch on {} stopped", args.store.display()))
}

fn status(args: &Args) -> anyhow::Result<()> {
    let s = tripoint_watch::status(&args.store, args.rpc.as_deref())?;
    if args.format == util::Format::Json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
    println!("watch on {}", s.store);
    println!("  node            {}", s.rpc.as_deref().unwrap_or("-"));
    println!("  cursor          {} (next block to store)", opt(s.cursor));
    match (&s.head, &s.head_error) {
        (Some(h), _) => println!("  head            {h}"),
        (None, Some(e)) => println!("  head            unknown: {e}"),
        _ => println!("  head            -"),
    }
    println!("  lag             {} block(s)", opt(s.lag));
    println!("  confirmations   {}", opt(s.confirmations));
    println!("  alerts stored   {}", s.alerts);
    if s.pending_deliveries.is_empty() {
        println!("  pending         none");
    } else {
        println!("  {:<40} {:>8}  last error", "pending deliveries", "alerts");
        for p in &s.pending_deliveries {
            println!(
                "  {:<40} {:>8}  {}",
                p.target,
                p.pending,
                p.last_error.as_deref().unwrap_or("-")
            );
        }
    }
    for c in &s.cases {
        println!(
            "  case {}  alerts up to block {}",
            c.case_id,
            opt(c.watermark)
        );
    }
    if let Some(r) = &s.last_rollback {
        println!(
            "  last rollback   {r} ({} alert(s) withdrawn in all)",
            s.retracted
        );
    }
    if let Some(r) = &s.reorg {
        println!("  REORG           {r}");
    }
    Ok(())
}
