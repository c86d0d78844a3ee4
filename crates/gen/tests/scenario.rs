//! Tests of generated scenarios through their files: determinism, CSV shape,
//! joins, injected patterns, ground-truth consistency and calibration.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tripoint_chain::{Category, TransferRecord, TransferSink};
use tripoint_gen::calibration::{TARGET_EDGES_PER_ADDRESS, TARGET_SKEW_RANGE, TARGET_TX_PER_BLOCK};
use tripoint_gen::{
    generate, generate_into, Calibration, GenConfig, GenError, GroundTruth, RecordSink,
};

const TX_HEADER: &str = "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_status";
const TT_HEADER: &str =
    "token_address,from_address,to_address,value,transaction_hash,log_index,block_number";
const ETH: u128 = 1_000_000_000_000_000_000;

#[derive(Debug, Clone)]
struct Tx {
    hash: String,
    block: u64,
    index: u32,
    from: String,
    to: String,
    value: u128,
    time: i64,
    ok: bool,
}

#[derive(Debug, Clone)]
struct Tt {
    token: String,
    from: String,
    to: String,
    value: u128,
    hash: String,
    log: u32,
    block: u64,
}

struct Scenario {
    txs: Vec<Tx>,
    tts: Vec<Tt>,
    /// address -> (symbol, decimals)
    tokens: HashMap<String, (String, u8)>,
    /// address -> (label, category)
    labels: HashMap<String, (String, Category)>,
    truth: GroundTruth,
}

fn is_hex(s: &str, bytes: usize) -> bool {
    s.len() == 2 + 2 * bytes
        && s.starts_with("0x")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Read and validate every file of a scenario directory.
fn load(dir: &Path) -> Scenario {
    let tx_lines = lines(&dir.join("transactions.csv"));
    assert_eq!(tx_lines[0], TX_HEADER);
    let mut txs = Vec::new();
    for (n, l) in tx_lines[1..].iter().enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 16, "transactions.csv line {}: {l}", n + 2);
        assert!(
            is_hex(f[0], 32) && f[2].is_empty(),
            "hashes on line {}",
            n + 2
        );
        assert!(
            is_hex(f[5], 20) && is_hex(f[6], 20),
            "addresses on line {}",
            n + 2
        );
        assert!(
            f[15] == "0" || f[15] == "1",
            "receipt_status on line {}",
            n + 2
        );
        txs.push(Tx {
            hash: f[0].to_string(),
            block: f[3].parse().expect("block_number"),
            index: f[4].parse().expect("transaction_index"),
            from: f[5].to_string(),
            to: f[6].to_string(),
            value: f[7].parse().expect("value"),
            time: f[11].parse().expect("block_timestamp"),
            ok: f[15] == "1",
        });
        f[8].parse::<u64>().expect("gas");
        f[9].parse::<u64>().expect("gas_price");
    }
    let tt_lines = lines(&dir.join("token_transfers.csv"));
    assert_eq!(tt_lines[0], TT_HEADER);
    let mut tts = Vec::new();
    for (n, l) in tt_lines[1..].iter().enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 7, "token_transfers.csv line {}: {l}", n + 2);
        assert!(is_hex(f[0], 20) && is_hex(f[1], 20) && is_hex(f[2], 20));
        assert!(is_hex(f[4], 32));
        tts.push(Tt {
            token: f[0].to_string(),
            from: f[1].to_string(),
            to: f[2].to_string(),
            value: f[3].parse().expect("value"),
            hash: f[4].to_string(),
            log: f[5].parse().expect("log_index"),
            block: f[6].parse().expect("block_number"),
        });
    }
    let tok_lines = lines(&dir.join("tokens.csv"));
    assert_eq!(
        tok_lines[0],
        "address,symbol,name,decimals,total_supply,block_number"
    );
    let mut tokens = HashMap::new();
    for l in &tok_lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 6, "tokens.csv: {l}");
        f[4].parse::<u128>().expect("total_supply");
        tokens.insert(
            f[0].to_string(),
            (f[1].to_string(), f[3].parse().expect("decimals")),
        );
    }
    let label_lines = lines(&dir.join("labels.csv"));
    assert_eq!(label_lines[0], "address,label,category,source");
    let mut labels = HashMap::new();
    for l in &label_lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 4, "labels.csv: {l}");
        let cat: Category = f[2].parse().unwrap();
        assert!(
            !matches!(cat, Category::Other(_)),
            "unknown category in {l}"
        );
        labels.insert(f[0].to_string(), (f[1].to_string(), cat));
    }
    let truth: GroundTruth =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
    Scenario {
        txs,
        tts,
        tokens,
        labels,
        truth,
    }
}

