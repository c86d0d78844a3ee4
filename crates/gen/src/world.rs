//! The fixed cast of a scenario: tokens, exchanges, DEX, bridge, mixer, victim.

use tripoint_chain::{Category, Label};

use crate::ids::{self, address, domain, Addr};
use crate::{GenConfig, TokenRow};

/// Token indexes into [`World::tokens`].
pub const USDT: usize = 0;
pub const USDC: usize = 1;
pub const WETH: usize = 2;
pub const STETH: usize = 3;
pub const METH: usize = 4;
/// First fake token; fakes follow the trusted ones.
pub const FAKE_USDT: usize = 5;
pub const FAKE_ETH: usize = 6;
pub const FAKE_USDC: usize = 7;
/// Trusted tokens that background users trade.
/// Mainnet WETH9 (token `WETH`): ether paid into it mints WETH, ether paid
/// out of it burns WETH (`tripoint-ingest` derives both from the ether side).
pub const WETH_ADDRESS: Addr = [
    0xc0, 0x2a, 0xaa, 0x39, 0xb2, 0x23, 0xfe, 0x8d, 0x0a, 0x0e, 0x5c, 0x4f, 0x27, 0xea, 0xd9, 0x08,
    0x3c, 0x75, 0x6c, 0xc2,
];

pub const TRADED: [usize; 5] = [USDT, USDC, WETH, STETH, METH];

pub struct TokenSpec {
    pub address: Addr,
    pub symbol: &'static str,
    pub name: &'static str,
    pub decimals: u8,
    /// `Some(symbol)` for a fake token imitating a real one.
    pub imitates: Option<&'static str>,
}

/// A constant-product pool between two tokens (WETH stands for ETH).
pub struct Pool {
    pub address: Addr,
    pub a: usize,
    pub b: usize,
}

/// Mixer denominations in wei: 0.1, 1, 10 and 100 ETH (Tornado Cash's ETH pools).
pub const MIXER_DENOMS: [u128; 4] = [
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
    10_000_000_000_000_000_000,
    100_000_000_000_000_000_000,
];

pub const ETH: u128 = 1_000_000_000_000_000_000;

pub struct World {
    pub seed: u64,
    pub victim: Addr,
    pub tokens: Vec<TokenSpec>,
    pub hot_wallets: Vec<Addr>,
    /// Cumulative Zipf shares of exchanges (customers choose by these).
    pub exchange_cdf: Vec<f64>,
    pub router: Addr,
    pub pools: Vec<Pool>,
    pub bridge: Addr,
    /// One pool contract per denomination, as Tornado Cash does.
    pub mixers: [Addr; 4],
}

/// Service address number `i` (stable across knobs).
fn service(seed: u64, i: u64) -> Addr {
    address(seed, domain::SERVICE, i)
}

impl World {
    pub fn new(cfg: &GenConfig) -> World {
        let seed = cfg.seed;
        let tok = |address: &str, symbol, name, decimals| TokenSpec {
            // Real contract addresses of the trusted tokens, so a real
            // trusted-token list recognises them.
            address: ids::parse_addr(address),
            symbol,
            name,
            decimals,
            imitates: None,
        };
        let fake = |i: u64, symbol, name, decimals, imitates| TokenSpec {
            address: service(seed, 1000 + i),
            symbol,
            name,
            decimals,
            imitates: Some(imitates),
        };
        let tokens = vec![
            tok(
                "0xdac17f958d2ee523a2206206994597c13d831ec7",
                "USDT",
                "Tether USD",
                6,
            ),
            tok(
                "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
                "USDC",
                "USD Coin",
                6,
            ),
            tok(
                "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                "WETH",
                "Wrapped Ether",
                18,
            ),
            tok(
                "0xae7ab96520de3a18e5e111b5eaab095312d7fe84",
                "stETH",
                "Liquid staked Ether 2.0",
                18,
            ),
            tok(
                "0xd5f7838f5c461feff7fe49ea5ebaf7728bb0adfa",
                "mETH",
                "mETH",
                18,
            ),
            // Cyrillic "Т" (U+0422) in place of the Latin T.
            fake(0, "USD\u{422}", "Tether USD", 6, "USDT"),
            // A token calling itself ETH: the native coin has no contract.
            fake(1, "ETH", "Ether", 18, "ETH"),
            // Cyrillic "С" (U+0421) in place of the Latin C.
            fake(2, "USD\u{421}", "USD Coin", 6, "USDC"),
        ];
        let n = cfg.exchanges as usize;
        let hot_wallets = (0..n as u64).map(|i| service(seed, 100 + i)).collect();
        // Zipf(1) market shares: the largest exchange is the chain's top supernode.
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / k as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let exchange_cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        let pools = [
            (WETH, USDT),
            (WETH, USDC),
            (STETH, WETH),
            (METH, WETH),
            (USDC, USDT),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| Pool {
            address: service(seed, 300 + i as u64),
            a,
            b,
        })
        .collect();
        World {
            seed,
            victim: service(seed, 1),
            tokens,
            hot_wallets,
            exchange_cdf,
            router: service(seed, 200),
            pools,
            bridge: service(seed, 400),
            mixers: [
                service(seed, 500),
                service(seed, 501),
                service(seed, 502),
                service(seed, 503),
            ],
        }
    }

    /// The pool trading `a` against `b`, either way round.
    pub fn pool(&self, a: usize, b: usize) -> &Pool {
        self.pools
            .iter()
            .find(|p| (p.a == a && p.b == b) || (p.a == b && p.b == a))
            .expect("pool exists for every pair the generator swaps")
    }

    pub fn token_rows(&self, block: u64) -> Vec<TokenRow> {
        self.tokens
            .iter()
            .map(|t| TokenRow {
                address: t.address,
                symbol: t.symbol.to_string(),
                name: t.name.to_string(),
                decimals: t.decimals,
                total_supply: 10u128.pow(9) * 10u128.pow(t.decimals as u32),
                block_number: block,
            })
            .collect()
    }

    /// What an investigator already knows before tracing.
    pub fn labels(&self, thief: &Addr) -> Vec<Label> {
        let source = format!("tripoint-gen synthetic scenario (seed {})", self.seed);
        let mut out = Vec::new();
        let mut push = |a: &Addr, label: String, category: Category| {
            out.push(Label {
                address: ids::to_address(a),
                label,
                category,
                source: source.clone(),
                attribution: Default::default(),
            })
        };
        push(
            &self.victim,
            "Victim exchange cold wallet".into(),
            Category::Victim,
        );
        push(
            thief,
            "Lazarus Group theft address (attributed)".into(),
            Category::DprkAttributed,
        );
        for (i, h) in self.hot_wallets.iter().enumerate() {
            push(
                h,
                format!("Exchange {} hot wallet", i + 1),
                Category::Exchange,
            );
        }
        push(&self.router, "DEX router".into(), Category::Dex);
        for p in &self.pools {
            let label = format!(
                "DEX pool {}/{}",
                self.tokens[p.a].symbol, self.tokens[p.b].symbol
            );
            push(&p.address, label, Category::Dex);
        }
        push(&self.bridge, "Cross-chain bridge".into(), Category::Bridge);
        for (m, name) in self.mixers.iter().zip(["0.1", "1", "10", "100"]) {
            push(m, format!("Mixer {name} ETH pool"), Category::Mixer);
        }
        out
    }
}
