//! `tripoint trace`: follow tainted funds from seed addresses through a store.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tripoint_chain::{Address, Amount, Category, Chain, TransferGraph};
use tripoint_store::{Store, TempFileSpills};
use tripoint_trace::report::{flow_edges, report_stream, to_dot, TokenDirectory};
use tripoint_trace::{
    build_report, parse_time, trace, ReportOptions, SpamRules, TaintPolicy, TraceConfig,
};

/// Output formats; the rule shared by every command is in docs/trace.md
/// ("Output formats"): `table` for people (the default), `json` for tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables in whole units with symbols (for people).
    Table,
    /// The short answer: what was stolen, where it is now, what can be frozen.
    Summary,
    /// The full report, exact base-unit strings (for tools).
    Json,
    /// Graphviz graph of the tainted flows.
    Dot,
    /// Parquet files in --out DIR: the tainted flows by block range and the
    /// reached addresses (schema in docs/scale.md).
    Parquet,
    /// Only the poison trace's reached set (address, hops, first tainted
    /// transfer, category): the fastest answer; needs --policy poison.
    Reached,
}

#[derive(clap::Args)]
pub struct Args {
    /// Store directory (made by `tripoint ingest`).
    #[arg(long)]
    pub store: PathBuf,
    /// Seed address(es), comma-separated or repeated: Ethereum (0x and 40 hex digits) or Bitcoin.
    #[arg(long, value_delimiter = ',', required = true)]
    pub seed: Vec<String>,
    /// Start time: unix seconds, YYYY-MM-DD or RFC 3339 (UTC). Everything a seed sends from then on is tainted.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the time window (same formats); later transfers are not followed.
    #[arg(long)]
    pub until: Option<String>,
    /// Taint policy: poison, haircut, fifo, lifo or tiho.
    #[arg(long, default_value = "haircut")]
    pub policy: String,
    /// Maximum hop distance from a seed.
    #[arg(long, default_value_t = 64)]
    pub max_hops: u32,
    /// Dust threshold in base units (wei, satoshi): smaller tainted amounts on one transfer are dropped.
    #[arg(long, default_value = "0")]
    pub dust: String,
    /// Terminal categories (reported as endpoints, not walked), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "exchange,bridge,mixer,sanctioned"
    )]
    pub terminal: Vec<String>,
    /// Walk through terminal addresses too (they are still reported).
    #[arg(long)]
    pub walk_terminals: bool,
    /// File of trusted token contracts (one address per line, `#` comments); with it, every other token is spam.
    #[arg(long)]
    pub trusted_tokens: Option<PathBuf>,
    /// Trace over address clusters (Bitcoin multi-input, Ethereum deposit addresses) instead of single addresses.
    #[arg(long)]
    pub cluster: bool,
    /// How many top paths to list.
    #[arg(long, default_value_t = 20)]
    pub max_paths: usize,
    /// Output: table (people), summary (the short answer), json (tools; exact base units), dot (Graphviz), parquet (files in --out) or reached (poison's reached set only).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Engine traversal: sparse (priority queue over walked addresses), sweep
    /// (one pass over every transfer) or auto (sparse, then a sweep once the
    /// walk outgrows it). All give the same taint.
    #[arg(long, value_enum, default_value = "auto")]
    pub traversal: TraversalArg,
    /// Output directory for --format parquet (created; must be new or empty).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraversalArg {
    Sparse,
    Sweep,
    Auto,
}

/// Resolve seeds and options into an engine configuration.
pub fn config_for<G: TransferGraph>(g: &G, args: &Args) -> anyhow::Result<TraceConfig> {
    let policy: TaintPolicy = args.policy.parse()?;
    let mut seeds = Vec::new();
    for s in args.seed.iter().filter(|s| !s.trim().is_empty()) {
        let a = Address::parse(s).with_context(|| format!("--seed {s}"))?;
        match g.lookup(&a) {
            Some(id) => seeds.push(id),
            None => bail!("--seed {a}: address not found in the store"),
        }
    }
    let mut cfg = TraceConfig::new(policy, seeds);
    // A whole-graph sweep's flows past 256 MiB go to unnamed temporary
    // files until its end (the engine does no I/O itself).
    cfg.spill = Some(Arc::new(TempFileSpills));
    if let Some(f) = &args.from {
        cfg.from = parse_time(f).context("--from")?;
    }
    if let Some(u) = &args.until {
        cfg.until = Some(parse_time(u).context("--until")?);
    }
    cfg.max_hops = args.max_hops;
    cfg.dust = Amount::from_str_radix(args.dust.trim(), 10)
        .map_err(|_| anyhow::anyhow!("--dust {}: not a whole number of base units", args.dust))?;
    cfg.terminal = args
        .terminal
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.parse::<Category>().expect("infallible"))
        .collect();
    cfg.walk_terminals = args.walk_terminals;
    cfg.spam = spam_rules(args.trusted_tokens.as_ref())?;
    cfg.traversal = match args.traversal {
        TraversalArg::Sparse => tripoint_trace::Traversal::Sparse,
        TraversalArg::Sweep => tripoint_trace::Traversal::Sweep,
        TraversalArg::Auto => tripoint_trace::Traversal::Auto,
    };
    Ok(cfg)
}

