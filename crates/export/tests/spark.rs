//! The Spark job (jobs/exposure.py, run by spark-submit on local[2]) against
//! tripoint's own engine on a generated graph: the same poison nodes (role,
//! hops, first tainted transfer) and the same haircut amounts, exactly.
//!
//! Needs spark-submit and a Java runtime (scripts/setup-spark.sh, which
//! scripts/test.sh runs): `$TRIPOINT_SPARK_SUBMIT`, else the project venv's.
//! Without them the test says it skipped and passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, SourceCursor, TokenInfo,
    TransferGraph, TransferRecord, TransferSink, TxHash, U256,
};
use tripoint_export::exposure::Exposure;
use tripoint_export::{export, ExportOptions};
use tripoint_store::Store;
use tripoint_trace::{trace, TaintPolicy, TraceConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// spark-submit with a Java runtime, or why not.
fn spark_submit() -> Result<PathBuf, String> {
    let p = std::env::var_os("TRIPOINT_SPARK_SUBMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/spark-submit"));
    if !p.exists() {
        return Err(format!("{} not found", p.display()));
    }
    let java = Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Err("no java on PATH".into());
    }
    Ok(p)
}

/// Deterministic xorshift, so that a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn eth(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0x5e;
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::Eth(b)
}

const ADDRS: u64 = 1_500;
const TOKENS: [(u64, &str); 3] = [(90_001, "AAA"), (90_002, "BBB"), (90_003, "U5DT")];

/// A random graph with skewed activity (a few busy addresses), three tokens
/// (one imitating USDT: spam), zero amounts, self-transfers and amounts
/// beyond 2^128 that exercise the exact 256-bit haircut arithmetic.
fn generate(dir: &Path, transfers: u64, seed: u64) {
    let mut rng = Rng(seed);
    let store = Store::open_or_create(dir).expect("store");
    let mut app = store.appender().expect("appender");
    for (a, sym) in TOKENS {
        app.token(TokenInfo {
            address: eth(a),
            symbol: sym.into(),
            name: sym.into(),
            decimals: Some(18),
        })
        .expect("token");
    }
    let pick = |rng: &mut Rng| {
        // Half the transfers touch the first 5 % of addresses.
        if rng.below(2) == 0 {
            rng.below(ADDRS / 20)
        } else {
            rng.below(ADDRS)
        }
    };
    let mut block = 1_000u64;
    let mut tx_index = 0u32;
    for k in 0..transfers {
        if rng.below(8) == 0 {
            block += 1;
            tx_index = 0;
        }
        tx_index += 1;
        let from = pick(&mut rng);
        let to = if rng.below(200) == 0 {
            from
        } else {
            pick(&mut rng)
        };
        let asset = match rng.below(10) {
            0..=5 => Asset::Native(Chain::Ethereum),
            6 | 7 => Asset::Token(eth(TOKENS[0].0)),
            8 => Asset::Token(eth(TOKENS[1].0)),
            _ => Asset::Token(eth(TOKENS[2].0)),
        };
        let amount = match rng.below(50) {
            0 => Amount::ZERO,
            1 => (U256::ONE << 130) + U256::from(rng.next()),
            _ => U256::from(rng.below(1_000_000) + 1) * U256::from(10u64.pow(12)),
        };
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&k.to_be_bytes());
        h[31] = 1;
        app.transfer(TransferRecord {
            chain: Chain::Ethereum,
            block,
            timestamp: 1_650_000_000 + block as i64 * 12,
            tx_hash: TxHash(h),
            tx_index,
            position: Position::NativeValue,
            from: eth(from),
            to: eth(to),
            asset,
            amount,
        })
        .expect("transfer");
    }
    app.checkpoint(&SourceCursor {
        source: "gen".into(),
        position: transfers,
    })
    .expect("checkpoint");
    app.finish().expect("finish");
    let label = |n: u64, category: Category| Label {
        address: eth(n),
        label: format!("{category} {n}"),
        category,
        source: "spark test".into(),
        attribution: Default::default(),
    };
    let mut labels = vec![
        label(3, Category::Sanctioned),
        label(400, Category::Sanctioned),
        label(7, Category::DprkAttributed),
        label(900, Category::DprkAttributed),
        label(1_200, Category::DprkAttributed),
    ];
    for n in [1, 11, 500, 1_000] {
        labels.push(label(n, Category::Exchange));
    }
    labels.push(label(13, Category::Mixer));
    Store::open(dir)
        .expect("open")
        .import_labels(labels)
        .expect("labels");
}

type Nodes = BTreeMap<u64, (String, u32, Option<(u64, u64, u64)>)>;
type Amounts = BTreeMap<(u64, String), (Amount, Amount)>;