fn gen(seed: u64, transfers: u64) -> (tempfile::TempDir, tripoint_gen::GenSummary, Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed,
        transfers,
        ..Default::default()
    };
    let summary = generate(&cfg, dir.path()).unwrap();
    let s = load(dir.path());
    (dir, summary, s)
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_differs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 11,
        transfers: 20_000,
        ..Default::default()
    };
    generate(&cfg, a.path()).unwrap();
    generate(&cfg, b.path()).unwrap();
    generate(
        &GenConfig {
            seed: 12,
            ..cfg.clone()
        },
        c.path(),
    )
    .unwrap();
    for f in [
        "transactions.csv",
        "token_transfers.csv",
        "tokens.csv",
        "labels.csv",
        "truth.json",
    ] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert!(!x.is_empty());
        assert_eq!(
            x,
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    assert_ne!(
        std::fs::read(a.path().join("transactions.csv")).unwrap(),
        std::fs::read(c.path().join("transactions.csv")).unwrap()
    );
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
}

#[test]
fn rows_blocks_and_joins_are_consistent() {
    let (_d, summary, s) = gen(3, 30_000);
    assert_eq!(summary.rows(), 30_000, "exactly the requested rows");
    assert_eq!(s.txs.len() as u64, summary.transactions);
    assert_eq!(s.tts.len() as u64, summary.token_transfers);
    // Chain order, unique hashes, 12 s per block number.
    let first = &s.txs[0];
    let mut seen = HashSet::new();
    for w in s.txs.windows(2) {
        assert!(
            (w[0].block, w[0].index) < (w[1].block, w[1].index),
            "order at {:?}",
            w[1]
        );
        if w[0].block == w[1].block {
            assert_eq!(w[0].index + 1, w[1].index);
        } else {
            assert_eq!(w[1].index, 0);
        }
    }
    for t in &s.txs {
        assert!(seen.insert(t.hash.clone()), "duplicate hash {}", t.hash);
        assert_eq!(t.time - first.time, 12 * (t.block - first.block) as i64);
    }
    // Every token transfer joins to its transaction; log indexes unique per block.
    let by_hash: HashMap<&str, &Tx> = s.txs.iter().map(|t| (t.hash.as_str(), t)).collect();
    let mut logs = HashSet::new();
    for tt in &s.tts {
        let tx = by_hash
            .get(tt.hash.as_str())
            .unwrap_or_else(|| panic!("orphan {tt:?}"));
        assert_eq!(tx.block, tt.block);
        assert!(tx.ok, "a failed transaction emits no logs");
        assert!(
            logs.insert((tt.block, tt.log)),
            "duplicate log index {tt:?}"
        );
        assert!(
            s.tokens.contains_key(&tt.token),
            "unknown token {}",
            tt.token
        );
    }
    // Some failed transactions exist and move nothing that a join could see.
    assert!(s.txs.iter().any(|t| !t.ok));
}

/// Sum of `asset` moved from any of `from` to `to` (successful transactions only).
fn moved(s: &Scenario, from: &HashSet<String>, to: &str, asset: &str) -> u128 {
    if asset == "ETH" {
        s.txs
            .iter()
            .filter(|t| t.ok && t.to == to && from.contains(&t.from))
            .map(|t| t.value)
            .sum()
    } else {
        s.tts
            .iter()
            .filter(|t| t.token == asset && t.to == to && from.contains(&t.from))
            .map(|t| t.value)
            .sum()
    }
}

