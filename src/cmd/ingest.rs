//! `tripoint ingest`: load chain data into a graph store, and `tripoint bench
//! ingest`. The importers live in `tripoint-ingest`; this module opens the
//! store, wires an importer to its appender, shows progress and reports.
//! See `docs/ingest.md`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use tripoint_chain::{
    Address, Asset, Chain, SourceCursor, TokenInfo, TransferRecord, TransferSink,
};
use tripoint_ingest::{
    AmountUnit, ColumnMap, EthereumEtlFiles, ImportOptions, ImportSummary, RpcClient, RpcOptions,
    TransfersCsvOptions,
};
use tripoint_store::{Appender, Store};

use crate::cmd::util;

#[derive(clap::Args)]
pub struct Args {
    /// Store directory (created if missing).
    #[arg(long)]
    pub store: PathBuf,
    /// Count and leave out bad rows instead of stopping at the first one.
    #[arg(long, global = true)]
    pub skip_bad_rows: bool,
    /// Make the store durable, with the file cursor, every N rows.
    #[arg(long, global = true, default_value_t = 5_000_000)]
    pub checkpoint_every: u64,
    /// Output: table (people) or json (tools).
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: util::Format,
    /// Same as `--format json` (kept for scripts written before `--format`).
    #[arg(long, global = true, hide = true)]
    pub json: bool,
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Subcommand, Clone)]
pub enum Source {
    /// ethereum-etl CSV export (transactions, token transfers, tokens; `.gz` accepted).
    EthereumEtl {
        /// `transactions.csv`: native ETH transfers (failed transactions are skipped).
        #[arg(long)]
        transactions: PathBuf,
        /// `token_transfers.csv`: ERC-20 `Transfer` logs.
        #[arg(long)]
        token_transfers: Option<PathBuf>,
        /// `tokens.csv`: symbol and decimals per token contract (for reports and spam rules).
        #[arg(long)]
        tokens: Option<PathBuf>,
    },
    /// bitcoin-etl JSON lines (`transactions.json`, `.gz` accepted).
    BitcoinEtl {
        /// `transactions.json`: one transaction per line with inputs and outputs.
        #[arg(long)]
        transactions: PathBuf,
    },
    /// Any "one transfer per row" CSV with a column mapping.
    TransfersCsv {
        /// The CSV file (header row with column names; `.gz` accepted).
        file: PathBuf,
        /// field=column pairs: from, to, amount, time required; hash, block, log_index optional.
        #[arg(long)]
        map: String,
        /// How amounts are written: eth / btc (decimal text in whole coins), wei / sat (integers).
        /// Default: the chain's whole coin.
        #[arg(long)]
        amount_unit: Option<String>,
        /// Decimal places of the amount text (overrides --amount-unit; for tokens).
        #[arg(long)]
        decimals: Option<u8>,
        /// ETH / BTC (the native coin) or a token contract address.
        #[arg(long)]
        asset: Option<String>,
        /// Chain of the rows: ethereum or bitcoin.
        #[arg(long, default_value = "ethereum")]
        chain: String,
    },
    /// Live Ethereum node over JSON-RPC, from a cursor to the head (and on, with --follow).
    EthRpc {
        /// JSON-RPC endpoint of an Ethereum node, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        url: String,
        /// First block when this endpoint has no cursor in the store (or a later start).
        #[arg(long)]
        from_block: Option<u64>,
        /// Last block to read (inclusive).
        #[arg(long)]
        to_block: Option<u64>,
        /// Keep polling for new blocks instead of stopping at the head.
        #[arg(long)]
        follow: bool,
        /// Stay this many blocks behind the head.
        #[arg(long, default_value_t = 0)]
        confirmations: u64,
        /// Polling interval with --follow, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        poll_ms: u64,
        /// Blocks per eth_getLogs call and per checkpoint.
        #[arg(long, default_value_t = 100)]
        batch_blocks: u64,
    },
    /// cryo Parquet datasets (transactions, erc20_transfers, native_transfers; blocks for
    /// timestamps; erc20_metadata for symbols): files or directories. See docs/scale.md.
    Cryo {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Draws a progress bar from a byte counter on a side thread while `work` runs.
fn with_progress<T>(
    total: u64,
    what: &str,
    counter: Arc<AtomicU64>,
    work: impl FnOnce() -> T,
) -> T {
    let bar = util::progress(total, what);
    let done = Arc::new(AtomicBool::new(false));
    let drawer = {
        let (bar, done, counter) = (bar.clone(), done.clone(), counter.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let out = work();
    done.store(true, Ordering::Relaxed);
    let _ = drawer.join();
    bar.finish_and_clear();
    out
}

fn parse_chain(s: &str) -> anyhow::Result<Chain> {
    match s.to_ascii_lowercase().as_str() {
        "ethereum" | "eth" => Ok(Chain::Ethereum),
        "bitcoin" | "btc" => Ok(Chain::Bitcoin),
        _ => bail!("--chain: unknown chain '{s}' (ethereum, bitcoin)"),
    }
}

fn transfers_csv_options(
    map: &str,
    amount_unit: Option<&str>,
    decimals: Option<u8>,
    asset: Option<&str>,
    chain: &str,
) -> anyhow::Result<TransfersCsvOptions> {
    let chain = parse_chain(chain)?;
    let map: ColumnMap = map.parse()?;
    let asset =
        match asset {
            None => Asset::Native(chain),
            Some(a) if a.eq_ignore_ascii_case(chain.native_symbol()) => Asset::Native(chain),
            Some(a) => {
                if chain != Chain::Ethereum {
                    bail!("--asset: tokens are Ethereum contracts; use --asset BTC on bitcoin");
                }
                Asset::Token(Address::parse_eth(a).with_context(|| {
                    format!("--asset: '{a}' is neither ETH nor a token address")
                })?)
            }
        };
    let unit = amount_unit
        .map(|u| u.parse::<AmountUnit>().map_err(anyhow::Error::msg))
        .transpose()
        .context("--amount-unit")?;
    match (unit, chain) {
        (Some(AmountUnit::Btc | AmountUnit::Sat), Chain::Ethereum)
        | (Some(AmountUnit::Eth | AmountUnit::Wei), Chain::Bitcoin) => {
            bail!("--amount-unit does not match --chain {chain:?}")
        }
        _ => {}
    }
    let decimals = match (decimals, unit, &asset) {
        (Some(d), _, _) => d,
        (None, Some(u), _) => u.decimals(),
        (None, None, Asset::Token(_)) => {
            bail!("a token's amounts need --decimals N (or --amount-unit wei for raw units)")
        }
        (None, None, Asset::Native(Chain::Ethereum)) => AmountUnit::Eth.decimals(),
        (None, None, Asset::Native(Chain::Bitcoin)) => AmountUnit::Btc.decimals(),
    };
    Ok(TransfersCsvOptions {
        map,
        chain,
        asset,
        decimals,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open_or_create(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let mut appender = store
        .appender()
        .with_context(|| format!("locking store {} for writing", args.store.display()))?;
    let counter = Arc::new(AtomicU64::new(0));
    let opts = ImportOptions {
        checkpoint_every: args.checkpoint_every.max(1),
        skip_bad_rows: args.skip_bad_rows,
        bytes_read: Some(counter.clone()),
    };
    let started = Instant::now();
    // On error the appender is dropped unfinished: whatever was pushed since
    // the last checkpoint is discarded, so nothing half-written is published.
    let summary = import_pipelined(&args.source, &mut appender, &opts, counter).with_context(|| {
        format!(
            "ingest into {} stopped; everything up to the last checkpoint is stored, run again to resume",
            args.store.display()
        )
    })?;
    let appended = appender.finish().context("publishing the last batch")?;
    let elapsed = started.elapsed().as_secs_f64();
    let stats = Store::open(&args.store)?.stats();
    let rate = summary.transfers as f64 / elapsed.max(1e-9);
    if args.json || args.format == util::Format::Json {
        let out = serde_json::json!({
            "store": args.store.display().to_string(),
            "rows_read": summary.rows_read,
            "rows_resumed": summary.rows_resumed,
            "records": summary.transfers,
            "tokens": summary.tokens,
            "appended": appended.appended,
            "duplicates_skipped": appended.duplicates_skipped,
            "bad_rows_skipped": summary.bad_rows_skipped,
            "no_value_rows": summary.no_value_rows,
            "segments_written": appended.segments_written,
            "elapsed_secs": elapsed,
            "transfers_per_sec": rate,
            "peak_rss_bytes": util::peak_rss_bytes(),
            "stats": stats,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("ingested into {}", args.store.display());
        println!(
            "  rows read            {} ({} already stored by an earlier run, skipped)",
            summary.rows_read, summary.rows_resumed
        );
        println!("  transfer records     {}", summary.transfers);
        println!("  appended             {}", appended.appended);
        println!("  duplicates skipped   {}", appended.duplicates_skipped);
        println!("  bad rows skipped     {}", summary.bad_rows_skipped);
        println!(
            "  no-value rows        {} (failed txs, coinbase inputs, OP_RETURN outputs)",
            summary.no_value_rows
        );
        println!("  elapsed              {elapsed:.2} s ({rate:.0} transfers/s)");
        println!(
            "  store                {} transfers, {} addresses, {} assets, {} segments, {:.1} bytes/transfer",
            stats.transfers, stats.addresses, stats.assets, stats.segments, stats.bytes_per_transfer
        );
    }
    Ok(())
}

/// What the parsing thread hands to the store thread, in order.
enum Msg {
    Token(TokenInfo),
    Transfers(Vec<TransferRecord>),
    Checkpoint(SourceCursor),
}

/// The store's writer stopped (its error is reported by the writer side).
#[derive(Debug)]
struct WriterStopped;

impl std::fmt::Display for WriterStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store writer stopped")
    }
}
impl std::error::Error for WriterStopped {}

const CHANNEL_BATCH: usize = 8192;

/// The importer's side of the pipeline: batches records to the thread that
/// owns the appender. Cursors are a snapshot taken from the appender before
/// the import, kept current with this run's own checkpoints.
struct ChannelSink {
    tx: std::sync::mpsc::SyncSender<Msg>,
    batch: Vec<TransferRecord>,
    cursors: std::collections::HashMap<String, u64>,
}

impl ChannelSink {
    fn flush(&mut self) -> Result<(), WriterStopped> {
        if !self.batch.is_empty() {
            let b = std::mem::replace(&mut self.batch, Vec::with_capacity(CHANNEL_BATCH));
            self.tx.send(Msg::Transfers(b)).map_err(|_| WriterStopped)?;
        }
        Ok(())
    }
}

impl TransferSink for ChannelSink {
    type Error = WriterStopped;
    fn token(&mut self, token: TokenInfo) -> Result<(), WriterStopped> {
        self.flush()?;
        self.tx.send(Msg::Token(token)).map_err(|_| WriterStopped)
    }
    fn transfer(&mut self, record: TransferRecord) -> Result<(), WriterStopped> {
        self.batch.push(record);
        if self.batch.len() >= CHANNEL_BATCH {
            self.flush()?;
        }
        Ok(())
    }
    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), WriterStopped> {
        self.flush()?;
        self.cursors.insert(cursor.source.clone(), cursor.position);
        self.tx
            .send(Msg::Checkpoint(cursor.clone()))
            .map_err(|_| WriterStopped)
    }
    fn resume_position(&self, source: &str) -> Option<u64> {
        self.cursors.get(source).copied()
    }
}

/// The cursor names the import of `source` will ask for.
fn cursor_sources(source: &Source) -> anyhow::Result<Vec<String>> {
    let files: Vec<&PathBuf> = match source {
        Source::EthereumEtl {
            transactions,
            token_transfers,
            tokens,
        } => std::iter::once(transactions)
            .chain(token_transfers.iter())
            .chain(tokens.iter())
            .collect(),
        Source::BitcoinEtl { transactions } => vec![transactions],
        Source::TransfersCsv { file, .. } => vec![file],
        Source::EthRpc { url, .. } => return Ok(vec![tripoint_ingest::rpc_source(url)]),
        Source::Cryo { paths } => return Ok(tripoint_export::cryo::cursor_sources(paths)?),
    };
    files
        .into_iter()
        .map(|f| tripoint_ingest::canonical_source(f).map_err(anyhow::Error::from))
        .collect()
}

/// Parse on one thread, write the store on this one: on two cores the
/// importer's work hides behind the appender's.
fn import_pipelined(
    source: &Source,
    appender: &mut Appender,
    opts: &ImportOptions,
    counter: Arc<AtomicU64>,
) -> anyhow::Result<ImportSummary> {
    let cursors = cursor_sources(source)?
        .into_iter()
        .filter_map(|s| appender.resume_position(&s).map(|p| (s, p)))
        .collect();
    let (tx, rx) = std::sync::mpsc::sync_channel(32);
    let mut sink = ChannelSink {
        tx,
        batch: Vec::with_capacity(CHANNEL_BATCH),
        cursors,
    };
    let (source, opts) = (source.clone(), opts.clone());
    let parser = std::thread::spawn(move || import(&source, &mut sink, &opts, counter));
    let mut written: anyhow::Result<()> = Ok(());
    for msg in &rx {
        let r = match msg {
            Msg::Token(t) => appender.token(t),
            Msg::Transfers(v) => appender.transfer_batch(&v),
            Msg::Checkpoint(c) => appender.checkpoint(&c),
        };
        if let Err(e) = r {
            written = Err(anyhow::Error::from(e).context("writing the store"));
            break;
        }
    }
    // Stops the parser at its next send if the writer failed.
    drop(rx);
    let parsed = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the import thread panicked"))?;
    written?;
    parsed
}

fn import<S: TransferSink>(
    source: &Source,
    appender: &mut S,
    opts: &ImportOptions,
    counter: Arc<AtomicU64>,
) -> anyhow::Result<ImportSummary> {
    Ok(match source {
        Source::EthereumEtl {
            transactions,
            token_transfers,
            tokens,
        } => {
            let files = EthereumEtlFiles {
                transactions: transactions.clone(),
                token_transfers: token_transfers.clone(),
                tokens: tokens.clone(),
            };
            let total = file_size(transactions)
                + token_transfers.as_deref().map_or(0, file_size)
                + tokens.as_deref().map_or(0, file_size);
            with_progress(total, "ingesting", counter, || {
                tripoint_ingest::import_ethereum_etl(&files, appender, opts)
            })?
        }
        Source::BitcoinEtl { transactions } => {
            with_progress(file_size(transactions), "ingesting", counter, || {
                tripoint_ingest::import_bitcoin_etl(transactions, appender, opts)
            })?
        }
        Source::TransfersCsv {
            file,
            map,
            amount_unit,
            decimals,
            asset,
            chain,
        } => {
            let o = transfers_csv_options(
                map,
                amount_unit.as_deref(),
                *decimals,
                asset.as_deref(),
                chain,
            )?;
            with_progress(file_size(file), "ingesting", counter, || {
                tripoint_ingest::import_transfers_csv(file, &o, appender, opts)
            })?
        }
        Source::EthRpc {
            url,
            from_block,
            to_block,
            follow,
            confirmations,
            poll_ms,
            batch_blocks,
        } => {
            let mut client = RpcClient::new(url);
            let blocks = Arc::new(AtomicU64::new(0));
            let ro = RpcOptions {
                from_block: *from_block,
                to_block: *to_block,
                follow: *follow,
                confirmations: *confirmations,
                poll: Duration::from_millis(*poll_ms),
                batch_blocks: (*batch_blocks).max(1),
                blocks_done: Some(blocks.clone()),
            };
            let spinner = util::spinner("blocks");
            let done = Arc::new(AtomicBool::new(false));
            let drawer = {
                let (s, d, b) = (spinner.clone(), done.clone(), blocks.clone());
                std::thread::spawn(move || {
                    while !d.load(Ordering::Relaxed) {
                        s.set_position(b.load(Ordering::Relaxed));
                        std::thread::sleep(Duration::from_millis(200));
                    }
                })
            };
            let r = tripoint_ingest::import_eth_rpc(&mut client, &ro, appender, &|| false);
            done.store(true, Ordering::Relaxed);
            let _ = drawer.join();
            spinner.finish_and_clear();
            r?
        }
        Source::Cryo { paths } => {
            let bar = util::progress(0, "block ranges");
            let s = tripoint_export::cryo::import(paths, appender, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            for (why, n) in &s.skipped {
                eprintln!("cryo: skipped {n} row(s): {why}");
            }
            ImportSummary {
                rows_read: s.rows,
                transfers: s.records,
                tokens: s.tokens,
                no_value_rows: s.skipped.values().sum(),
                ..ImportSummary::default()
            }
        }
    })
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Transfers to generate (transactions + token transfers).
    #[arg(long, default_value_t = 10_000_000)]
    pub transfers: u64,
    /// A 10^5-transfer run that finishes in seconds.
    #[arg(long)]
    pub smoke: bool,
    /// Working directory: new or empty, kept afterwards (default: a temporary one, removed).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Leave out the DuckDB peer.
    #[arg(long)]
    pub no_peer: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Removes the scratch directory when the benchmark ends, however it ends.
struct Scratch(Option<PathBuf>);
impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// A sink that only counts: measures the importers without the store.
#[derive(Default)]
struct CountingSink {
    transfers: u64,
}

impl tripoint_chain::TransferSink for CountingSink {
    type Error = std::convert::Infallible;
    fn token(&mut self, _: tripoint_chain::TokenInfo) -> Result<(), Self::Error> {
        Ok(())
    }
    fn transfer(&mut self, r: tripoint_chain::TransferRecord) -> Result<(), Self::Error> {
        self.transfers += 1;
        std::hint::black_box(r);
        Ok(())
    }
    fn checkpoint(&mut self, _: &tripoint_chain::SourceCursor) -> Result<(), Self::Error> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The project's venv python with the benchmark peers (`scripts/setup-python.sh --bench`),
/// or `TRIPOINT_PYTHON`.
fn bench_python() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("TRIPOINT_BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-python.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("--bench")
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} --bench failed", script.display());
    }
    let py = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    Ok(PathBuf::from(py))
}

fn run_json(cmd: &mut std::process::Command, what: &str) -> anyhow::Result<serde_json::Value> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("starting {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find('{').unwrap_or(0);
    serde_json::from_str(&text[start..]).with_context(|| format!("{what} printed no JSON: {text}"))
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let n = if args.smoke { 100_000 } else { args.transfers };
    let (work, _scratch) = match &args.dir {
        Some(d) => {
            util::fresh_work_dir(d)?;
            (d.clone(), Scratch(None))
        }
        None => {
            let d =
                std::env::temp_dir().join(format!("tripoint-bench-ingest-{}", std::process::id()));
            (d.clone(), Scratch(Some(d)))
        }
    };
    let csv = work.join("csv");
    let store_dir = work.join("store");

    // 1. Input, generated once for both tools.
    let cfg = tripoint_gen::GenConfig {
        seed: 42,
        transfers: n,
        ..Default::default()
    };
    let bar = util::progress(n, "generating");
    let gen = tripoint_gen::generate_files(&cfg, &csv, &mut |rows| bar.set_position(rows))
        .with_context(|| format!("generating {n} transfers into {}", csv.display()))?;
    bar.finish_and_clear();
    let tx_f = csv.join("transactions.csv");
    let tt_f = csv.join("token_transfers.csv");
    let tok_f = csv.join("tokens.csv");
    let csv_bytes = file_size(&tx_f) + file_size(&tt_f) + file_size(&tok_f);

    // 2. tripoint ingest, as its own process so its peak RSS is its own.
    let exe = std::env::current_exe().context("locating the tripoint binary")?;
    let p = |x: &Path| x.display().to_string();
    let ours = run_json(
        std::process::Command::new(&exe).args([
            "ingest",
            "--store",
            &p(&store_dir),
            "--json",
            "ethereum-etl",
            "--transactions",
            &p(&tx_f),
            "--token-transfers",
            &p(&tt_f),
            "--tokens",
            &p(&tok_f),
        ]),
        "tripoint ingest",
    )?;
    let our_secs = ours["elapsed_secs"].as_f64().unwrap_or(f64::NAN);
    let our_rows = ours["records"].as_u64().unwrap_or(0);
    let our_rss = ours["peak_rss_bytes"].as_u64().unwrap_or(0);

    // 2b. The importers alone (parsing + join, no store), in this process.
    let t = Instant::now();
    let mut counting = CountingSink::default();
    tripoint_ingest::import_ethereum_etl(
        &EthereumEtlFiles {
            transactions: tx_f.clone(),
            token_transfers: Some(tt_f.clone()),
            tokens: Some(tok_f.clone()),
        },
        &mut counting,
        &ImportOptions::default(),
    )?;
    let parse_rate = counting.transfers as f64 / t.elapsed().as_secs_f64();

    // 3. Reopen (mmap) time, median of 9, and on-disk figures.
    let mut opens = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let s = Store::open(&store_dir)?;
        opens.push(t.elapsed().as_secs_f64() * 1e3);
        drop(s);
    }
    let reopen_ms = median(opens);
    let stats = Store::open(&store_dir)?.stats();
    let seg_bytes = stats.bytes_per_transfer * stats.transfers as f64;
    let with_dict = (seg_bytes + stats.dictionary_bytes as f64) / (stats.transfers.max(1) as f64);

    // 4. DuckDB on the same CSVs.
    let peer = if args.no_peer {
        None
    } else {
        let py = bench_python()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers/duckdb_ingest.py");
        Some(run_json(
            std::process::Command::new(py).arg(script).args([
                "--transactions",
                &p(&tx_f),
                "--token-transfers",
                &p(&tt_f),
                "--db",
                &p(&work.join("duckdb.db")),
            ]),
            "the DuckDB peer",
        )?)
    };

    let our_rate = our_rows as f64 / our_secs;
    let tx_hash_per_transfer =
        stats.bytes_per_transfer - stats.bytes_per_transfer_without_tx_hashes;
    // Another process's load moves these figures (the peer uses both cores).
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let (d_secs, d_rows, d_rss, d_bytes) = match &peer {
        Some(d) => (
            d["seconds"].as_f64().unwrap_or(f64::NAN),
            d["rows"].as_u64().unwrap_or(0),
            d["peak_rss_bytes"].as_u64().unwrap_or(0),
            d["db_bytes"].as_u64().unwrap_or(0),
        ),
        None => (f64::NAN, 0, 0, 0),
    };
    let d_rate = d_rows as f64 / d_secs;
    let d_per = d_bytes as f64 / d_rows.max(1) as f64;
    if args.json {
        let out = serde_json::json!({
            "transfers_generated": gen.rows(),
            "csv_bytes": csv_bytes,
            "tripoint": {
                "records": our_rows,
                "seconds": our_secs,
                "transfers_per_sec": our_rate,
                "peak_rss_bytes": our_rss,
                "bytes_per_transfer": stats.bytes_per_transfer,
                "bytes_per_transfer_with_dictionary": with_dict,
                "bytes_per_transfer_without_tx_hashes": stats.bytes_per_transfer_without_tx_hashes,
                "tx_hash_bytes_per_transfer": tx_hash_per_transfer,
                "reopen_ms_median": reopen_ms,
                "importers_only_transfers_per_sec": parse_rate,
                "stats": stats,
            },
            "duckdb": peer,
            "load_average_1min": load,
            "ratios": {
                "throughput_vs_duckdb": our_rate / d_rate,
                "peak_rss_vs_duckdb": our_rss as f64 / d_rss as f64,
                "bytes_vs_duckdb": with_dict / d_per,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "ingest of {} generated transfers ({} transactions + {} token transfers, {:.0} MiB of CSV)",
        gen.rows(),
        gen.transactions,
        gen.token_transfers,
        mib(csv_bytes)
    );
    println!(
        "{:<34} {:>14} {:>14} {:>10}",
        "", "tripoint", "duckdb", "tri/duck"
    );
    let row = |name: &str, a: f64, b: f64, prec: usize| {
        println!(
            "{name:<34} {a:>14.prec$} {b:>14.prec$} {:>9.2}x",
            a / b,
            prec = prec
        );
    };
    row("records stored", our_rows as f64, d_rows as f64, 0);
    row("time (s)", our_secs, d_secs, 2);
    row("transfers/s", our_rate, d_rate, 0);
    println!("{:<34} {:>14.0}", "  importers alone, no store", parse_rate);
    row("peak RSS (MiB)", mib(our_rss), mib(d_rss), 1);
    row("bytes on disk/transfer (all)", with_dict, d_per, 1);
    println!(
        "{:<34} {:>14.1}",
        "  without address dictionary", stats.bytes_per_transfer
    );
    println!(
        "{:<34} {:>14.1}",
        "  without dictionary and tx hashes", stats.bytes_per_transfer_without_tx_hashes
    );
    println!(
        "{:<34} {:>14.1}",
        "  of which tx hashes + hash index", tx_hash_per_transfer
    );
    println!(
        "{:<34} {:>14.2}",
        "reopen Store::open (ms, median/9)", reopen_ms
    );
    println!("{:<34} {:>14}", "load average (1 min, at the end)", load);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("goals:");
    println!(
        "  >= 1,000,000 transfers/s            {} ({our_rate:.0})",
        verdict(our_rate >= 1e6)
    );
    println!(
        "  <= 32 bytes/transfer (dict aside)   {} ({:.1}, with the 32-byte tx hashes)",
        verdict(stats.bytes_per_transfer <= 32.0),
        stats.bytes_per_transfer
    );
    println!(
        "  <= 32 bytes/transfer w/o tx hashes  {} ({:.1}, dictionary aside too)",
        verdict(stats.bytes_per_transfer_without_tx_hashes <= 32.0),
        stats.bytes_per_transfer_without_tx_hashes
    );
    println!(
        "  reopen < 50 ms                      {} ({reopen_ms:.2} ms)",
        verdict(reopen_ms < 50.0)
    );
    if peer.is_some() {
        println!(
            "  faster than DuckDB                  {} ({:.2}x)",
            verdict(our_rate > d_rate),
            our_rate / d_rate
        );
    }
    Ok(())
}
