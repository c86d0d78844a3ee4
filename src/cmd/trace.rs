//! `tripoint trace`: follow tainted funds from seed addresses through a store,
//! and `tripoint bench trace`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use tripoint_chain::{Address, Amount, Category, Chain, TransferGraph};
use tripoint_store::Store;
use tripoint_trace::report::{flow_edges, to_dot, TokenDirectory};
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
    /// Output: table (people), summary (the short answer), json (tools; exact base units) or dot (Graphviz).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Engine traversal: sparse (priority queue over walked addresses), sweep
    /// (one pass over every transfer) or auto (sparse, then a sweep once the
    /// walk outgrows it). All give the same taint.
    #[arg(long, value_enum, default_value = "auto")]
    pub traversal: TraversalArg,
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
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Err(e) = dir.add_etherscan_tokens(&text) {
            eprintln!(
                "warning: {}:{}:{}: {e} (token symbols from it not used)",
                file.display(),
                e.line(),
                e.column()
            );
        }
    }
    dir
}

pub fn run(args: Args) -> anyhow::Result<()> {
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
    let out = if args.cluster {
        let clustered = tripoint_trace::cluster::ClusteredGraph::new(&store, &labels);
        render(&clustered, &args, chain, &trusted)?
    } else {
        render(&store, &args, chain, &trusted)?
    };
    print!("{out}");
    Ok(())
}

fn render<G: TransferGraph>(
    g: &G,
    args: &Args,
    chain: Chain,
    trusted: &[Address],
) -> anyhow::Result<String> {
    let mut cfg = config_for(g, args)?;
    cfg.spam.trusted_tokens.extend(trusted.iter().cloned());
    let opts = &report_options(chain, args, args.from.is_some().then_some(cfg.from));
    let result = trace(g, &cfg)?;
    let report = build_report(g, &result, opts);
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Dot => to_dot(&report, &flow_edges(g, &result, opts.native)),
        Format::Table => tripoint_trace::text::report_table(&report),
        Format::Summary => tripoint_trace::text::summary(&report),
    })
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Generated transfers (transactions + token transfers).
    #[arg(long, default_value_t = 10_000_000)]
    pub transfers: u64,
    /// A tiny run (20,000 transfers) that finishes in seconds.
    #[arg(long)]
    pub smoke: bool,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip the Python peers (DuckDB, graphsense-clustering).
    #[arg(long)]
    pub no_peers: bool,
    /// Working directory: new or empty, kept afterwards (default: a temporary one, removed).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Parts to run, comma-separated: full, poison, follow, screen, cluster.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "full,poison,follow,screen,cluster"
    )]
    pub parts: Vec<String>,
}

fn mib(b: Option<u64>) -> String {
    b.map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
        .unwrap_or_else(|| "n/a".into())
}

