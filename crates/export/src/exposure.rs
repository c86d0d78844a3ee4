//! Reading the batch exposure the Spark job (`jobs/exposure.py`) writes, so
//! that `tripoint screen --exposure-from DIR` answers from whole-chain batch
//! results. Layout and schema: docs/scale.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tripoint_chain::{Address, Amount, Category, TransferGraph};
use tripoint_store::Store;
use tripoint_trace::{trace, TaintPolicy, TraceConfig};

use crate::cryo::{batches, Col};
use crate::ExportError;

pub const FORMAT: &str = "tripoint-exposure";
pub const VERSION: u32 = 1;
/// The job's parameters, beside its tables.
pub const META_FILE: &str = "_tripoint_exposure.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureMeta {
    pub format: String,
    pub version: u32,
    pub hops: u32,
    pub categories: Vec<String>,
    pub terminal: Vec<String>,
    pub export_through_block: Option<u64>,
    pub reachability_iterations: u64,
}

/// One row of `reach/`: an address poison-reachable from a category's seeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReachRow {
    pub category: String,
    pub address_id: u64,
    pub address: String,
    /// `seed`, `walked` or `endpoint`.
    pub role: String,
    pub hops: u32,
    /// First tainted transfer (block, tx_index, position); none for a seed
    /// that never received taint.
    pub first: Option<(u64, u64, u64)>,
}

/// One row of `haircut/`: haircut taint of a category's seeds at an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaircutRow {
    pub category: String,
    pub address_id: u64,
    pub address: String,
    pub asset: String,
    /// Taint received in base units (for seeds: created).
    pub received: Amount,
    /// Taint still held at the end of the export.
    pub held: Amount,
}

/// The job's output, indexed by address.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub meta: ExposureMeta,
    pub reach: Vec<ReachRow>,
    pub haircut: Vec<HaircutRow>,
    by_address: HashMap<String, (Vec<usize>, Vec<usize>)>,
}

impl Exposure {
    /// Reads `DIR/_tripoint_exposure.json`, `DIR/reach/*.parquet` and
    /// `DIR/haircut/*.parquet`. Another format or version is refused.
    pub fn read(dir: &Path) -> Result<Self, ExportError> {
        let meta_path = dir.join(META_FILE);
        let bytes = std::fs::read(&meta_path).map_err(|e| ExportError::io(&meta_path, e))?;
        let meta: ExposureMeta = serde_json::from_slice(&bytes)
            .map_err(|e| ExportError::format(&meta_path, format!("not exposure metadata: {e}")))?;
        if meta.format != FORMAT || meta.version != VERSION {
            return Err(ExportError::format(
                &meta_path,
                format!(
                    "format {} version {}; this tripoint reads {FORMAT} version {VERSION}",
                    meta.format, meta.version
                ),
            ));
        }
        let mut reach = Vec::new();
        for f in parquet_files(&dir.join("reach"))? {
            let mut row0 = 0;
            for b in batches(&f)? {
                let cat = Col::new(&f, &b, row0, "category").required()?;
                let id = Col::new(&f, &b, row0, "address_id").required()?;
                let addr = Col::new(&f, &b, row0, "address").required()?;
                let role = Col::new(&f, &b, row0, "role").required()?;
                let hops = Col::new(&f, &b, row0, "hops").required()?;
                let fb = Col::new(&f, &b, row0, "first_block").required()?;
                let ft = Col::new(&f, &b, row0, "first_tx_index").required()?;
                let fp = Col::new(&f, &b, row0, "first_position").required()?;
                for i in 0..b.num_rows() {
                    let first = match (fb.uint(i)?, ft.uint(i)?, fp.uint(i)?) {
                        (Some(b), Some(t), Some(p)) => Some((b, t, p)),
                        _ => None,
                    };
                    reach.push(ReachRow {
                        category: text(&cat, i)?,
                        address_id: id.require_uint(i)?,
                        address: text(&addr, i)?,
                        role: text(&role, i)?,
                        hops: u32::try_from(hops.require_uint(i)?)
                            .map_err(|_| hops.err(i, "above 2^32"))?,
                        first,
                    });
                }
                row0 += b.num_rows() as u64;
            }
        }
        let mut haircut = Vec::new();
        for f in parquet_files(&dir.join("haircut"))? {
            let mut row0 = 0;
            for b in batches(&f)? {
                let cat = Col::new(&f, &b, row0, "category").required()?;
                let id = Col::new(&f, &b, row0, "address_id").required()?;
                let addr = Col::new(&f, &b, row0, "address").required()?;
                let asset = Col::new(&f, &b, row0, "asset").required()?;
                let recv = Col::new(&f, &b, row0, "received").required()?;
                let held = Col::new(&f, &b, row0, "held").required()?;
                for i in 0..b.num_rows() {
                    haircut.push(HaircutRow {
                        category: text(&cat, i)?,
                        address_id: id.require_uint(i)?,
                        address: text(&addr, i)?,
                        asset: text(&asset, i)?,
                        received: amount(&recv, i)?,
                        held: amount(&held, i)?,
                    });
                }
                row0 += b.num_rows() as u64;
            }
        }
        let mut by_address: HashMap<String, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for (k, r) in reach.iter().enumerate() {
            by_address.entry(r.address.clone()).or_default().0.push(k);
        }
        for (k, r) in haircut.iter().enumerate() {
            by_address.entry(r.address.clone()).or_default().1.push(k);
        }
        Ok(Exposure {
            meta,
            reach,
            haircut,
            by_address,
        })
    }

