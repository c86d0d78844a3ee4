//! The block loop: background traffic with the planned laundering and spam
//! merged in at their blocks, streamed to the sink in chain order.
//!
//! Memory is constant in the number of transfers: users are indexes (their
//! addresses are derived, see `ids`), the degree model is a counter, and the
//! only queue is the deposits waiting to be swept (bounded by the deposit rate
//! times the sweep delay, ~a few hundred entries).

use std::collections::VecDeque;

use rand::Rng as _;

use crate::ids::{self, address, domain, Addr, Rng};
use crate::plan::{self, Kind, Plan};
use crate::truth::{self, GroundTruth};
use crate::world::{World, MIXER_DENOMS, TRADED, WETH};
use crate::{CallFrame, GenConfig, GenError, GenSummary, ScenarioSink, TokenTransferRow, TxRow};

/// Background transaction kinds and their weights (shares of transactions
/// before deposit sweeps are added). Tuned so the calibration figures in
/// `docs/gen.md` come out; see `calibration.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BgKind {
    /// User to user, ETH.
    Payment,
    /// User to user, a trusted token (a call to the token contract).
    TokenPayment,
    /// User to their deposit address at an exchange (swept later).
    Deposit,
    /// Exchange hot wallet to a user.
    Withdrawal,
    /// ETH into the router, a token out of a pool.
    SwapEthForToken,
    /// Token A into a pool, token B out, same transaction.
    SwapTokens,
    BridgeDeposit,
    MixerDeposit,
}

const KINDS: [(BgKind, f64, u64); 8] = [
    // (kind, weight, rows it produces)
    (BgKind::Payment, 0.56, 1),
    (BgKind::TokenPayment, 0.16, 2),
    (BgKind::Deposit, 0.08, 1),
    (BgKind::Withdrawal, 0.10, 1),
    (BgKind::SwapEthForToken, 0.015, 2),
    (BgKind::SwapTokens, 0.01, 3),
    (BgKind::BridgeDeposit, 0.025, 1),
    (BgKind::MixerDeposit, 0.015, 1),
];

/// Probability that a user pick is a newcomer; the rest pick an existing user
/// with a bias to early (old) users, which yields heavy-tailed degrees like
/// preferential attachment without storing degrees.
const P_NEW_USER: f64 = 0.235;
// Age bias: an existing user is index ⌊n·u³⌋ (see `Background::user`).
/// Users that exist before the first block.
const INITIAL_USERS: u64 = 200;
/// Deposit sweeps happen 1..=SWEEP_DELAY blocks after the deposit.
const SWEEP_DELAY: u64 = 20;
/// Forwarding contracts (smart wallets, payment splitters, aggregators)
/// that contract-mediated background payments go through.
const BG_FORWARDERS: u64 = 1024;

/// Expected rows per background transaction, sweeps included.
fn rows_per_bg_tx() -> f64 {
    let dep = KINDS
        .iter()
        .find(|k| k.0 == BgKind::Deposit)
        .map_or(0.0, |k| k.1);
    let rows: f64 = KINDS.iter().map(|k| k.1 * k.2 as f64).sum::<f64>() + dep;
    let txs: f64 = KINDS.iter().map(|k| k.1).sum::<f64>() + dep;
    rows / txs
}

/// Table resolution of log-uniform amounts: steps per decade.
const STEPS: u32 = 1024;
/// 10^(1/STEPS) - 1: how much one table step grows.
const STEP_GROWTH: f64 = 0.002_251_148_292_912_841;
/// Powers of ten (exact in f64 up to 1e22; the larger ones are the nearest
/// doubles, fixed at compile time).
const POW10: [f64; 27] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26,
];

/// 10^(i/STEPS) for i in 0..STEPS by square-and-multiply from the step:
/// only basic IEEE operations, hence reproducible.
fn pow10_steps() -> Vec<f64> {
    (0..STEPS).map(|i| pow_int(1.0 + STEP_GROWTH, i)).collect()
}