#[test]
fn ground_truth_reconciles_with_the_files() {
    let (_d, summary, s) = gen(5, 40_000);
    let t = &s.truth;
    assert_eq!(t.schema, "tripoint-gen-truth/1");
    assert_eq!(t.counts.transactions, summary.transactions);
    assert_eq!(t.counts.token_transfers, summary.token_transfers);
    assert_eq!(
        t.laundering_addresses.len() as u64,
        t.counts.laundering_addresses
    );
    let launder: HashSet<String> = t
        .laundering_addresses
        .iter()
        .map(|a| a.address.to_string())
        .collect();

    // The seed is the attributed thief; the theft is at the start time.
    let thief = t.seeds.addresses[0].to_string();
    assert_eq!(s.labels[&thief].1, Category::DprkAttributed);
    assert_eq!(s.labels[&t.victim.to_string()].1, Category::Victim);
    let theft = s
        .txs
        .iter()
        .find(|x| x.from == t.victim.to_string() && x.to == thief)
        .expect("theft sweep present");
    assert_eq!(theft.time, t.seeds.start_time);
    assert_eq!(theft.block, t.seeds.start_block);
    // Nothing moves from the thief before the theft.
    assert!(s
        .txs
        .iter()
        .filter(|x| x.from == thief)
        .all(|x| x.time >= theft.time));

    // Every endpoint receives exactly its amount from laundering addresses.
    assert!(!t.endpoints.is_empty());
    for e in &t.endpoints {
        let addr = e.address.to_string();
        assert_eq!(
            moved(&s, &launder, &addr, &e.asset),
            e.amount,
            "endpoint {addr} {}",
            e.asset
        );
        match e.category {
            Category::Exchange => {
                let hot = e
                    .exchange_hot_wallet
                    .as_ref()
                    .expect("hot wallet")
                    .to_string();
                assert_eq!(s.labels[&hot].1, Category::Exchange);
                let from_dep: HashSet<String> = [addr.clone()].into();
                let swept = moved(&s, &from_dep, &hot, &e.asset);
                if e.held {
                    assert_eq!(swept, 0, "held deposit {addr} was swept");
                } else {
                    assert_eq!(swept, e.amount, "deposit {addr} not swept in full");
                }
            }
            Category::Mixer | Category::Bridge => {
                assert_eq!(s.labels[&addr].1, e.category);
                assert!(!e.held);
            }
            ref other => panic!("unexpected endpoint category {other}"),
        }
    }
    assert!(
        t.endpoints.iter().any(|e| e.held),
        "some deposits are freezable"
    );

    // Conservation per asset: stolen + swapped in = swapped out + exited + held.
    let mut assets: HashSet<&str> = t.stolen.iter().map(|a| a.asset.as_str()).collect();
    assets.extend(t.swaps.iter().map(|x| x.asset_out.as_str()));
    for asset in assets {
        let sum = |it: &mut dyn Iterator<Item = u128>| it.sum::<u128>();
        let stolen = sum(&mut t
            .stolen
            .iter()
            .filter(|a| a.asset == asset)
            .map(|a| a.amount));
        let sw_in = sum(&mut t
            .swaps
            .iter()
            .filter(|x| x.asset_out == asset)
            .map(|x| x.amount_out));
        let sw_out = sum(&mut t
            .swaps
            .iter()
            .filter(|x| x.asset_in == asset)
            .map(|x| x.amount_in));
        let exited = sum(&mut t
            .endpoints
            .iter()
            .filter(|e| e.asset == asset)
            .map(|e| e.amount));
        let held = sum(&mut t.held.iter().filter(|h| h.asset == asset).map(|h| h.amount));
        assert_eq!(stolen + sw_in, sw_out + exited + held, "asset {asset}");
    }
    // Each swap is one transaction to the router: asset in to the pool, asset out back.
    let router = s
        .labels
        .iter()
        .find(|(_, v)| v.0 == "DEX router")
        .unwrap()
        .0
        .clone();
    for sw in &t.swaps {
        let tx = s
            .txs
            .iter()
            .find(|x| x.hash == sw.tx_hash)
            .expect("swap tx");
        assert_eq!(tx.to, router);
        let logs: Vec<&Tt> = s.tts.iter().filter(|x| x.hash == sw.tx_hash).collect();
        let who = sw.address.to_string();
        let pool = sw.pool.to_string();
        assert!(logs.iter().any(|l| l.token == sw.asset_in
            && l.from == who
            && l.to == pool
            && l.value == sw.amount_in));
        assert!(logs.iter().any(|l| l.token == sw.asset_out
            && l.from == pool
            && l.to == who
            && l.value == sw.amount_out));
        assert_eq!(s.labels[&pool].1, Category::Dex);
    }
    let steth = s.tokens.iter().find(|(_, v)| v.0 == "stETH").unwrap().0;
    assert!(
        t.swaps.iter().any(|x| &x.asset_in == steth),
        "staked token swapped"
    );
}

