//! `tripoint bench trace`: taint propagation over a generated store (a
//! full-graph haircut beside the machine's sequential and random-access
//! bounds), poison reachability beside DuckDB's recursive CTE,
//! follow-the-money latency, screening throughput, and multi-input
//! clustering beside graphsense-clustering.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tripoint_chain::{Address, Amount, TransferBatch, TransferGraph};
use tripoint_gen::utxo::{synthetic_utxo, XorShift};
use tripoint_gen::GroundTruth;
use tripoint_store::{Store, TempFileSpills};
use tripoint_trace::screen::ScreenIndex;
use tripoint_trace::{
    build_report, trace, EngineKind, MemGraph, ReportOptions, TaintPolicy, TraceConfig,
    TraceResult, Traversal,
};

use crate::error::{Context as _, Result};
use crate::stats::{mib, peak_rss_bytes, percentile};
use crate::{Peers, Tripoint, WorkDir};

/// A trace's configuration as `tripoint trace` makes it: flows past 256 MiB
/// spilled to unnamed temporary files (full-graph sweeps at 5×10^8).
fn trace_config(policy: TaintPolicy, seeds: Vec<u32>) -> TraceConfig {
    let mut cfg = TraceConfig::new(policy, seeds);
    cfg.spill = Some(Arc::new(TempFileSpills));
    cfg
}

/// What to run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Generated transfers (transactions + token transfers).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10_000_000))]
    pub transfers: u64,
    /// A tiny run (20,000 transfers) that finishes in seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub smoke: bool,
    /// Generator seed.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 42))]
    pub seed: u64,
    /// Skip the Python peers (DuckDB, graphsense-clustering).
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_peers: bool,
    /// Working directory: new or empty, kept afterwards (default: a temporary one, removed).
    #[cfg_attr(feature = "cli", arg(long))]
    pub dir: Option<PathBuf>,
    /// Parts to run, comma-separated: full, poison, follow, screen, cluster,
    /// contracts (the same scenario again with contract-mediated flows and
    /// their traces.csv: the slowdown of the traces).
    #[cfg_attr(
        feature = "cli",
        arg(
            long,
            value_delimiter = ',',
            default_value = "full,poison,follow,screen,cluster,contracts"
        )
    )]
    pub parts: Vec<String>,
    /// Share of contract-mediated flows in the `contracts` part's second scenario (0 to 1].
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 0.3))]
    pub contract_share: f64,
}

/// Seconds of the three traces the `contracts` part compares, on one store.
struct TraceTimes {
    transfers: u64,
    full_haircut_s: f64,
    poison_s: f64,
    poison_reached: usize,
    thief_haircut_s: f64,
    thief_reached: usize,
}

/// On a store with labels: a full-graph haircut sweep seeded at the ten
/// busiest senders (terminals cleared, as the `full` part), the full poison
/// trace from the thief (no limits, as the `poison` part), and the
/// investigator's haircut from the thief (labels end walks, sparse then sweep).
fn contract_trace_times(store: &Store, thief: &Address) -> Result<TraceTimes> {
    let mut out_deg: Vec<(usize, u32)> = (0..store.address_count() as u32)
        .map(|a| (store.outgoing(a).count(), a))
        .collect();
    out_deg.sort_unstable_by(|a, b| b.cmp(a));
    let busiest: Vec<u32> = out_deg.iter().take(10).map(|x| x.1).collect();
    let mut cfg = trace_config(TaintPolicy::Haircut, busiest);
    cfg.terminal = vec![];
    cfg.spam.lookalike = false;
    cfg.traversal = Traversal::Sweep;
    let t = Instant::now();
    drop(trace(store, &cfg)?);
    let full_haircut_s = t.elapsed().as_secs_f64();

    let thief_id = store.lookup(thief).context("thief not in store")?;
    let mut pcfg = trace_config(TaintPolicy::Poison, vec![thief_id]);
    pcfg.terminal = vec![];
    pcfg.spam.lookalike = false;
    pcfg.max_hops = u32::MAX;
    pcfg.traversal = Traversal::Sweep;
    let t = Instant::now();
    let poison = trace(store, &pcfg)?;
    let poison_s = t.elapsed().as_secs_f64();

    let mut hcfg = trace_config(TaintPolicy::Haircut, vec![thief_id]);
    hcfg.traversal = Traversal::Auto;
    let t = Instant::now();
    let haircut = trace(store, &hcfg)?;
    let thief_haircut_s = t.elapsed().as_secs_f64();
    Ok(TraceTimes {
        transfers: store.transfer_count(),
        full_haircut_s,
        poison_s,
        poison_reached: poison.nodes.len(),
        thief_haircut_s,
        thief_reached: haircut.nodes.len(),
    })
}