/// b^n by square-and-multiply in plain arithmetic.
fn pow_int(b: f64, mut n: u32) -> f64 {
    let (mut acc, mut base) = (1.0, b);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

struct Sweep {
    due: u64,
    deposit: Addr,
    hot: Addr,
    value: u128,
}

struct Background<'w> {
    w: &'w World,
    seed: u64,
    rng: Rng,
    users: u64,
    cdf: [f64; KINDS.len()],
    pending: VecDeque<Sweep>,
    seq: u64,
    failed_share: f64,
    pow10_steps: Vec<f64>,
    /// Share of ETH payments and withdrawals through a forwarder, drawn from
    /// its own stream (untouched at 0, so the default output is unchanged).
    contract_share: f64,
    crng: Rng,
}

/// One transaction being emitted, with its logs.
struct Out {
    from: Addr,
    to: Addr,
    value: u128,
    gas: u64,
    success: bool,
    logs: [(Addr, Addr, Addr, u128); 2],
    n_logs: usize,
    /// Contract-mediated: the forwarder's internal call.
    frame: Option<CallFrame>,
}

impl Out {
    fn plain(from: Addr, to: Addr, value: u128, gas: u64) -> Out {
        Out {
            from,
            to,
            value,
            gas,
            success: true,
            logs: [([0; 20], [0; 20], [0; 20], 0); 2],
            n_logs: 0,
            frame: None,
        }
    }
    fn log(mut self, token: Addr, from: Addr, to: Addr, value: u128) -> Out {
        self.logs[self.n_logs] = (token, from, to, value);
        self.n_logs += 1;
        self
    }
}

impl<'w> Background<'w> {
    fn new(cfg: &GenConfig, w: &'w World) -> Self {
        let total: f64 = KINDS.iter().map(|k| k.1).sum();
        let mut cdf = [0.0; KINDS.len()];
        let mut acc = 0.0;
        for (c, k) in cdf.iter_mut().zip(KINDS.iter()) {
            acc += k.1 / total;
            *c = acc;
        }
        Background {
            w,
            seed: cfg.seed,
            rng: ids::stream(cfg.seed, 1),
            users: INITIAL_USERS,
            cdf,
            pending: VecDeque::new(),
            seq: 0,
            failed_share: cfg.failed_tx_share,
            pow10_steps: pow10_steps(),
            contract_share: cfg.contract_share,
            crng: ids::stream(cfg.seed, 4),
        }
    }

    /// For the contract share of payments: send `out` to a forwarder, which
    /// passes the value on to the payee by an internal call.
    fn maybe_forward(&mut self, mut out: Out) -> Out {
        if self.contract_share > 0.0 && out.success && self.crng.gen_bool(self.contract_share) {
            let i = self.crng.gen_range(0..BG_FORWARDERS);
            let fwd = address(self.seed, domain::FORWARDER, i);
            out.frame = Some(CallFrame::call(&[0], fwd, out.to, out.value));
            out.to = fwd;
            out.gas = 45_000;
        }
        out
    }

    fn user(&mut self) -> u64 {
        let u: f64 = self.rng.gen();
        if u < P_NEW_USER {
            self.users += 1;
            self.users - 1
        } else {
            let v: f64 = self.rng.gen();
            // v³ spelled out: `powi` may round differently between builds.
            (self.users as f64 * (v * v * v)) as u64
        }
    }

    fn user_addr(&mut self) -> Addr {
        let i = self.user();
        address(self.seed, domain::USER, i)
    }

    /// Log-uniform wei amount between 10^-4 and 10^3 ETH; a quarter are
    /// rounded to 0.01 ETH, as people do.
    fn eth_value(&mut self) -> u128 {
        let v = self.log_uniform(14 * STEPS, 21 * STEPS);
        if self.rng.gen_bool(0.25) {
            (v / 10_000_000_000_000_000).max(1) * 10_000_000_000_000_000
        } else {
            v
        }
    }

    fn token_value(&mut self, token: usize) -> u128 {
        let d = self.w.tokens[token].decimals as u32;
        self.log_uniform((d - 1) * STEPS, (d + 5) * STEPS + STEPS / 2)
    }

    /// 10^x with x uniform in [lo/STEPS, hi/STEPS): a table step, then a
    /// uniform jitter within the step. Plain IEEE arithmetic only (no libm
    /// `pow`), so amounts are the same on every platform and build.
    fn log_uniform(&mut self, lo: u32, hi: u32) -> u128 {
        let x = self.rng.gen_range(lo..hi);
        let (decade, step) = ((x / STEPS) as usize, (x % STEPS) as usize);
        let jitter: f64 = self.rng.gen();
        let base = POW10[decade] * self.pow10_steps[step];
        (base + base * STEP_GROWTH * jitter) as u128
    }