#[test]
fn laundering_patterns_are_present() {
    let (_d, _summary, s) = gen(8, 30_000);
    let t = &s.truth;
    let thief = t.seeds.addresses[0].to_string();

    // Round-amount fan-out: >= 40 transfers of exactly 10,000 ETH from one address.
    let round = s
        .txs
        .iter()
        .filter(|x| x.from == thief && x.value == 10_000 * ETH)
        .count();
    assert!(round >= 40, "{round} round-amount transfers from the thief");

    // Mixer deposits only in the pool's fixed denomination.
    let denoms: HashMap<&str, u128> = [
        ("0.1", ETH / 10),
        ("1", ETH),
        ("10", 10 * ETH),
        ("100", 100 * ETH),
    ]
    .into();
    let mut mixer_deposits = 0;
    for (addr, (label, cat)) in &s.labels {
        if *cat != Category::Mixer {
            continue;
        }
        let d = label
            .strip_prefix("Mixer ")
            .and_then(|r| r.strip_suffix(" ETH pool"))
            .unwrap();
        for x in s.txs.iter().filter(|x| &x.to == addr) {
            assert_eq!(x.value, denoms[d], "mixer {addr} got {}", x.value);
            mixer_deposits += 1;
        }
    }
    assert!(mixer_deposits > 20);
    let launder: HashSet<String> = t
        .laundering_addresses
        .iter()
        .map(|a| a.address.to_string())
        .collect();
    let mixers: HashSet<&String> = s
        .labels
        .iter()
        .filter(|(_, v)| v.1 == Category::Mixer)
        .map(|(k, _)| k)
        .collect();
    assert!(s
        .txs
        .iter()
        .any(|x| launder.contains(&x.from) && mixers.contains(&x.to)));

    // The pause: no laundering transfer inside it, and it lasts days.
    assert!(t.pause.to_time - t.pause.from_time >= 2 * 86_400);
    let in_pause = s
        .txs
        .iter()
        .filter(|x| {
            launder.contains(&x.from) && x.time > t.pause.from_time && x.time < t.pause.to_time
        })
        .count();
    assert_eq!(in_pause, 0);
    assert!(s
        .txs
        .iter()
        .any(|x| launder.contains(&x.from) && x.time >= t.pause.to_time));

    // Address-poisoning spam: look-alikes share the first and last 4 hex chars
    // of a real counterparty; their transfers carry zero value or fake tokens.
    let fake: HashSet<String> = t
        .tokens
        .fake
        .iter()
        .map(|f| f.address.to_string())
        .collect();
    for f in &t.tokens.fake {
        let real = t.tokens.trusted.iter().any(|r| r.symbol == f.symbol);
        let non_ascii = !f.symbol.is_ascii();
        assert!(
            non_ascii || f.symbol == "ETH" || real,
            "fake symbol {}",
            f.symbol
        );
        assert_eq!(s.tokens[&f.address.to_string()].0, f.symbol);
    }
    let spam: HashSet<String> = t.spam_addresses.iter().map(|a| a.to_string()).collect();
    let mut counterparties: HashSet<String> = launder.clone();
    counterparties.extend(t.endpoints.iter().map(|e| e.address.to_string()));
    let looks_like = |a: &str| {
        counterparties
            .iter()
            .any(|c| c != a && c[..6] == a[..6] && c[38..] == a[38..])
    };
    let mut spam_rows = 0;
    for x in s
        .txs
        .iter()
        .filter(|x| spam.contains(&x.from) || spam.contains(&x.to))
    {
        assert_eq!(x.value, 0, "spam tx with value {x:?}");
        spam_rows += 1;
    }
    let mut lookalikes_used = 0;
    for tt in s
        .tts
        .iter()
        .filter(|x| spam.contains(&x.from) || spam.contains(&x.to))
    {
        assert!(
            tt.value == 0 || fake.contains(&tt.token),
            "spam token transfer {tt:?}"
        );
        let other = if spam.contains(&tt.from) {
            &tt.from
        } else {
            &tt.to
        };
        assert!(looks_like(other), "{other} imitates no counterparty");
        lookalikes_used += 1;
        spam_rows += 1;
    }
    assert!(
        lookalikes_used >= 40 && spam_rows >= 100,
        "{lookalikes_used} / {spam_rows}"
    );
    // Fake-token transfers are never moved by launderers' own transactions.
    for tt in s.tts.iter().filter(|x| fake.contains(&x.token)) {
        let tx = s.txs.iter().find(|x| x.hash == tt.hash).unwrap();
        assert!(spam.contains(&tx.from), "fake token moved by {}", tx.from);
    }
    // Spam never receives value from laundering addresses.
    assert!(!s
        .txs
        .iter()
        .any(|x| launder.contains(&x.from) && spam.contains(&x.to)));
}