fn engine(store: &Store, category: &Category, hops: u32) -> (Nodes, Amounts) {
    let seeds: Vec<u32> = store
        .all_labels()
        .expect("labels")
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
    let poison = trace(store, &cfg(TaintPolicy::Poison)).expect("poison");
    let nodes = poison
        .nodes
        .iter()
        .map(|n| {
            let role = serde_json::to_value(n.role).expect("role");
            let first = n.first.map(|id| {
                let r = store.transfer(id);
                (r.block, u64::from(r.tx_index), u64::from(r.sub_index))
            });
            (
                u64::from(n.addr),
                (role.as_str().expect("str").to_string(), n.hops, first),
            )
        })
        .collect();
    let haircut = trace(store, &cfg(TaintPolicy::Haircut)).expect("haircut");
    let mut amounts = Amounts::new();
    for n in &haircut.nodes {
        for &(asset, v) in haircut.received_of(n.addr) {
            amounts
                .entry((u64::from(n.addr), store.asset(asset).key()))
                .or_default()
                .0 = v;
        }
        for &(asset, v) in haircut.held_of(n.addr) {
            amounts
                .entry((u64::from(n.addr), store.asset(asset).key()))
                .or_default()
                .1 = v;
        }
    }
    (nodes, amounts)
}

#[test]
fn spark_job_equals_the_engine_exactly() {
    let spark = match spark_submit() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: Spark not installed ({why}); run scripts/setup-spark.sh");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("tmp");
    // TRIPOINT_SPARK_KEEP=DIR keeps the store, export and job output there.
    let dir = std::env::var_os("TRIPOINT_SPARK_KEEP")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let dir = &dir;
    let (st, ex, out) = (dir.join("store"), dir.join("export"), dir.join("exposure"));
    generate(&st, 8_000, 0x9e37_79b9_7f4a_7c15);
    let store = Store::open(&st).expect("open");
    let opts = ExportOptions {
        rows_per_file: 6_000,
        ..ExportOptions::default()
    };
    export(&store, &ex, &opts, &mut |_, _| {}).expect("export");
    let hops = 4;
    let py = spark.with_file_name("python");
    let status = Command::new(&spark)
        .args(["--master", "local[2]", "--conf", "spark.ui.enabled=false"])
        .arg(root().join("jobs/exposure.py"))
        .arg("--export")
        .arg(&ex)
        .arg("--out")
        .arg(&out)
        .args(["--hops", &hops.to_string()])
        .env("PYSPARK_PYTHON", &py)
        .env("PYSPARK_DRIVER_PYTHON", &py)
        .status()
        .expect("spark-submit runs");
    assert!(status.success(), "spark-submit failed: {status}");
    let job = Exposure::read(&out).expect("job output");
    assert_eq!(job.meta.hops, hops);

    for (name, category) in [
        ("sanctioned", Category::Sanctioned),
        ("dprk-attributed", Category::DprkAttributed),
    ] {
        let (want_nodes, want_amounts) = engine(&store, &category, hops);
        let got_nodes: Nodes = job
            .reach
            .iter()
            .filter(|r| r.category == name)
            .map(|r| (r.address_id, (r.role.clone(), r.hops, r.first)))
            .collect();
        let got_amounts: Amounts = job
            .haircut
            .iter()
            .filter(|r| r.category == name)
            .map(|r| ((r.address_id, r.asset.clone()), (r.received, r.held)))
            .collect();
        assert!(want_nodes.len() > 50, "{name}: a trace worth comparing");
        assert!(
            want_nodes.values().any(|n| n.0 == "endpoint"),
            "{name}: terminals reached"
        );
        assert!(
            want_nodes.values().any(|n| n.1 == hops),
            "{name}: hop limit reached"
        );
        let diff: Vec<String> = want_nodes
            .keys()
            .chain(got_nodes.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| got_nodes.get(*k) != want_nodes.get(*k))
            .take(8)
            .map(|k| {
                format!(
                    "{k}: job {:?} engine {:?}",
                    got_nodes.get(k),
                    want_nodes.get(k)
                )
            })
            .collect();
        assert!(
            diff.is_empty(),
            "{name}: poison nodes differ:\n{}",
            diff.join("\n")
        );
        assert!(
            want_amounts.values().any(|a| a.1 > Amount::ZERO),
            "{name}: taint held"
        );
        let diff: Vec<String> = want_amounts
            .keys()
            .chain(got_amounts.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| got_amounts.get(*k) != want_amounts.get(*k))
            .take(8)
            .map(|k| {
                format!(
                    "{k:?}: job {:?} engine {:?}",
                    got_amounts.get(k),
                    want_amounts.get(k)
                )
            })
            .collect();
        assert!(
            diff.is_empty(),
            "{name}: haircut amounts differ:\n{}",
            diff.join("\n")
        );
        // Every row names its address as the store does.
        for r in job.reach.iter().filter(|r| r.category == name) {
            assert_eq!(r.address, store.address(r.address_id as u32).to_string());
        }
    }
}