    fn exchange(&mut self) -> usize {
        let u: f64 = self.rng.gen();
        let cdf = &self.w.exchange_cdf;
        cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1)
    }

    fn traded_token(&mut self) -> usize {
        // USDT dominates token traffic, as on mainnet.
        let u: f64 = self.rng.gen();
        match u {
            u if u < 0.38 => TRADED[0],
            u if u < 0.60 => TRADED[1],
            u if u < 0.75 => TRADED[2],
            u if u < 0.88 => TRADED[3],
            _ => TRADED[4],
        }
    }

    /// The next background transaction, producing at most `max_rows` rows.
    fn next(&mut self, block_idx: u64, max_rows: u64) -> Out {
        if let Some(s) = self.pending.front() {
            if s.due <= block_idx {
                let s = self.pending.pop_front().expect("front exists");
                return Out::plain(s.deposit, s.hot, s.value, 21_000);
            }
        }
        let u: f64 = self.rng.gen();
        let mut kind = KINDS[self
            .cdf
            .iter()
            .position(|&c| u < c)
            .unwrap_or(KINDS.len() - 1)];
        if kind.2 > max_rows {
            kind = KINDS[0];
        }
        let w = self.w;
        match kind.0 {
            BgKind::Payment => {
                let from = self.user_addr();
                let to = self.user_addr();
                let value = self.eth_value();
                let mut out = Out::plain(from, to, value, 21_000);
                out.success = !self.rng.gen_bool(self.failed_share);
                self.maybe_forward(out)
            }
            BgKind::TokenPayment => {
                let tok = self.traded_token();
                let from = self.user_addr();
                let to = self.user_addr();
                let value = self.token_value(tok);
                let t = w.tokens[tok].address;
                Out::plain(from, t, 0, 65_000).log(t, from, to, value)
            }
            BgKind::Deposit => {
                let u = self.user();
                let e = self.exchange();
                let from = address(self.seed, domain::USER, u);
                // One deposit address per (exchange, customer), reused.
                let dep = address(self.seed, domain::DEPOSIT | ((e as u64) << 8), u);
                let value = self.eth_value();
                let due = block_idx + self.rng.gen_range(1..=SWEEP_DELAY);
                self.pending.push_back(Sweep {
                    due,
                    deposit: dep,
                    hot: w.hot_wallets[e],
                    value,
                });
                Out::plain(from, dep, value, 21_000)
            }
            BgKind::Withdrawal => {
                let e = self.exchange();
                let to = self.user_addr();
                let value = self.eth_value();
                self.maybe_forward(Out::plain(w.hot_wallets[e], to, value, 21_000))
            }
            BgKind::SwapEthForToken => {
                let who = self.user_addr();
                let tok = if self.rng.gen_bool(0.6) {
                    TRADED[0]
                } else {
                    TRADED[1]
                };
                let pool = w.pool(WETH, tok).address;
                let value = self.eth_value();
                let out_value = self.token_value(tok);
                Out::plain(who, w.router, value, 180_000).log(
                    w.tokens[tok].address,
                    pool,
                    who,
                    out_value,
                )
            }
            BgKind::SwapTokens => {
                let who = self.user_addr();
                let p = &w.pools[self.rng.gen_range(0..w.pools.len())];
                let (tin, tout) = if self.rng.gen_bool(0.5) {
                    (p.a, p.b)
                } else {
                    (p.b, p.a)
                };
                let vin = self.token_value(tin);
                let vout = self.token_value(tout);
                Out::plain(who, w.router, 0, 180_000)
                    .log(w.tokens[tin].address, who, p.address, vin)
                    .log(w.tokens[tout].address, p.address, who, vout)
            }
            BgKind::BridgeDeposit => {
                let who = self.user_addr();
                let value = self.eth_value();
                Out::plain(who, w.bridge, value, 120_000)
            }
            BgKind::MixerDeposit => {
                let who = self.user_addr();
                let d = self.rng.gen_range(0..MIXER_DENOMS.len());
                Out::plain(who, w.mixers[d], MIXER_DENOMS[d], 1_000_000)
            }
        }
    }
}

