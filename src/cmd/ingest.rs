//! `tripoint ingest`: load chain data into a graph store. The importers
//! live in `tripoint-ingest`; this module opens the store, wires an importer
//! to its appender, shows progress and reports.
//! See `docs/ingest.md`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use tripoint_chain::{Address, Asset, Chain, TransferSink};
use tripoint_ingest::{
    AmountUnit, ColumnMap, EthereumEtlFiles, ImportOptions, ImportSummary, RpcClient, RpcOptions,
    TraceApi, TransfersCsvOptions,
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
        /// `traces.csv`: internal transfers (ether moved by contracts), rewards; read after the others.
        #[arg(long)]
        traces: Option<PathBuf>,
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
        /// cryo Parquet files, or directories holding them (searched for the datasets above).
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
            "internal_records": summary.internal,
            "node_traces": summary.node_traces.map(TraceApi::method),
            "segments_written": appended.segments_written,
            "elapsed_secs": elapsed,
            "transfers_per_sec": rate,
            "peak_rss_bytes": tripoint_bench::stats::peak_rss_bytes(),
            "stats": stats,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        // Counts for people: digits grouped.
        let n = |v: u64| tripoint_chain::group_digits(&v.to_string());
        println!("ingested into {}", args.store.display());
        println!(
            "  rows read            {} ({} already stored by an earlier run, skipped)",
            n(summary.rows_read),
            n(summary.rows_resumed)
        );
        println!(
            "  transfer records     {} ({} internal: contracts' calls, rewards, withdrawals)",
            n(summary.transfers),
            n(summary.internal)
        );
        if let Some(api) = summary.node_traces {
            println!("  node traces          {api}");
        }
        println!("  appended             {}", n(appended.appended));
        println!("  duplicates skipped   {}", n(appended.duplicates_skipped));
        println!("  bad rows skipped     {}", n(summary.bad_rows_skipped));
        println!(
            "  no-value rows        {} (failed txs, coinbase inputs, OP_RETURN outputs, top-level and zero-value calls)",
            n(summary.no_value_rows)
        );
        println!(
            "  elapsed              {elapsed:.2} s ({} transfers/s)",
            n(rate as u64)
        );
        println!("  store                {}", stats.summary_line());
    }
    Ok(())
}

/// The cursor names the import of `source` will ask for.
fn cursor_sources(source: &Source) -> anyhow::Result<Vec<String>> {
    let files: Vec<&PathBuf> = match source {
        Source::EthereumEtl {
            transactions,
            token_transfers,
            tokens,
            traces,
        } => std::iter::once(transactions)
            .chain(token_transfers.iter())
            .chain(tokens.iter())
            .chain(traces.iter())
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

/// Parse on one thread, write the store on this one (see
/// `tripoint_ingest::pipeline`).
fn import_pipelined(
    source: &Source,
    appender: &mut Appender,
    opts: &ImportOptions,
    counter: Arc<AtomicU64>,
) -> anyhow::Result<ImportSummary> {
    let resume_sources = cursor_sources(source)?;
    let (source, opts) = (source.clone(), opts.clone());
    tripoint_ingest::pipeline::import_pipelined(appender, &resume_sources, move |sink| {
        import(&source, sink, &opts, counter)
    })
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
            traces,
        } => {
            let files = EthereumEtlFiles {
                transactions: transactions.clone(),
                token_transfers: token_transfers.clone(),
                tokens: tokens.clone(),
            };
            let total = file_size(transactions)
                + token_transfers.as_deref().map_or(0, file_size)
                + tokens.as_deref().map_or(0, file_size)
                + traces.as_deref().map_or(0, file_size);
            with_progress(total, "ingesting", counter, || {
                let mut s = tripoint_ingest::import_ethereum_etl(&files, appender, opts)?;
                if let Some(t) = traces {
                    s.add(&tripoint_ingest::import_ethereum_etl_traces(
                        t,
                        transactions,
                        appender,
                        opts,
                    )?);
                }
                Ok::<_, tripoint_ingest::IngestError>(s)
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
            if client.trace_api() == Some(TraceApi::Neither) {
                eprintln!(
                    "warning: {url} offers neither trace_block nor debug_traceBlockByNumber: internal transfers (ether moved by contracts) are NOT ingested"
                );
            }
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
