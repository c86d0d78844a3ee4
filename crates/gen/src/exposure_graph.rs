//! A random transfer graph for checking batch exposure (the Spark job)
//! against the engine: skewed activity (half the transfers touch the first
//! 5 % of addresses), three tokens (one imitating USDT: spam), zero amounts,
//! self-transfers and amounts beyond 2^128 that exercise exact 256-bit
//! haircut arithmetic, plus sanctioned, DPRK-attributed, exchange and mixer
//! labels. Deterministic in its seed; no DEX labels, so the job's rules and
//! the engine's coincide.

use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, SourceCursor, TokenInfo,
    TransferRecord, TransferSink, TxHash, U256,
};

/// Addresses in the graph.
pub const EXPOSURE_GRAPH_ADDRESSES: u64 = 1_500;
const TOKENS: [(u64, &str); 3] = [(90_001, "AAA"), (90_002, "BBB"), (90_003, "U5DT")];

/// The graph's address number `n`.
pub fn exposure_graph_address(n: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0x5e;
    b[12..].copy_from_slice(&n.to_be_bytes());
    Address::Eth(b)
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

/// Write `transfers` transfers (and the tokens) into `sink`, checkpointed
/// once at the end under source `exposure-graph`; returns the labels to
/// import. `seed` must be non-zero.
pub fn write_exposure_graph<S: TransferSink>(
    sink: &mut S,
    transfers: u64,
    seed: u64,
) -> Result<Vec<Label>, S::Error> {
    let mut rng = Rng(seed.max(1));
    let eth = exposure_graph_address;
    for (a, sym) in TOKENS {
        sink.token(TokenInfo {
            address: eth(a),
            symbol: sym.into(),
            name: sym.into(),
            decimals: Some(18),
        })?;
    }
    let pick = |rng: &mut Rng| {
        if rng.below(2) == 0 {
            rng.below(EXPOSURE_GRAPH_ADDRESSES / 20)
        } else {
            rng.below(EXPOSURE_GRAPH_ADDRESSES)
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
        sink.transfer(TransferRecord {
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
        })?;
    }
    sink.checkpoint(&SourceCursor {
        source: "exposure-graph".into(),
        position: transfers,
    })?;
    let label = |n: u64, category: Category| Label {
        address: eth(n),
        label: format!("{category} {n}"),
        category,
        source: "exposure graph".into(),
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
    Ok(labels)
}