struct Emitter<'s, S: ScenarioSink> {
    sink: &'s mut S,
    transactions: u64,
    token_transfers: u64,
    trace_rows: u64,
    internal_transfers: u64,
}

struct BlockCtx {
    number: u64,
    hash: [u8; 32],
    timestamp: i64,
    base_fee: u64,
    tx_index: u32,
    log_index: u32,
}

impl<S: ScenarioSink> Emitter<'_, S> {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        b: &mut BlockCtx,
        hash: [u8; 32],
        from: Addr,
        to: Addr,
        value: u128,
        gas: u64,
        tip: u64,
        success: bool,
        logs: &[(Addr, Addr, Addr, u128)],
        frames: Option<&[CallFrame]>,
    ) -> Result<(), GenError> {
        let tx = TxRow {
            hash,
            block_number: b.number,
            block_hash: b.hash,
            transaction_index: b.tx_index,
            from,
            to,
            value,
            gas,
            gas_price: b.base_fee + tip,
            block_timestamp: b.timestamp,
            success,
        };
        self.sink.transaction(&tx)?;
        self.transactions += 1;
        b.tx_index += 1;
        for &(token, lf, lt, v) in logs {
            self.sink.token_transfer(&TokenTransferRow {
                token,
                from: lf,
                to: lt,
                value: v,
                transaction_hash: hash,
                log_index: b.log_index,
                block_number: b.number,
            })?;
            self.token_transfers += 1;
            b.log_index += 1;
        }
        if let Some(frames) = frames {
            self.sink.traces(&tx, frames)?;
            self.trace_rows += 1 + frames.len() as u64;
            self.internal_transfers += frames.iter().filter(|f| f.value > 0).count() as u64;
        }
        Ok(())
    }
}