    /// The reach and haircut rows of one address.
    pub fn of(&self, a: &Address) -> (Vec<&ReachRow>, Vec<&HaircutRow>) {
        match self.by_address.get(&a.to_string()) {
            None => (Vec::new(), Vec::new()),
            Some((r, h)) => (
                r.iter().map(|&k| &self.reach[k]).collect(),
                h.iter().map(|&k| &self.haircut[k]).collect(),
            ),
        }
    }
}

fn text(c: &Col, i: usize) -> Result<String, ExportError> {
    c.text(i)?
        .map(str::to_string)
        .ok_or_else(|| c.err(i, "empty or not text"))
}

fn amount(c: &Col, i: usize) -> Result<Amount, ExportError> {
    let s = text(c, i)?;
    s.parse::<Amount>()
        .map_err(|e| c.err(i, format!("'{s}' is not a decimal amount: {e}")))
}

/// The Parquet files of a Spark output directory (part files; `_SUCCESS`,
/// checksums and hidden files skipped).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let rd = std::fs::read_dir(dir).map_err(|e| ExportError::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let p = e.map_err(|e| ExportError::io(dir, e))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".parquet") && !name.starts_with(['.', '_']) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// A poison node as both sides report it: role, hops, first tainted
/// transfer (block, tx_index, position).
pub type PoisonNode = (String, u32, Option<(u64, u64, u64)>);

/// One seed category's exposure, keyed so that the job's and the engine's
/// can be compared exactly: poison nodes by address id (role, hops, first
/// tainted transfer as (block, tx_index, position)) and haircut taint
/// (received, held) by (address id, asset key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryExposure {
    pub nodes: BTreeMap<u64, PoisonNode>,
    pub amounts: BTreeMap<(u64, String), (Amount, Amount)>,
}

impl Exposure {
    /// The job's rows for one category (`sanctioned`, `dprk-attributed`).
    pub fn category(&self, name: &str) -> CategoryExposure {
        CategoryExposure {
            nodes: self
                .reach
                .iter()
                .filter(|r| r.category == name)
                .map(|r| (r.address_id, (r.role.clone(), r.hops, r.first)))
                .collect(),
            amounts: self
                .haircut
                .iter()
                .filter(|r| r.category == name)
                .map(|r| ((r.address_id, r.asset.clone()), (r.received, r.held)))
                .collect(),
        }
    }
}

