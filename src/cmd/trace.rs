//! `tripoint trace`: follow tainted funds from seed addresses through a store,
//! and `tripoint bench trace`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use tripoint_chain::{Address, Amount, Category, Chain, TransferGraph};
use tripoint_store::Store;
use tripoint_trace::report::{flow_edges, to_dot};
use tripoint_trace::{
    build_report, parse_time, trace, Report, ReportOptions, SpamRules, TaintPolicy, TraceConfig,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
    Dot,
}

#[derive(clap::Args)]
pub struct Args {
    /// Store directory (made by `tripoint ingest`).
    #[arg(long)]
    pub store: PathBuf,
    /// Seed address(es), comma-separated or repeated.
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
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
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
    Ok(cfg)
}

/// Spam rules, with a trusted-token list read from a file when given.
pub fn spam_rules(file: Option<&PathBuf>) -> anyhow::Result<SpamRules> {
    let mut rules = SpamRules::default();
    if let Some(path) = file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let l = line.split('#').next().unwrap_or("").trim();
            let l = l.split(',').next().unwrap_or("").trim();
            if l.is_empty() || l.eq_ignore_ascii_case("address") {
                continue;
            }
            let a = Address::parse_eth(l)
                .with_context(|| format!("{}:{}:1: bad token address", path.display(), i + 1))?;
            rules.trusted_tokens.insert(a);
        }
        rules.strict_tokens = true;
    }
    Ok(rules)
}

pub fn native_of(store: &Store) -> Chain {
    store.chain().unwrap_or(Chain::Ethereum)
}

pub fn report_options(chain: Chain, args: &Args) -> anyhow::Result<ReportOptions> {
    let mut opts = ReportOptions {
        native: chain,
        max_paths: args.max_paths,
        ..Default::default()
    };
    opts.patterns.native_decimals = if chain == Chain::Bitcoin { 8 } else { 18 };
    if let Some(f) = &args.from {
        opts.from = Some(parse_time(f)?);
    }
    Ok(opts)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let chain = native_of(&store);
    let opts = report_options(chain, &args)?;
    let out = if args.cluster {
        let labels = store.all_labels().context("reading the store's labels")?;
        let clustered = tripoint_trace::cluster::ClusteredGraph::new(&store, &labels);
        render(&clustered, &args, &opts)?
    } else {
        render(&store, &args, &opts)?
    };
    print!("{out}");
    Ok(())
}

fn render<G: TransferGraph>(g: &G, args: &Args, opts: &ReportOptions) -> anyhow::Result<String> {
    let cfg = config_for(g, args)?;
    let result = trace(g, &cfg)?;
    let report = build_report(g, &result, opts);
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Dot => to_dot(&report, &flow_edges(g, &result, opts.native)),
        Format::Table => table(&report),
    })
}

/// A terminal summary of a report.
pub fn table(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "policy: {}   seeds: {}",
        r.policy.as_str(),
        r.seeds.join(", ")
    );
    let _ = writeln!(s, "\nTOTALS (base units)");
    let _ = writeln!(
        s,
        "{:<44} {:>28} {:>28} {:>28} {:>28} {:>5}",
        "asset", "seeded", "held", "exited", "unaccounted", "ok"
    );
    for (k, t) in &r.totals {
        let _ = writeln!(
            s,
            "{k:<44} {:>28} {:>28} {:>28} {:>28} {:>5}",
            t.seeded,
            t.held,
            t.exited,
            t.unaccounted,
            if t.reconciles { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        s,
        "\nENDPOINTS ({}; freeze candidates first)",
        r.endpoints.len()
    );
    for e in &r.endpoints {
        let _ = writeln!(
            s,
            "{}{:<44} {:<10} {:>28} {:<44} first {} held {}",
            if e.freeze_candidate { "* " } else { "  " },
            e.address,
            e.category,
            e.amount,
            e.asset,
            e.first_arrival,
            e.held_amount
        );
    }
    let _ = writeln!(s, "\nADDRESSES ({})", r.addresses.len());
    for a in r.addresses.iter().take(200) {
        let taint: Vec<String> = a.taint.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let pats: Vec<&str> = a.patterns.iter().map(|p| p.as_str()).collect();
        let label = a.labels.first().map(|l| l.label.as_str()).unwrap_or("");
        let _ = writeln!(
            s,
            "{:<44} hops {:>2} {:<9} {} [{}] {}",
            a.address,
            a.hops,
            format!("{:?}", a.role).to_lowercase(),
            taint.join(", "),
            pats.join(","),
            label
        );
    }
    if r.addresses.len() > 200 {
        let _ = writeln!(s, "… {} more (use --format json)", r.addresses.len() - 200);
    }
    let _ = writeln!(s, "\nTOP PATHS ({})", r.paths.len());
    for p in &r.paths {
        let _ = writeln!(s, "{} {} -> {}", p.amount, p.asset, p.endpoint);
        for h in &p.hops {
            let _ = writeln!(
                s,
                "    {} -> {}  {} {}  tx {}",
                h.from, h.to, h.amount, h.asset, h.tx
            );
        }
    }
    let _ = writeln!(s, "\nSPAM ({} transfers, never tainted)", r.spam.len());
    for x in r.spam.iter().take(50) {
        let _ = writeln!(
            s,
            "  {} {} -> {} {} {}",
            x.reason, x.from, x.to, x.amount, x.asset
        );
    }
    s
}

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn bench(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("`tripoint bench trace` is not available in this build yet")
}