pub fn run<S: ScenarioSink>(
    cfg: &GenConfig,
    sink: &mut S,
    progress: &mut dyn FnMut(u64),
) -> Result<GenSummary, GenError> {
    let world = World::new(cfg);
    let mut plan = plan::build(cfg, &world);
    let plan_rows = plan.rows();
    if cfg.transfers < plan_rows * 2 {
        return Err(GenError::Config(format!(
            "transfers = {} is too small for the laundering plan ({} rows); use at least {}",
            cfg.transfers,
            plan_rows,
            plan_rows * 2
        )));
    }
    let bg_rows = cfg.transfers - plan_rows;
    let bg_txs = bg_rows as f64 / rows_per_bg_tx();
    let blocks = ((bg_txs + plan.events.len() as f64) / cfg.tx_per_block as f64)
        .ceil()
        .max(10.0) as u64;
    // The theft at 10% of the blocks, the laundering over at most the next 80%;
    // when the scenario is too small for its span in 12 s blocks, block numbers
    // advance by `step` (the export is then a sample of every step-th block).
    let theft_idx = blocks / 10;
    let usable = (blocks * 8 / 10).max(1);
    let step = plan.span().div_ceil(12 * usable).max(1);
    plan.schedule(cfg.seed, theft_idx, step);

    for t in world.token_rows(cfg.start_block) {
        sink.token(&t)?;
    }
    for l in world.labels(&plan.thief) {
        sink.label(&l)?;
    }

    let mut bg = Background::new(cfg, &world);
    let mut rng = ids::stream(cfg.seed, 3);
    let mut em = Emitter {
        sink,
        transactions: 0,
        token_transfers: 0,
        trace_rows: 0,
        internal_transfers: 0,
    };
    let mut bg_left = bg_rows;
    let mut next_planned = 0usize;
    let mut base_fee: u64 = 20_000_000_000;
    let mut counts = truth::Counts::default();
    let mut blocks_emitted = 0u64;
    let mut first_block = None;
    let mut last_block = 0;
    let mut bi = 0u64;
    let mut next_report = 0u64;
    let last_planned_idx = plan.events.last().map_or(0, |e| e.block_idx);
    while bi < blocks || next_planned < plan.events.len() {
        let number = cfg.start_block + bi * step;
        let mut b = BlockCtx {
            number,
            hash: ids::hash32(cfg.seed, domain::BLOCK, number),
            timestamp: cfg.start_time + 12 * (bi * step) as i64,
            base_fee,
            tx_index: 0,
            log_index: 0,
        };
        let is_last = bi + 1 >= blocks.max(last_planned_idx + 1);
        let mut n_bg: u64 = if is_last {
            u64::MAX
        } else {
            let mean =
                bg_left as f64 / rows_per_bg_tx() / (blocks.saturating_sub(bi).max(1)) as f64;
            (mean * rng.gen_range(0.8..1.2)).round() as u64
        };
        let start = next_planned;
        while next_planned < plan.events.len() && plan.events[next_planned].block_idx <= bi {
            next_planned += 1;
        }
        let mut planned = start..next_planned;
        loop {
            if bg_left == 0 {
                n_bg = 0;
            }
            let pl_left = planned.len() as u64;
            if pl_left == 0 && n_bg == 0 {
                break;
            }
            let take_planned = pl_left > 0
                && (n_bg == 0 || rng.gen_range(0..pl_left + n_bg.min(1 << 40)) < pl_left);
            if take_planned {
                let ev = &plan.events[planned.next().expect("planned left")];
                let logs: Vec<_> = ev
                    .logs
                    .iter()
                    .map(|l| (l.token, l.from, l.to, l.value))
                    .collect();
                em.emit(
                    &mut b,
                    ev.hash,
                    ev.from,
                    ev.to,
                    ev.value,
                    ev.gas,
                    1_000_000_000,
                    true,
                    &logs,
                    ev.frames.as_deref(),
                )?;
                match ev.kind {
                    Kind::Laundering | Kind::ExchangeSweep => counts.laundering_transactions += 1,
                    Kind::Spam => {
                        counts.spam_transactions += 1;
                        counts.spam_token_transfers += ev.logs.len() as u64;
                    }
                }
            } else {
                let out = bg.next(bi, bg_left);
                let hash = ids::hash32(cfg.seed, domain::BG_TX, bg.seq);
                bg.seq += 1;
                let tip = 1_000_000_000 + (bg.seq % 7) * 250_000_000;
                em.emit(
                    &mut b,
                    hash,
                    out.from,
                    out.to,
                    out.value,
                    out.gas,
                    tip,
                    out.success,
                    &out.logs[..out.n_logs],
                    out.frame.as_ref().map(std::slice::from_ref),
                )?;
                bg_left -= 1 + out.n_logs as u64;
                n_bg -= 1;
            }
            let done = em.transactions + em.token_transfers;
            if done >= next_report {
                progress(done);
                next_report = done + 65_536;
            }
        }
        if b.tx_index > 0 {
            blocks_emitted += 1;
            first_block.get_or_insert(number);
            last_block = number;
        }
        // Base fee drifts like EIP-1559's: at most 12.5% per block.
        let drift = rng.gen_range(0.9..1.1);
        base_fee = ((base_fee as f64 * drift) as u64).clamp(3_000_000_000, 150_000_000_000);
        bi += 1;
    }
    progress(em.transactions + em.token_transfers);

    counts.transactions = em.transactions;
    counts.token_transfers = em.token_transfers;
    counts.blocks = blocks_emitted;
    let truth = build_truth(cfg, &world, &plan, step, theft_idx, counts);
    Ok(GenSummary {
        transactions: em.transactions,
        token_transfers: em.token_transfers,
        trace_rows: em.trace_rows,
        internal_transfers: em.internal_transfers,
        blocks: blocks_emitted,
        first_block: first_block.unwrap_or(cfg.start_block),
        last_block,
        truth,
    })
}

fn asset_key(w: &World, a: plan::AssetIdx) -> String {
    use tripoint_chain::{Address, Asset, Chain};
    a.map_or(Asset::Native(Chain::Ethereum), |i| {
        Asset::Token(Address::Eth(w.tokens[i].address))
    })
    .key()
}