/// The same exposure from tripoint's own engine, with the job's rules: poison
/// and haircut traces from every address labelled `category`, at most
/// `hops` hops, the default terminals, no look-alike rule.
pub fn engine_exposure(
    store: &Store,
    category: &Category,
    hops: u32,
) -> Result<CategoryExposure, ExportError> {
    let seeds: Vec<u32> = store
        .all_labels()?
        .iter()
        .filter(|l| &l.category == category)
        .filter_map(|l| store.lookup(&l.address))
        .collect();
    let cfg = |policy| {
        let mut c = TraceConfig::new(policy, seeds.clone());
        c.max_hops = hops;
        c.spam.lookalike = false;
        c
    };
    let mut out = CategoryExposure::default();
    let poison = trace(store, &cfg(TaintPolicy::Poison))?;
    for n in &poison.nodes {
        let role = serde_json::to_value(n.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let first = n.first.map(|id| {
            let r = store.transfer(id);
            (r.block, u64::from(r.tx_index), u64::from(r.sub_index))
        });
        out.nodes.insert(u64::from(n.addr), (role, n.hops, first));
    }
    let haircut = trace(store, &cfg(TaintPolicy::Haircut))?;
    for n in &haircut.nodes {
        for (asset, v) in haircut.received_of(n.addr) {
            let key = (u64::from(n.addr), store.asset(asset).key());
            out.amounts.entry(key).or_default().0 = v;
        }
        for (asset, v) in haircut.held_of(n.addr) {
            let key = (u64::from(n.addr), store.asset(asset).key());
            out.amounts.entry(key).or_default().1 = v;
        }
    }
    Ok(out)
}

impl CategoryExposure {
    /// Up to `max` keys where `self` and `other` differ, each described
    /// (`self`'s value first); empty when they are equal.
    pub fn differences(&self, other: &CategoryExposure, max: usize) -> Vec<String> {
        fn diff<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
            a: &BTreeMap<K, V>,
            b: &BTreeMap<K, V>,
            what: &str,
            out: &mut Vec<String>,
            max: usize,
        ) {
            let keys: BTreeSet<&K> = a.keys().chain(b.keys()).collect();
            for k in keys {
                if out.len() >= max {
                    return;
                }
                if a.get(k) != b.get(k) {
                    out.push(format!("{what} {k:?}: {:?} vs {:?}", a.get(k), b.get(k)));
                }
            }
        }
        let mut out = Vec::new();
        diff(&self.nodes, &other.nodes, "poison node", &mut out, max);
        diff(&self.amounts, &other.amounts, "haircut", &mut out, max);
        out
    }
}

/// `spark-submit` with a Java runtime to run the job, or why not:
/// `$TRIPOINT_SPARK_SUBMIT`, else `project/.venv/bin/spark-submit` (what
/// scripts/setup-spark.sh installs).
pub fn find_spark_submit(project: &Path) -> Result<PathBuf, String> {
    let submit = std::env::var_os("TRIPOINT_SPARK_SUBMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| project.join(".venv/bin/spark-submit"));
    if !submit.exists() {
        return Err(format!(
            "{} not found (run scripts/setup-spark.sh)",
            submit.display()
        ));
    }
    let java = std::process::Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Err("no java on PATH (run scripts/setup-spark.sh)".into());
    }
    Ok(submit)
}

/// The `spark-submit` command that runs the exposure job `job` on `master`
/// over the export `export`, writing `out`: the job's arguments and its
/// Python (the one beside `submit`) in one place. `submit_options` go to
/// spark-submit itself, so they precede the job.
pub fn exposure_job_command(
    submit: &Path,
    master: &str,
    submit_options: &[&str],
    job: &Path,
    export: &Path,
    out: &Path,
    hops: u32,
) -> std::process::Command {
    let py = submit.with_file_name("python");
    let mut cmd = std::process::Command::new(submit);
    cmd.args(["--master", master, "--conf", "spark.ui.enabled=false"])
        .args(submit_options)
        .arg(job)
        .arg("--export")
        .arg(export)
        .arg("--out")
        .arg(out)
        .args(["--hops", &hops.to_string()])
        .env("PYSPARK_PYTHON", &py)
        .env("PYSPARK_DRIVER_PYTHON", &py);
    cmd
}