/// `tripoint gen` into `gen` and `tripoint ingest ethereum-etl` of its
/// files into `store_dir`; with `contract_share`, that share of the flows
/// goes through contracts and the store gets the generated `traces.csv`
/// too. Returns the seconds each step took.
fn generate_and_ingest(
    tripoint: &Tripoint,
    gen: &Path,
    store_dir: &Path,
    seed: u64,
    transfers: u64,
    contract_share: Option<f64>,
) -> Result<(f64, f64)> {
    let (seed, transfers) = (seed.to_string(), transfers.to_string());
    let share = contract_share.map(|s| s.to_string());
    let mut gen_args = vec!["gen", "--out", path_str(gen)?, "--seed", &seed];
    gen_args.extend(["--transfers", &transfers]);
    if let Some(share) = &share {
        gen_args.extend(["--contract-share", share]);
    }
    let t = Instant::now();
    tripoint.run(&gen_args)?;
    let gen_s = t.elapsed().as_secs_f64();
    let file = |name: &str| gen.join(name);
    let (txs, tokens_tx, tokens, traces) = (
        file("transactions.csv"),
        file("token_transfers.csv"),
        file("tokens.csv"),
        file("traces.csv"),
    );
    let mut ingest_args = vec!["ingest", "--store", path_str(store_dir)?, "ethereum-etl"];
    ingest_args.extend(["--transactions", path_str(&txs)?]);
    ingest_args.extend(["--token-transfers", path_str(&tokens_tx)?]);
    ingest_args.extend(["--tokens", path_str(&tokens)?]);
    if share.is_some() {
        ingest_args.extend(["--traces", path_str(&traces)?]);
    }
    let t = Instant::now();
    tripoint.run(&ingest_args)?;
    Ok((gen_s, t.elapsed().as_secs_f64()))
}

/// The `contracts` part: the same seed and size generated again with
/// `share` of the flows through contracts, ingested with its traces.csv
/// and labelled; the same three traces on both stores, and the slowdown.
fn contracts_part(
    tripoint: &Tripoint,
    dir: &Path,
    args: &Options,
    transfers: u64,
    plain: &Store,
    thief: &Address,
) -> Result<()> {
    let share = args.contract_share;
    if !(share > 0.0 && share <= 1.0) {
        crate::error::fail!("--contract-share {share} must be within (0, 1]");
    }
    let gen = dir.join("gen-contracts");
    let store_dir = dir.join("store-contracts");
    let (gen_s, ingest_s) = generate_and_ingest(
        tripoint,
        &gen,
        &store_dir,
        args.seed,
        transfers,
        Some(share),
    )?;
    tripoint.run(&[
        "labels",
        "import",
        "--store",
        path_str(&store_dir)?,
        path_str(&gen.join("labels.csv"))?,
    ])?;
    let with = Store::open(&store_dir)?;
    let truth = GroundTruth::read(&gen.join("truth.json"))?;
    let seed = truth
        .seeds
        .addresses
        .first()
        .context("truth.json has no seed address")?;
    let a = contract_trace_times(plain, thief)?;
    let b = contract_trace_times(&with, seed)?;
    println!(
        "\n-- contract-mediated flows: seed {} again with {:.0} % of the flows through contracts (gen {gen_s:.2} s, ingest with traces.csv {ingest_s:.2} s)",
        args.seed,
        share * 100.0
    );
    println!(
        "{:<36} {:>12} {:>12} {:>9}",
        "", "plain", "contracts", "slowdown"
    );
    println!(
        "{:<36} {:>12} {:>12} {:>8.2}x",
        "transfers in the store",
        a.transfers,
        b.transfers,
        b.transfers as f64 / a.transfers.max(1) as f64
    );
    let row = |name: &str, x: f64, y: f64| {
        println!("{name:<36} {x:>12.3} {y:>12.3} {:>8.2}x", y / x.max(1e-9));
    };
    row(
        "full-graph haircut sweep (s)",
        a.full_haircut_s,
        b.full_haircut_s,
    );
    row(
        "  per transfer (ns)",
        a.full_haircut_s * 1e9 / a.transfers.max(1) as f64,
        b.full_haircut_s * 1e9 / b.transfers.max(1) as f64,
    );
    row("poison trace from the thief (s)", a.poison_s, b.poison_s);
    println!(
        "{:<36} {:>12} {:>12}",
        "  reached", a.poison_reached, b.poison_reached
    );
    row(
        "haircut from the thief, labels (s)",
        a.thief_haircut_s,
        b.thief_haircut_s,
    );
    println!(
        "{:<36} {:>12} {:>12}",
        "  reached", a.thief_reached, b.thief_reached
    );
    println!("peak RSS                {:>10}", mib(peak_rss_bytes()));
    Ok(())
}