/// Spam rules, with a trusted-token list read from a file when given.
pub fn spam_rules(file: Option<&PathBuf>) -> anyhow::Result<SpamRules> {
    let mut rules = SpamRules::default();
    if let Some(path) = file {
        let tokens =
            tripoint_ingest::read_address_list(path, tripoint_ingest::AddressKind::Ethereum)
                .context("--trusted-tokens")?;
        rules.trusted_tokens.extend(tokens);
        rules.strict_tokens = true;
    }
    Ok(rules)
}

pub fn native_of(store: &Store) -> Chain {
    store.chain().unwrap_or(Chain::Ethereum)
}

/// Report options for `chain`; `from` is the already-parsed `--from` of the
/// trace configuration, when one was given.
pub fn report_options(chain: Chain, args: &Args, from: Option<i64>) -> ReportOptions {
    let mut opts = ReportOptions {
        native: chain,
        max_paths: args.max_paths,
        from,
        tokens: token_directory(),
        ..Default::default()
    };
    opts.patterns.native_decimals = chain.native_decimals();
    opts
}

/// Token symbols beyond the store's metadata: the built-in well-known tokens,
/// plus Etherscan's token labels when ../shared/data has them (read at most
/// once per process; a damaged file is reported and skipped, since names are
/// presentation only).
pub fn token_directory() -> TokenDirectory {
    let mut dir = TokenDirectory::builtin();
    let Some(data) = super::util::shared_data_dir() else {
        return dir;
    };
    let file = data.join("crypto/labels-etherscan/etherscan_token_labels.json");
    if !file.exists() {
        return dir;
    }
    match tripoint_ingest::labels::parse(tripoint_ingest::labels::LabelFormat::Etherscan, &file) {
        Ok(labels) => {
            dir.add_token_names(labels.iter().map(|l| (&l.address, l.label.as_str())));
        }
        Err(e) => eprintln!("warning: {e} (token symbols from it not used)"),
    }
    dir
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.format == Format::Reached && args.policy != "poison" {
        bail!("--format reached lists the poison trace's reached set: give --policy poison");
    }
    match (args.format, &args.out) {
        (Format::Parquet, None) => bail!("--format parquet writes files: give --out DIR"),
        (f, Some(_)) if f != Format::Parquet => bail!("--out is only for --format parquet"),
        _ => {}
    }
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let chain = native_of(&store);
    let labels = store.all_labels().context("reading the store's labels")?;
    // Token contracts labelled `token` (Etherscan's token list) are trusted.
    let trusted: Vec<Address> = labels
        .iter()
        .filter(|l| l.category.as_str() == "token")
        .map(|l| l.address.clone())
        .collect();
    // Written as it is made (long outputs are never held whole), through
    // one buffer.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.cluster {
        let clustered = tripoint_trace::cluster::ClusteredGraph::new(&store, &labels);
        render(&clustered, &store, &args, chain, &trusted, &mut out)?;
    } else {
        render(&store, &store, &args, chain, &trusted, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// Trace over `g` (the store, or its clustered view) and write the report
/// to `out`; Parquet rows come from `store` itself (transfer ids are the
/// same in both).
fn render<G: TransferGraph + Sync>(
    g: &G,
    store: &Store,
    args: &Args,
    chain: Chain,
    trusted: &[Address],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut cfg = config_for(g, args)?;
    cfg.spam.trusted_tokens.extend(trusted.iter().cloned());
    let opts = &report_options(chain, args, args.from.is_some().then_some(cfg.from));
    // Only the formats that show the full result run the full trace.
    let full = || -> anyhow::Result<_> {
        let result = trace(g, &cfg)?;
        let report = build_report(g, &result, opts);
        Ok((result, report))
    };
    match args.format {
        Format::Reached => {
            let reach = tripoint_trace::reached(g, &cfg)?;
            tripoint_trace::text::stream_reached_table(g, &reach, |line| {
                out.write_all(line.as_bytes())
            })?;
        }
        Format::Json => {
            // Serialised as it is built: the same bytes as the built report.
            let result = trace(g, &cfg)?;
            serde_json::to_writer_pretty(&mut *out, &report_stream(g, &result, opts))?;
            out.write_all(b"\n")?;
        }
        Format::Dot => {
            let (result, report) = full()?;
            out.write_all(to_dot(&report, &flow_edges(g, &result, opts.native)).as_bytes())?;
        }
        Format::Table => {
            out.write_all(tripoint_trace::text::report_table(&full()?.1).as_bytes())?
        }
        Format::Summary => {
            // Only what the summary shows: not every address row and flow.
            let result = trace(g, &cfg)?;
            let report = tripoint_trace::build_summary_report(g, &result, opts);
            out.write_all(tripoint_trace::text::summary(&report).as_bytes())?
        }
        Format::Parquet => {
            let result = trace(g, &cfg)?;
            let dir = args
                .out
                .as_ref()
                .context("--format parquet needs --out DIR")?;
            let bar = super::util::progress(result.flows.len() as u64, "flows");
            // Written as it is built: flow and address rows go to their
            // files from the result, no report in memory.
            let m = tripoint_export::trace::write_trace_result(
                store,
                g,
                result,
                opts,
                dir,
                &mut |d, _| bar.set_position(d),
            )
            .with_context(|| format!("writing the trace to {}", dir.display()))?;
            bar.finish_and_clear();
            writeln!(
                out,
                "wrote {} tainted flows in {} file(s) and {} address rows to {} ({})",
                m.flows.iter().map(|f| f.rows).sum::<u64>(),
                m.flows.len(),
                m.addresses.rows,
                dir.display(),
                tripoint_export::trace::TRACE_MANIFEST_FILE
            )?;
        }
    }
    Ok(())
}
