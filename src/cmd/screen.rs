//! `tripoint screen`: direct hits (sanctioned, DPRK-attributed labels) and
//! indirect exposure of addresses, one by one or in batch from a file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tripoint_chain::{Address, TransferGraph};
use tripoint_store::Store;
use tripoint_trace::report::asset_info;
use tripoint_trace::screen::{direct, Exposure, ExposureRules, ScreenIndex, Verdict};

#[derive(clap::Args)]
pub struct Args {
    /// Store directory (labels and transfers).
    #[arg(long)]
    pub store: PathBuf,
    /// Addresses to screen (Ethereum 0x and 40 hex digits, or Bitcoin).
    pub addresses: Vec<String>,
    /// File with one address per line (first CSV column; `#` comments; header allowed).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Exposure depth in hops; 0 = direct hits only (fastest, for large batches).
    #[arg(long, default_value_t = 2)]
    pub hops: u32,
    /// Output: table (people) or json (tools).
    #[arg(long, value_enum, default_value = "table")]
    pub format: super::util::Format,
    /// Also answer from the batch exposure the Spark job (jobs/exposure.py)
    /// wrote to this directory: poison reach and haircut taint per seed category.
    #[arg(long)]
    pub exposure_from: Option<PathBuf>,
}

/// A verdict with the batch results of `--exposure-from`, for JSON output.
#[derive(serde::Serialize)]
struct WithBatch<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    batch_exposure: BatchExposure<'a>,
}

#[derive(serde::Serialize)]
struct BatchExposure<'a> {
    reach: Vec<&'a tripoint_export::exposure::ReachRow>,
    haircut: Vec<&'a tripoint_export::exposure::HaircutRow>,
}

/// Addresses from the command line and the file, with file:line on errors.
fn read_addresses(args: &Args) -> anyhow::Result<Vec<Address>> {
    let mut out = Vec::new();
    for a in &args.addresses {
        out.push(Address::parse(a).with_context(|| format!("address argument '{a}'"))?);
    }
    if let Some(path) = &args.file {
        out.extend(
            tripoint_ingest::read_address_list(path, tripoint_ingest::AddressKind::Any)
                .context("--file")?,
        );
    }
    if out.is_empty() {
        anyhow::bail!("nothing to screen: give addresses or --file");
    }
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let labels = store.all_labels().context("reading the store's labels")?;
    let ix = ScreenIndex::from_labels(&labels);
    let addrs = read_addresses(&args)?;
    let native = super::trace::native_of(&store);
    let t0 = Instant::now();
    let tokens = super::trace::token_directory();
    let verdicts: Vec<Verdict> = if args.hops == 0 {
        addrs
            .iter()
            .map(|a| Verdict {
                in_store: store.lookup(a).is_some(),
                ..direct(&ix, a)
            })
            .collect()
    } else {
        let mut ex = Exposure::new(
            &store,
            &ix,
            ExposureRules {
                hops: args.hops,
                ..Default::default()
            },
        );
        let bar = super::util::progress(addrs.len() as u64, "screening");
        let v = addrs
            .iter()
            .map(|a| {
                bar.inc(1);
                ex.verdict(a, |asset| asset_info(&store, asset, native, &tokens))
            })
            .collect();
        bar.finish_and_clear();
        v
    };
    let secs = t0.elapsed().as_secs_f64();
    let batch = match &args.exposure_from {
        Some(dir) => Some(
            tripoint_export::exposure::Exposure::read(dir)
                .with_context(|| format!("reading batch exposure {}", dir.display()))?,
        ),
        None => None,
    };
    let batch_of = |v: &Verdict| {
        let (reach, haircut) = match (&batch, Address::parse(&v.address)) {
            (Some(b), Ok(a)) => b.of(&a),
            _ => (Vec::new(), Vec::new()),
        };
        BatchExposure { reach, haircut }
    };
    let hits = verdicts.iter().filter(|v| v.direct_hit).count();
    let exposed = verdicts.iter().filter(|v| v.max_exposure > 0.0).count();
    let absent = verdicts.iter().filter(|v| !v.in_store).count();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    match args.format {
        super::util::Format::Json if batch.is_some() => {
            let rows: Vec<WithBatch> = verdicts
                .iter()
                .map(|v| WithBatch {
                    verdict: v,
                    batch_exposure: batch_of(v),
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        super::util::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &verdicts)?;
            writeln!(out)?;
        }
        super::util::Format::Table => {
            out.write_all(tripoint_trace::text::verdicts_table(&verdicts, args.hops).as_bytes())?;
            if batch.is_some() {
                writeln!(out, "batch exposure (--exposure-from):")?;
                for v in &verdicts {
                    let b = batch_of(v);
                    for r in &b.reach {
                        let first = r.first.map_or_else(String::new, |(blk, tx, pos)| {
                            format!(", first tainted at block {blk} tx {tx} position {pos}")
                        });
                        writeln!(
                            out,
                            "  {} {}: {} at {} hop(s){first}",
                            v.address, r.category, r.role, r.hops
                        )?;
                    }
                    for h in &b.haircut {
                        writeln!(
                            out,
                            "  {} {} haircut {}: received {} held {} (base units)",
                            v.address, h.category, h.asset, h.received, h.held
                        )?;
                    }
                }
            }
        }
    }
    out.flush()?;
    eprintln!(
        "screened {} addresses: {hits} direct hits, {exposed} with exposure > 0, {absent} not in the store ({:.0} addresses/s)",
        verdicts.len(),
        verdicts.len() as f64 / secs.max(1e-9)
    );
    Ok(())
}