fn run_self(args: &[&str]) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe).args(args).output()?;
    if !out.status.success() {
        bail!(
            "tripoint {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The project's venv Python with the benchmark peers (`TRIPOINT_PYTHON` wins).
fn bench_python() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("TRIPOINT_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/setup-python.sh"))
        .arg("--bench")
        .output()
        .context("running scripts/setup-python.sh --bench")?;
    if !out.status.success() {
        bail!(
            "scripts/setup-python.sh --bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let py = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    Ok(PathBuf::from(py))
}

fn peer(script: &str, args: &[String]) -> anyhow::Result<serde_json::Value> {
    let py = bench_python()?;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/peers")
        .join(script);
    let out = std::process::Command::new(&py)
        .arg(&path)
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("{script} printed '{line}'"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A deterministic xorshift for the synthetic UTXO chain.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A synthetic Bitcoin chain of about `transfers` records: wallets spend
/// 1–4 of their UTXOs to 1–3 outputs; 3% of transactions are 5×5 CoinJoins.
fn synthetic_utxo(transfers: u64, seed: u64) -> tripoint_trace::MemGraph {
    use tripoint_chain::{Asset, OutPoint, Position, TransferRecord, TxHash};
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let wallets = (transfers / 20).max(50);
    let addr = |w: u64, k: u64| {
        Address::parse_btc(&format!("1W{w:012}K{k:03}xxxxx")).expect("synthetic address")
    };
    let mut utxos: Vec<(TxHash, u32, u64, u64)> = Vec::new(); // (tx, index, wallet, amount)
    let mut recs = Vec::with_capacity(transfers as usize + 16);
    let mut n_tx = 0u64;
    let hash = |n: u64| {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_be_bytes());
        h[8] = 0xb7;
        TxHash(h)
    };
    let push = |recs: &mut Vec<TransferRecord>,
                h: TxHash,
                n: u64,
                pos: Position,
                from: Address,
                to: Address,
                amt: u64| {
        recs.push(TransferRecord {
            chain: Chain::Bitcoin,
            block: n / 2_000,
            timestamp: (n / 2_000) as i64 * 600,
            tx_hash: h,
            tx_index: (n % 2_000) as u32,
            position: pos,
            from,
            to,
            asset: Asset::Native(Chain::Bitcoin),
            amount: Amount::from(amt),
        })
    };
    while (recs.len() as u64) < transfers {
        let h = hash(n_tx);
        let coinjoin = utxos.len() > 100 && rng.below(100) < 3;
        let n_in = if utxos.len() < 10 {
            0
        } else if coinjoin {
            5
        } else {
            1 + rng.below(4) as usize
        };
        let mut total = 0u64;
        let mut payer = rng.below(wallets);
        for k in 0..n_in {
            let i = rng.below(utxos.len() as u64) as usize;
            let (ptx, pidx, w, amt) = utxos.swap_remove(i);
            if k == 0 {
                payer = w;
            }
            // Outside CoinJoins a wallet spends its own coins: re-own them to the payer.
            let owner = if coinjoin { w } else { payer };
            total += amt;
            push(
                &mut recs,
                h,
                n_tx,
                Position::Input {
                    index: k as u32,
                    spends: OutPoint {
                        tx: ptx,
                        index: pidx,
                    },
                },
                addr(owner, rng.below(4)),
                Address::Tx(h),
                amt,
            );
        }
        if n_in == 0 {
            total = 5_000_000_000;
        }
        let n_out = if coinjoin {
            6
        } else {
            1 + rng.below(3) as usize
        };
        for k in 0..n_out {
            let (w, amt) = if coinjoin && k < 5 {
                (rng.below(wallets), total / 6)
            } else if k + 1 == n_out {
                (
                    if n_out > 1 { payer } else { rng.below(wallets) },
                    total
                        - (total / 6) * if coinjoin { 5 } else { 0 }
                        - if coinjoin {
                            0
                        } else {
                            (total / n_out as u64) * (n_out as u64 - 1)
                        },
                )
            } else {
                (rng.below(wallets), total / n_out as u64)
            };
            push(
                &mut recs,
                h,
                n_tx,
                Position::Output(k as u32),
                Address::Tx(h),
                addr(w, rng.below(4)),
                amt,
            );
            utxos.push((h, k as u32, w, amt));
        }
        n_tx += 1;
    }
    tripoint_trace::MemGraph::build(recs, vec![], vec![])
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    use std::time::Instant;
    use tripoint_trace::screen::ScreenIndex;
    use tripoint_trace::{TraceResult, Traversal};

    let transfers = if args.smoke { 20_000 } else { args.transfers };
    let tmp = tempfile_dir(args.dir.as_ref())?;
    let dir = tmp.path.clone();
    let gen = dir.join("gen");
    let store_dir = dir.join("store");
    println!(
        "== tripoint bench trace: {transfers} generated transfers (seed {}), work dir {}",
        args.seed,
        dir.display()
    );
    let t = Instant::now();
    run_self(&[
        "gen",
        "--out",
        path_str(&gen)?,
        "--seed",
        &args.seed.to_string(),
        "--transfers",
        &transfers.to_string(),
    ])?;
    println!(
        "generate                {:>10.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    run_self(&[
        "ingest",
        "--store",
        path_str(&store_dir)?,
        "ethereum-etl",
        "--transactions",
        path_str(&gen.join("transactions.csv"))?,
        "--token-transfers",
        path_str(&gen.join("token_transfers.csv"))?,
        "--tokens",
        path_str(&gen.join("tokens.csv"))?,
    ])?;
    println!(
        "ingest                  {:>10.2} s",
        t.elapsed().as_secs_f64()
    );
    let truth = crate::cmd::eval::read_ground_truth(&gen.join("truth.json"))?;
    let thief = truth
        .seeds
        .addresses
        .first()
        .cloned()
        .context("truth.json has no seed address")?;

    // Part 1 runs on the bare transfers (no labels): every address is walked.
    let store = Store::open(&store_dir)?;
    let n = store.transfer_count();
    let rss0 = crate::cmd::util::peak_rss_bytes();

    // Full-graph haircut: a sweep over every transfer, seeded at the ten
    // busiest senders so that taint spreads over most of the graph.
    let mut out_deg: Vec<(usize, u32)> = (0..store.address_count() as u32)
        .map(|a| (store.outgoing(a).count(), a))
        .collect();
    out_deg.sort_unstable_by(|a, b| b.cmp(a));
    let part = |p: &str| args.parts.iter().any(|x| x.trim() == p);
    if part("full") {
        let busiest: Vec<u32> = out_deg.iter().take(10).map(|x| x.1).collect();
        let mut cfg = TraceConfig::new(TaintPolicy::Haircut, busiest);
        cfg.terminal = vec![];
        cfg.spam.lookalike = false;
        cfg.traversal = Traversal::Sweep;
        let t = Instant::now();
        let full: TraceResult = trace(&store, &cfg)?;
        let full_s = t.elapsed().as_secs_f64();
        let rss_full = crate::cmd::util::peak_rss_bytes();
        let (full_nodes, full_visited) = (full.nodes.len(), full.visited);
        drop(full);
        // The bound: one sequential pass over the store's bytes, in the same
        // run, one segment file at a time (memory stays one file at 10^8).
        let mut pass_s = 0.0f64;
        let mut total_bytes = 0usize;
        let mut bytes = Vec::new();
        for e in std::fs::read_dir(&store_dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "tps") {
                bytes.clear();
                bytes.extend(std::fs::read(&p)?);
                total_bytes += bytes.len();
                let t = Instant::now();
                let mut acc = 0u64;
                for c in bytes.chunks_exact(8) {
                    acc = acc.wrapping_add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
                }
                std::hint::black_box(acc);
                pass_s += t.elapsed().as_secs_f64();
            }
        }
        let pass_s = pass_s.max(1e-9);
        // The random-access bound: the least a balance-keeping sweep does
        // per row (two random 32-byte records), on the same rows.
        let t = Instant::now();
        std::hint::black_box(tripoint_trace::sweep::balance_pass(&store));
        let random_s = t.elapsed().as_secs_f64().max(1e-9);
        let engine_tps = n as f64 / full_s;
        let bound_tps = n as f64 / pass_s;
        let random_tps = n as f64 / random_s;
        println!(
            "\n-- full-graph haircut (sweep over {n} transfers, {} reached, {} visited)",
            full_nodes, full_visited
        );
        println!(
            "tripoint haircut        {:>10.3} s  {:>12.0} transfers/s   peak RSS {}",
            full_s,
            engine_tps,
            mib(rss_full)
        );
        println!(
            "sequential pass         {:>10.3} s  {:>12.0} transfers/s   ({} bytes, {:.2} GB/s)",
            pass_s,
            bound_tps,
            total_bytes,
            total_bytes as f64 / pass_s / 1e9
        );
        println!(
            "random-update pass      {:>10.3} s  {:>12.0} transfers/s   (two random 32-byte records a row, nothing else)",
            random_s, random_tps
        );
        println!(
            "ratio bound/engine      {:>10.1}x   (goal ≤ 5x; goal ≥ 30M transfers/s/core)",
            bound_tps / engine_tps
        );
        println!(
            "ratio random/engine     {:>10.1}x   (sequential/random-update: {:.1}x)",
            random_tps / engine_tps,
            bound_tps / random_tps
        );
        drop(bytes);
    }

    if part("poison") {
        // Poison reachability from the thief, beside DuckDB's recursive CTE.
        let thief_id = store.lookup(&thief).context("thief not in store")?;
        let mut pcfg = TraceConfig::new(TaintPolicy::Poison, vec![thief_id]);
        pcfg.terminal = vec![];
        pcfg.spam.lookalike = false;
        pcfg.max_hops = u32::MAX;
        pcfg.traversal = Traversal::Sweep;
        println!("\n-- poison reachability from the thief (address id {thief_id}; time-respecting, no limits)");
        // Like for like with the CTE: the reached set with hops and first
        // arrival (tripoint_trace::reach), nothing else.
        let t = Instant::now();
        let lean = tripoint_trace::reach(&store, &pcfg);
        let reach_s = t.elapsed().as_secs_f64();
        // The full poison trace (sweep kernel, report-ready result: flows,
        // per-address taint, spam), on its own line.
        let t = Instant::now();
        let poison = trace(&store, &pcfg)?;
        let trace_s = t.elapsed().as_secs_f64();
        let reached = match &lean {
            Some(r) => {
                println!(
                    "tripoint reach          {:>10.3} s  reached {}   peak RSS {}",
                    reach_s,
                    r.len(),
                    mib(crate::cmd::util::peak_rss_bytes())
                );
                if r.len() != poison.nodes.len() {
                    println!("REACH AND THE POISON TRACE DIFFER");
                }
                r.len()
            }
            None => {
                println!(
                    "tripoint reach          needs the full trace here (DEX or look-alike rule)"
                );
                poison.nodes.len()
            }
        };
        println!(
            "tripoint poison trace   {:>10.3} s  reached {}   (full result: flows, taint per address)",
            trace_s,
            poison.nodes.len(),
        );
        let ours_s = if lean.is_some() { reach_s } else { trace_s };
        if !args.no_peers {
            // Same edges the engine may walk: non-zero, not a spam token.
            let verdicts = pcfg.spam.token_verdicts(&store);
            let edges = dir.join("edges.csv");
            {
                use std::io::Write;
                let mut w = std::io::BufWriter::new(std::fs::File::create(&edges)?);
                writeln!(w, "id,src,dst,asset")?;
                for id in 0..n {
                    let r = store.transfer(id);
                    if r.amount > Amount::ZERO
                        && verdicts.get(r.asset as usize).is_none_or(|v| v.is_none())
                        && r.src != r.dst
                    {
                        writeln!(w, "{id},{},{},{}", r.src, r.dst, r.asset)?;
                    }
                }
            }
            match peer(
                "duckdb_reach.py",
                &[path_str(&edges)?.to_string(), thief_id.to_string()],
            ) {
                Ok(v) => {
                    let q = v["query_s"].as_f64().unwrap_or(f64::NAN);
                    println!(
                        "duckdb recursive CTE    {:>10.3} s  reached {}   (load {:.2} s)",
                        q,
                        v["reached"],
                        v["load_s"].as_f64().unwrap_or(0.0)
                    );
                    println!(
                        "ratio duckdb/tripoint   {:>10.1}x   (goal ≥ 20x; full poison trace {:.1}x){}",
                        q / ours_s.max(1e-9),
                        q / trace_s.max(1e-9),
                        if v["reached"].as_u64() == Some(reached as u64) {
                            ""
                        } else {
                            "  REACHED SETS DIFFER"
                        }
                    );
                }
                Err(e) => println!("duckdb peer unavailable: {e:#}"),
            }
        }
    }

    // Follow-the-money with labels (terminals end walks): 100 seeds, 10 hops.
    drop(store);
    run_self(&[
        "labels",
        "import",
        "--store",
        path_str(&store_dir)?,
        path_str(&gen.join("labels.csv"))?,
    ])?;
    let store = Store::open(&store_dir)?;
    if part("follow") {
        let mut rng = XorShift(args.seed | 1);
        let senders: Vec<u32> = out_deg.iter().filter(|x| x.0 > 0).map(|x| x.1).collect();
        let mut lat = Vec::new();
        let mut reached = 0usize;
        // (total ms, trace ms, seed, reached, visited) of each run, for the slowest.
        let mut runs: Vec<(f64, f64, u32, usize, u64)> = Vec::new();
        for _ in 0..100 {
            let s = senders[rng.below(senders.len() as u64) as usize];
            let mut c = TraceConfig::new(TaintPolicy::Haircut, vec![s]);
            c.max_hops = 10;
            // Sparse, switching to a sweep once the walk grows past a sweep's cost.
            c.traversal = Traversal::Auto;
            let t = Instant::now();
            let r = trace(&store, &c)?;
            let trace_ms = t.elapsed().as_secs_f64() * 1e3;
            let rep = build_report(&store, &r, &ReportOptions::default());
            let ms = t.elapsed().as_secs_f64() * 1e3;
            lat.push(ms);
            reached += rep.addresses.len();
            runs.push((ms, trace_ms, s, rep.addresses.len(), r.visited));
        }
        runs.sort_by(|a, b| b.0.total_cmp(&a.0));
        lat.sort_by(|a, b| a.total_cmp(b));
        println!("\n-- follow-the-money: 100 random seeds, haircut, 10 hops, report included");
        println!("latency p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   (mean reached {:.0} addresses; goal p50 < 50 ms at 10^7)",
        percentile(&lat, 0.5), percentile(&lat, 0.99), lat.last().copied().unwrap_or(0.0), reached as f64 / 100.0);
        for (ms, trace_ms, s, n, visited) in runs.iter().take(3) {
            println!(
                "  slow seed {:<44} {:>9.1} ms (trace {:.1} ms, report {:.1} ms), {n} reached, {visited} visited",
                store.address(*s).to_string(),
                ms,
                trace_ms,
                ms - trace_ms
            );
        }
        println!(
            "peak RSS                {:>10}",
            mib(crate::cmd::util::peak_rss_bytes())
        );
    }

    // Screening: direct-hit lookups in batch.
    if part("screen") {
        let labels = store.all_labels()?;
        let ix = ScreenIndex::from_labels(&labels);
        let lookups = if args.smoke { 200_000 } else { 10_000_000 };
        let pool: Vec<Address> = (0..(store.address_count() as u32).min(1_000_000))
            .map(|a| store.address(a))
            .collect();
        let mut hits = 0u64;
        let t = Instant::now();
        for i in 0..lookups {
            if ix.is_hit(&pool[(i * 7919) % pool.len()]) {
                hits += 1;
            }
        }
        let screen_s = t.elapsed().as_secs_f64();
        println!(
            "\n-- screening: {lookups} direct-hit lookups over {} store addresses ({} labels)",
            pool.len(),
            labels.len()
        );
        println!(
            "lookups/s               {:>12.0}   ({hits} hits; goal ≥ 5M/s)   peak RSS {}",
            lookups as f64 / screen_s,
            mib(crate::cmd::util::peak_rss_bytes())
        );
    }

    // Multi-input clustering on a synthetic UTXO chain.
    if part("cluster") {
        let utxo_n = transfers.min(4_000_000);
        let g = synthetic_utxo(utxo_n, args.seed);
        let t = Instant::now();
        let (uf, stats) = tripoint_trace::cluster::multi_input(&g, &Default::default());
        let ours_cluster = t.elapsed().as_secs_f64();
        println!("\n-- multi-input clustering: synthetic UTXO chain, {} transfers, {} transactions ({} CoinJoins skipped)", g.transfer_count(), stats.transactions, stats.coinjoins_skipped);
        println!(
            "tripoint                {:>10.3} s  {} clusters over {} ids   peak RSS {}",
            ours_cluster,
            uf.clusters(),
            uf.len(),
            mib(crate::cmd::util::peak_rss_bytes())
        );
        if !args.no_peers {
            // The same multi-input transactions, CoinJoins excluded, as id lists.
            let txs = dir.join("txs.txt");
            write_input_sets(&g, &txs)?;
            match peer(
                "graphsense_cluster.py",
                &[
                    path_str(&txs)?.to_string(),
                    (uf.len().max(1) - 1).to_string(),
                ],
            ) {
                Ok(v) => {
                    let c = v["cluster_s"].as_f64().unwrap_or(f64::NAN);
                    println!(
                    "graphsense-clustering   {:>10.3} s  {} clusters   (parse {:.2} s, excluded)",
                    c,
                    v["clusters"],
                    v["parse_s"].as_f64().unwrap_or(0.0)
                );
                    println!(
                        "ratio graphsense/ours   {:>10.2}x   (goal ≥ 1x){}",
                        c / ours_cluster.max(1e-9),
                        if v["clusters"].as_u64() == Some(uf.clusters() as u64) {
                            ""
                        } else {
                            "  CLUSTER COUNTS DIFFER"
                        }
                    );
                }
                Err(e) => println!("graphsense peer unavailable: {e:#}"),
            }
        }
    }
    println!(
        "\npeak RSS {} (before the sweep {})",
        mib(crate::cmd::util::peak_rss_bytes()),
        mib(rss0)
    );
    Ok(())
}

/// Input address sets of non-CoinJoin transactions, one line each.
fn write_input_sets<G: TransferGraph>(g: &G, path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut key = None;
    let mut ins: Vec<u32> = Vec::new();
    let mut outs: Vec<Amount> = Vec::new();
    let rules = tripoint_trace::cluster::CoinJoinRules::default();
    let flush = |ins: &mut Vec<u32>,
                 outs: &mut Vec<Amount>,
                 w: &mut std::io::BufWriter<std::fs::File>|
     -> anyhow::Result<()> {
        ins.sort_unstable();
        ins.dedup();
        outs.sort_unstable();
        let mut best = 0;
        let mut run = 0;
        for i in 0..outs.len() {
            run = if i > 0 && outs[i] == outs[i - 1] {
                run + 1
            } else {
                1
            };
            best = best.max(run);
        }
        let coinjoin = ins.len() >= 2 && best >= rules.min_equal_outputs;
        if !outs.is_empty() && !ins.is_empty() && !coinjoin {
            let line: Vec<String> = ins.iter().map(|x| x.to_string()).collect();
            writeln!(w, "{}", line.join(" "))?;
        }
        ins.clear();
        outs.clear();
        Ok(())
    };
    for id in 0..g.transfer_count() {
        let r = g.transfer(id);
        let k = (r.block, r.tx_index);
        if key != Some(k) {
            flush(&mut ins, &mut outs, &mut w)?;
            key = Some(k);
        }
        if r.sub_index & (1 << 31) != 0 {
            outs.push(r.amount);
        } else {
            ins.push(r.src);
        }
    }
    flush(&mut ins, &mut outs, &mut w)?;
    Ok(())
}

fn path_str(p: &std::path::Path) -> anyhow::Result<&str> {
    p.to_str().context("non-UTF-8 path")
}

/// A work directory: the given one (kept), or a temporary one removed on drop.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn tempfile_dir(given: Option<&PathBuf>) -> anyhow::Result<WorkDir> {
    match given {
        Some(p) => {
            crate::cmd::util::fresh_work_dir(p)?;
            Ok(WorkDir {
                path: p.clone(),
                remove: false,
            })
        }
        None => {
            let p =
                std::env::temp_dir().join(format!("tripoint-bench-trace-{}", std::process::id()));
            std::fs::create_dir_all(&p)?;
            Ok(WorkDir {
                path: p,
                remove: true,
            })
        }
    }
}