pub fn run(args: &Options) -> Result<()> {
    let transfers = if args.smoke { 20_000 } else { args.transfers };
    let work = WorkDir::new(args.dir.as_deref(), "trace")?;
    let dir = work.path().to_path_buf();
    let tripoint = Tripoint::current()?;
    let gen = dir.join("gen");
    let store_dir = dir.join("store");
    println!(
        "== tripoint bench trace: {transfers} generated transfers (seed {}), work dir {}",
        args.seed,
        dir.display()
    );
    let (gen_s, ingest_s) =
        generate_and_ingest(&tripoint, &gen, &store_dir, args.seed, transfers, None)?;
    println!("generate                {gen_s:>10.2} s");
    println!("ingest                  {ingest_s:>10.2} s");
    let truth = GroundTruth::read(&gen.join("truth.json"))?;
    let thief = truth
        .seeds
        .addresses
        .first()
        .cloned()
        .context("truth.json has no seed address")?;

    // Part 1 runs on the bare transfers (no labels): every address is walked.
    let store = Store::open(&store_dir)?;
    let n = store.transfer_count();
    let rss0 = peak_rss_bytes();

    // Full-graph haircut: a sweep over every transfer, seeded at the ten
    // busiest senders so that taint spreads over most of the graph.
    let mut out_deg: Vec<(usize, u32)> = (0..store.address_count() as u32)
        .map(|a| (store.outgoing(a).count(), a))
        .collect();
    out_deg.sort_unstable_by(|a, b| b.cmp(a));
    let part = |p: &str| args.parts.iter().any(|x| x.trim() == p);
    if part("full") {
        let busiest: Vec<u32> = out_deg.iter().take(10).map(|x| x.1).collect();
        let mut cfg = trace_config(TaintPolicy::Haircut, busiest);
        cfg.terminal = vec![];
        cfg.spam.lookalike = false;
        cfg.traversal = Traversal::Sweep;
        let t = Instant::now();
        let full: TraceResult = trace(&store, &cfg)?;
        let full_s = t.elapsed().as_secs_f64();
        let rss_full = peak_rss_bytes();
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
        std::hint::black_box(balance_pass(&store));
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
        let mut pcfg = trace_config(TaintPolicy::Poison, vec![thief_id]);
        pcfg.terminal = vec![];
        pcfg.spam.lookalike = false;
        pcfg.max_hops = u32::MAX;
        pcfg.traversal = Traversal::Sweep;
        println!("\n-- poison reachability from the thief (address id {thief_id}; time-respecting, no limits)");
        // Like for like with the CTE: the reached set with hops and first
        // arrival (tripoint_trace::reached), nothing else.
        let t = Instant::now();
        let lean = tripoint_trace::reached(&store, &pcfg)?;
        let reach_s = t.elapsed().as_secs_f64();
        // The full poison trace (sweep kernel, report-ready result: flows,
        // per-address taint, spam), on its own line.
        let t = Instant::now();
        let poison = trace(&store, &pcfg)?;
        let trace_s = t.elapsed().as_secs_f64();
        println!(
            "tripoint reach          {:>10.3} s  reached {}   peak RSS {}   ({})",
            reach_s,
            lean.len(),
            mib(peak_rss_bytes()),
            match lean.engine {
                EngineKind::ReachKernel => "reach kernel",
                _ => "the kernel declined (DEX or look-alike rule): the poison trace answered",
            }
        );
        if lean.len() != poison.nodes.len() {
            println!("REACHED SET AND THE POISON TRACE DIFFER");
        }
        let reached = lean.len();
        println!(
            "tripoint poison trace   {:>10.3} s  reached {}   (full result: flows, taint per address)",
            trace_s,
            poison.nodes.len(),
        );
        let ours_s = reach_s;
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
            match Peers::find().and_then(|p| {
                p.run_json(
                    "duckdb_reach.py",
                    &[path_str(&edges)?.to_string(), thief_id.to_string()],
                )
            }) {
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
    tripoint.run(&[
        "labels",
        "import",
        "--store",
        path_str(&store_dir)?,
        path_str(&gen.join("labels.csv"))?,
    ])?;
    let store = Store::open(&store_dir)?;
    if part("follow") {
        let mut rng = XorShift::new(args.seed);
        let senders: Vec<u32> = out_deg.iter().filter(|x| x.0 > 0).map(|x| x.1).collect();
        let mut lat = Vec::new();
        let mut reached = 0usize;
        // (total ms, trace ms, seed, reached, visited) of each run, for the slowest.
        let mut runs: Vec<(f64, f64, u32, usize, u64)> = Vec::new();
        for _ in 0..100 {
            let s = senders[rng.below(senders.len() as u64) as usize];
            let mut c = trace_config(TaintPolicy::Haircut, vec![s]);
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
        println!("peak RSS                {:>10}", mib(peak_rss_bytes()));
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
            mib(peak_rss_bytes())
        );
    }

    // Multi-input clustering on a synthetic UTXO chain.
    if part("cluster") {
        let utxo_n = transfers.min(4_000_000);
        let g = MemGraph::build(synthetic_utxo(utxo_n, args.seed), vec![], vec![]);
        let t = Instant::now();
        let (uf, stats) = tripoint_trace::cluster::multi_input(&g, &Default::default());
        let ours_cluster = t.elapsed().as_secs_f64();
        println!("\n-- multi-input clustering: synthetic UTXO chain, {} transfers, {} transactions ({} CoinJoins skipped)", g.transfer_count(), stats.transactions, stats.coinjoins_skipped);
        println!(
            "tripoint                {:>10.3} s  {} clusters over {} ids   peak RSS {}",
            ours_cluster,
            uf.clusters(),
            uf.len(),
            mib(peak_rss_bytes())
        );
        if !args.no_peers {
            // The same multi-input transactions, CoinJoins excluded, as id lists.
            let txs = dir.join("txs.txt");
            write_input_sets(&g, &txs)?;
            match Peers::find().and_then(|p| {
                p.run_json(
                    "graphsense_cluster.py",
                    &[
                        path_str(&txs)?.to_string(),
                        (uf.len().max(1) - 1).to_string(),
                    ],
                )
            }) {
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
    if part("contracts") {
        contracts_part(&tripoint, &dir, args, transfers, &store, &thief)?;
    }
    println!(
        "\npeak RSS {} (before the sweep {})",
        mib(peak_rss_bytes()),
        mib(rss0)
    );
    Ok(())
}

/// Input address sets of non-CoinJoin transactions, one line each: the
/// input graphsense-clustering reads.
fn write_input_sets<G: TransferGraph>(g: &G, path: &Path) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = Ok(());
    let rules = tripoint_trace::cluster::CoinJoinRules::default();
    tripoint_trace::cluster::for_each_transaction(g, &rules, |inputs, coinjoin| {
        if !coinjoin && written.is_ok() {
            let line: Vec<String> = inputs.iter().map(|x| x.to_string()).collect();
            written = writeln!(w, "{}", line.join(" "));
        }
    });
    written?;
    w.flush()?;
    Ok(())
}

/// Rows read per batch and rows prefetched ahead, as in the sweep kernels.
const BATCH: usize = 1 << 14;
const PREFETCH: usize = 16;

/// The least work a balance-keeping sweep does per transfer: read the row
/// in batches and move its amount between two random 32-byte per-address
/// records, prefetched as the kernels prefetch. Timed beside the haircut as
/// the random-access bound of this machine (the sequential bound reads each
/// byte once, which no policy that keeps balances can do). Returns a
/// checksum (the records' low words, xored) so the pass cannot be optimised
/// away.
pub fn balance_pass<G: TransferGraph>(g: &G) -> u64 {
    // The kernels' per-address record: 32 bytes, the balance's low word first.
    let mut acct: Vec<[u64; 4]> = tripoint_trace::sys::huge_vec(g.address_count());
    // Sequential, as the sweep kernels read: the rows behind are unmapped.
    let mut batch = TransferBatch::sequential();
    let (mut next, total) = (0, g.transfer_count());
    while next < total {
        let len = g.read_batch(next, BATCH, &mut batch);
        if len == 0 {
            break;
        }
        for j in 0..len {
            if let (Some(&s), Some(&d)) = (batch.src.get(j + PREFETCH), batch.dst.get(j + PREFETCH))
            {
                tripoint_trace::sys::prefetch_at(&acct, s as usize);
                tripoint_trace::sys::prefetch_at(&acct, d as usize);
            }
            let a = batch.amount[j].into_words().1 as u64;
            let s = &mut acct[batch.src[j] as usize][0];
            *s = s.wrapping_sub(a);
            let d = &mut acct[batch.dst[j] as usize][0];
            *d = d.wrapping_add(a);
        }
        next = batch.first + len as u64;
    }
    acct.iter().fold(0, |x, a| x ^ a[0])
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().context("non-UTF-8 path")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tripoint_chain::{
        Address, Amount, Asset, Chain, Position, TransferGraph, TransferRecord, TxHash,
    };

    /// Rows between 30 addresses, amounts up to 2^100 (beyond 64 bits).
    fn graph(edges: &[(u8, u8, u128)]) -> tripoint_trace::MemGraph {
        let addr = |a: u8| Address::Eth([a; 20]);
        let records = edges
            .iter()
            .enumerate()
            .map(|(i, &(from, to, amount))| TransferRecord {
                chain: Chain::Ethereum,
                block: i as u64,
                timestamp: i as i64,
                tx_hash: TxHash([i as u8; 32]),
                tx_index: 0,
                position: Position::NativeValue,
                from: addr(from),
                to: addr(to),
                asset: Asset::Native(Chain::Ethereum),
                amount: Amount::from(amount),
            })
            .collect();
        tripoint_trace::MemGraph::build(records, vec![], vec![])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The benchmark's random-update pass moves every row's amount (low
        /// 64 bits, wrapping) between its two sides, nothing else.
        #[test]
        fn balance_pass_moves_every_amount(
            edges in prop::collection::vec((0u8..30, 0u8..30, 0u128..1 << 100), 1..200)
        ) {
            let g = graph(&edges);
            let mut bal = vec![0u64; g.address_count()];
            for id in 0..g.transfer_count() {
                let r = g.transfer(id);
                let a = r.amount.into_words().1 as u64;
                bal[r.src as usize] = bal[r.src as usize].wrapping_sub(a);
                bal[r.dst as usize] = bal[r.dst as usize].wrapping_add(a);
            }
            let expected = bal.iter().fold(0, |x, b| x ^ b);
            prop_assert_eq!(super::balance_pass(&g), expected);
        }
    }
}