#[test]
fn deposit_addresses_forward_to_their_exchange() {
    let (_d, _summary, s) = gen(21, 30_000);
    let hot: HashSet<&String> = s
        .labels
        .iter()
        .filter(|(_, v)| v.1 == Category::Exchange)
        .map(|(k, _)| k)
        .collect();
    // Addresses that send to a hot wallet (deposit addresses) send only there.
    let deposits: HashSet<&String> = s
        .txs
        .iter()
        .filter(|x| hot.contains(&x.to))
        .map(|x| &x.from)
        .collect();
    assert!(deposits.len() > 50);
    let mut targets: HashMap<&String, HashSet<&String>> = HashMap::new();
    for x in s.txs.iter().filter(|x| deposits.contains(&x.from)) {
        targets.entry(&x.from).or_default().insert(&x.to);
    }
    for (d, t) in targets {
        assert_eq!(t.len(), 1, "deposit address {d} forwards to {t:?}");
        assert!(hot.contains(t.iter().next().unwrap()));
    }
}

#[test]
fn calibration_hits_real_chain_figures() {
    let cfg = GenConfig {
        seed: 42,
        transfers: 100_000,
        ..Default::default()
    };
    let mut cal = Calibration::new();
    generate_into(&cfg, &mut cal).unwrap();
    let f = cal.figures();
    assert!(
        (f.tx_per_block / TARGET_TX_PER_BLOCK - 1.0).abs() < 0.05,
        "tx/block {f:?}"
    );
    assert!(
        (f.edges_per_address / TARGET_EDGES_PER_ADDRESS - 1.0).abs() < 0.10,
        "edges/address {f:?}"
    );
    let (lo, hi) = TARGET_SKEW_RANGE;
    assert!(
        f.supernode_skew >= lo && f.supernode_skew <= hi,
        "skew {f:?}"
    );
}

#[test]
fn too_small_or_bad_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    for cfg in [
        GenConfig {
            transfers: 9_999,
            ..Default::default()
        },
        GenConfig {
            exchanges: 0,
            ..Default::default()
        },
        GenConfig {
            failed_tx_share: 0.9,
            ..Default::default()
        },
    ] {
        let err = generate(&cfg, &out).unwrap_err();
        assert!(matches!(err, GenError::Config(_)), "{err}");
    }
    assert!(!out.exists(), "nothing written for a refused configuration");
}