fn build_truth(
    cfg: &GenConfig,
    w: &World,
    plan: &Plan,
    step: u64,
    theft_idx: u64,
    mut counts: truth::Counts,
) -> GroundTruth {
    use tripoint_chain::Category;
    let hash_hex = |h: &[u8; 32]| tripoint_chain::TxHash(*h).to_string();
    let a = ids::to_address;
    let time_of = |idx: u64| cfg.start_time + 12 * (idx * step) as i64;
    let block_of = |idx: u64| cfg.start_block + idx * step;
    let theft_time = time_of(theft_idx);

    // One endpoint per (address, asset), in order of first arrival.
    let mut endpoints: Vec<truth::Endpoint> = Vec::new();
    for hit in &plan.endpoints {
        let ev = &plan.events[hit.event];
        let key = asset_key(w, hit.asset);
        let addr = a(&hit.address);
        if let Some(e) = endpoints
            .iter_mut()
            .find(|e| e.address == addr && e.asset == key)
        {
            e.amount += hit.amount;
            e.tx_hashes.push(hash_hex(&ev.hash));
            e.first_time = e.first_time.min(time_of(ev.block_idx));
            e.first_block = e.first_block.min(block_of(ev.block_idx));
        } else {
            endpoints.push(truth::Endpoint {
                address: addr,
                category: hit.category.clone(),
                asset: key,
                amount: hit.amount,
                first_time: time_of(ev.block_idx),
                first_block: block_of(ev.block_idx),
                tx_hashes: vec![hash_hex(&ev.hash)],
                exchange_hot_wallet: hit.hot_wallet.as_ref().map(a),
                held: hit.held,
            });
        }
    }
    let laundering_addresses: Vec<truth::LaunderingAddress> = plan
        .launderers
        .iter()
        .map(|(addr, role, pats)| truth::LaunderingAddress {
            address: a(addr),
            role: role.to_string(),
            patterns: pats.iter().map(|p| p.to_string()).collect(),
        })
        .collect();
    let swaps = plan
        .swaps
        .iter()
        .map(|s| truth::Swap {
            address: a(&s.address),
            tx_hash: hash_hex(&plan.events[s.event].hash),
            pool: a(&s.pool),
            asset_in: asset_key(w, s.asset_in),
            amount_in: s.amount_in,
            asset_out: asset_key(w, s.asset_out),
            amount_out: s.amount_out,
        })
        .collect();
    let labels = w.labels(&plan.thief);
    let services = plan
        .services
        .iter()
        .map(|s| {
            let l = labels.iter().find(|l| l.address == a(s));
            truth::Service {
                address: a(s),
                category: Category::Dex,
                label: l.map(|l| l.label.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let mut spam: Vec<tripoint_chain::Address> = plan.spam_addresses.iter().map(a).collect();
    spam.dedup();
    let token_ref = |t: &crate::world::TokenSpec| truth::TokenRef {
        address: a(&t.address),
        symbol: t.symbol.to_string(),
        imitates: t.imitates.map(str::to_string),
    };
    counts.laundering_addresses = laundering_addresses.len() as u64;
    counts.endpoints = endpoints.len() as u64;
    counts.spam_addresses = spam.len() as u64;
    let pause_idx = |t: u64| theft_idx + t.div_ceil(12 * step);
    GroundTruth {
        schema: truth::SCHEMA.to_string(),
        seed: cfg.seed,
        transfers: cfg.transfers,
        victim: a(&w.victim),
        seeds: truth::Seeds {
            addresses: vec![a(&plan.thief)],
            start_time: theft_time,
            start_block: block_of(theft_idx),
        },
        stolen: plan
            .stolen
            .iter()
            .map(|(asset, amount)| truth::AssetAmount {
                asset: asset_key(w, *asset),
                amount: *amount,
            })
            .collect(),
        laundering_addresses,
        endpoints,
        swaps,
        held: plan
            .holdings
            .iter()
            .map(|(addr, asset, amount)| truth::Holding {
                address: a(addr),
                asset: asset_key(w, *asset),
                amount: *amount,
            })
            .collect(),
        services,
        spam_addresses: spam,
        tokens: truth::Tokens {
            trusted: w
                .tokens
                .iter()
                .filter(|t| t.imitates.is_none())
                .map(token_ref)
                .collect(),
            fake: w
                .tokens
                .iter()
                .filter(|t| t.imitates.is_some())
                .map(token_ref)
                .collect(),
        },
        pause: truth::Pause {
            from_time: time_of(pause_idx(plan.pause.0)),
            to_time: time_of(pause_idx(plan.pause.1)),
        },
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow10_table_spans_one_decade() {
        let t = pow10_steps();
        assert_eq!(t[0], 1.0);
        let top = t[STEPS as usize - 1] * (1.0 + STEP_GROWTH);
        assert!((top - 10.0).abs() < 1e-9, "{top}");
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // Mid-decade: 10^0.5.
        assert!((t[STEPS as usize / 2] - 10f64.sqrt()).abs() < 1e-9);
    }
}