#[derive(Default)]
struct Records(Vec<TransferRecord>, usize);

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl TransferSink for Records {
    type Error = Never;
    fn token(&mut self, _: tripoint_chain::TokenInfo) -> Result<(), Never> {
        self.1 += 1;
        Ok(())
    }
    fn transfer(&mut self, r: TransferRecord) -> Result<(), Never> {
        self.0.push(r);
        Ok(())
    }
    fn checkpoint(&mut self, _: &tripoint_chain::SourceCursor) -> Result<(), Never> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

#[test]
fn record_sink_matches_the_files() {
    let (_d, summary, s) = gen(9, 15_000);
    let mut recs = Records::default();
    let mut sink = RecordSink::new(&mut recs);
    let again = generate_into(
        &GenConfig {
            seed: 9,
            transfers: 15_000,
            ..Default::default()
        },
        &mut sink,
    )
    .unwrap();
    assert_eq!(again.rows(), summary.rows());
    assert_eq!(sink.labels.len(), s.labels.len());
    let failed = s.txs.iter().filter(|t| !t.ok).count();
    assert_eq!(recs.0.len(), s.txs.len() - failed + s.tts.len());
    assert_eq!(recs.1, s.tokens.len());
    // Chain order by (block, tx index, sub index).
    for w in recs.0.windows(2) {
        assert!(w[0].order_key() < w[1].order_key());
    }
}

#[test]
fn scales_with_constant_laundering() {
    // Larger scenarios keep the same plan (same truth sizes) and the exact row count.
    let small = generate_into(
        &GenConfig {
            transfers: 10_000,
            ..Default::default()
        },
        &mut Calibration::new(),
    )
    .unwrap();
    let big = generate_into(
        &GenConfig {
            transfers: 200_000,
            ..Default::default()
        },
        &mut Calibration::new(),
    )
    .unwrap();
    assert_eq!(small.rows(), 10_000);
    assert_eq!(big.rows(), 200_000);
    assert_eq!(
        small.truth.laundering_addresses,
        big.truth.laundering_addresses
    );
    assert!(big.blocks > small.blocks * 15);
}

/// Collects the address graph and the known service addresses.
#[derive(Default)]
struct Graph {
    relations: HashSet<([u8; 20], [u8; 20])>,
    services: HashSet<[u8; 20]>,
}

impl tripoint_gen::ScenarioSink for Graph {
    fn token(&mut self, t: &tripoint_gen::TokenRow) -> Result<(), GenError> {
        self.services.insert(t.address);
        Ok(())
    }
    fn label(&mut self, l: &tripoint_chain::Label) -> Result<(), GenError> {
        if let tripoint_chain::Address::Eth(a) = l.address {
            self.services.insert(a);
        }
        Ok(())
    }
    fn transaction(&mut self, tx: &tripoint_gen::TxRow) -> Result<(), GenError> {
        self.relations.insert((tx.from, tx.to));
        Ok(())
    }
    fn token_transfer(&mut self, _: &tripoint_gen::TokenTransferRow) -> Result<(), GenError> {
        Ok(())
    }
}

#[test]
fn user_degrees_are_heavy_tailed() {
    let mut g = Graph::default();
    let cfg = GenConfig {
        transfers: 100_000,
        ..Default::default()
    };
    generate_into(&cfg, &mut g).unwrap();
    let mut degree: HashMap<[u8; 20], u64> = HashMap::new();
    for (a, b) in &g.relations {
        *degree.entry(*a).or_default() += 1;
        *degree.entry(*b).or_default() += 1;
    }
    // Ordinary users only: labelled services and token contracts excluded.
    let mut users: Vec<u64> = degree
        .iter()
        .filter(|(a, _)| !g.services.contains(*a))
        .map(|(_, d)| *d)
        .collect();
    users.sort_unstable();
    let median = users[users.len() / 2];
    let at_least = |k: u64| users.iter().filter(|&&d| d >= k).count();
    assert!(median <= 3, "median degree {median}");
    // A light-tailed graph of the same mean (~4) has essentially nobody at 64;
    // a power law keeps a fat tail whose counts fall slowly.
    assert!(
        at_least(64) >= 50,
        "{} users with degree >= 64",
        at_least(64)
    );
    let ratio = at_least(16) as f64 / at_least(64) as f64;
    assert!(ratio < 20.0, "tail falls too fast: {ratio}");
}
