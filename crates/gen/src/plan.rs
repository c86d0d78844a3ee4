//! The injected DPRK-style laundering operation (Bybit 2025 / Ronin 2022
//! pattern) and the address-poisoning spam around it, planned up front as a
//! short list of transactions with times relative to the theft.
//!
//! Timeline (defaults): theft sweep of ETH, stETH and mETH from the victim to
//! the thief; fan-out of 40 × 10,000 ETH; stETH/mETH swapped to WETH on the
//! DEX; consolidation into two addresses; a second round fan-out (20 × 20,000
//! ETH); a pause of days; then dispersion in irregular amounts into mixer
//! pools (fixed denominations), the bridge, fresh exchange deposit addresses
//! (some swept to the hot wallet, some still held) and short peel chains.
//! The plan keeps every balance exact, so the ground truth reconciles to the wei.

use std::collections::HashMap;

use rand::Rng as _;
use tripoint_chain::Category;

use crate::ids::{self, address, domain, lookalike, Addr, Hash32, Rng};
use crate::world::{
    World, ETH, FAKE_ETH, FAKE_USDC, FAKE_USDT, METH, MIXER_DENOMS, STETH, USDT, WETH, WETH_ADDRESS,
};
use crate::{CallFrame, GenConfig};

/// `None` = native ETH, `Some(i)` = token `i` of [`World::tokens`].
pub type AssetIdx = Option<usize>;

#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub token: Addr,
    pub from: Addr,
    pub to: Addr,
    pub value: u128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Moved by the launderers (or the theft itself).
    Laundering,
    /// An exchange sweeping a laundering deposit address to its hot wallet.
    ExchangeSweep,
    /// Address-poisoning spam.
    Spam,
}

#[derive(Debug, Clone)]
pub struct Planned {
    /// Seconds after the theft.
    pub t: u64,
    pub from: Addr,
    pub to: Addr,
    pub value: u128,
    pub gas: u64,
    pub logs: Vec<Log>,
    pub kind: Kind,
    /// A contract-mediated transaction: its call frames below the top-level
    /// call go to `traces.csv` (empty: the top-level call alone).
    pub frames: Option<Vec<CallFrame>>,
    /// Filled by [`Plan::schedule`].
    pub block_idx: u64,
    pub hash: Hash32,
}

pub struct EndpointHit {
    pub event: usize,
    pub address: Addr,
    pub category: Category,
    pub asset: AssetIdx,
    pub amount: u128,
    pub hot_wallet: Option<Addr>,
    pub held: bool,
}

pub struct SwapHit {
    pub event: usize,
    pub address: Addr,
    pub pool: Addr,
    pub asset_in: AssetIdx,
    pub amount_in: u128,
    pub asset_out: AssetIdx,
    pub amount_out: u128,
}

pub struct Plan {
    pub events: Vec<Planned>,
    pub thief: Addr,
    /// (address, role, pattern tags), in order of first appearance.
    pub launderers: Vec<(Addr, &'static str, Vec<&'static str>)>,
    pub endpoints: Vec<EndpointHit>,
    pub swaps: Vec<SwapHit>,
    pub stolen: Vec<(AssetIdx, u128)>,
    /// Launderer balances left at the end (non-zero only).
    pub holdings: Vec<(Addr, AssetIdx, u128)>,
    pub spam_addresses: Vec<Addr>,
    /// Seconds after the theft: the pause of days.
    pub pause: (u64, u64),
    /// Service contracts the laundering passes through (router, pools).
    pub services: Vec<Addr>,
}

struct Builder<'w> {
    w: &'w World,
    rng: Rng,
    events: Vec<Planned>,
    launderers: Vec<(Addr, &'static str, Vec<&'static str>)>,
    index: HashMap<Addr, usize>,
    balances: HashMap<(Addr, AssetIdx), u128>,
    endpoints: Vec<EndpointHit>,
    swaps: Vec<SwapHit>,
    spam: Vec<Addr>,
    next_launderer: u64,
    next_deposit: u64,
    next_lookalike: u64,
    /// Share of flows through contracts, and its own random stream (drawn
    /// only when the share is above 0, so the default plan is unchanged).
    contract_share: f64,
    crng: Rng,
    /// The launderers' own forwarding contracts, made on first use.
    forwarders: Vec<Addr>,
}

/// Forwarding contracts the launderers deploy (used in turn).
const LAUNDER_FORWARDERS: usize = 3;

impl<'w> Builder<'w> {
    /// Whether the next flow goes through a contract.
    fn via_contract(&mut self) -> bool {
        self.contract_share > 0.0 && self.crng.gen_bool(self.contract_share)
    }

    /// One of the launderers' forwarders, in turn.
    fn forwarder(&mut self) -> Addr {
        if self.forwarders.len() < LAUNDER_FORWARDERS {
            let f = self.launderer("forwarder");
            self.forwarders.push(f);
            return f;
        }
        let i = self.crng.gen_range(0..self.forwarders.len());
        self.forwarders[i]
    }

    fn launderer(&mut self, role: &'static str) -> Addr {
        let a = address(self.w.seed, domain::LAUNDER, self.next_launderer);
        self.next_launderer += 1;
        self.index.insert(a, self.launderers.len());
        self.launderers.push((a, role, Vec::new()));
        a
    }

    fn tag(&mut self, a: &Addr, pattern: &'static str) {
        if let Some(&i) = self.index.get(a) {
            let tags = &mut self.launderers[i].2;
            if !tags.contains(&pattern) {
                tags.push(pattern);
            }
        }
    }

    fn balance(&self, a: &Addr, asset: AssetIdx) -> u128 {
        self.balances.get(&(*a, asset)).copied().unwrap_or(0)
    }

    /// Move `value` of `asset` in the plan's books. Only launderers are
    /// tracked: the victim and services are bottomless.
    fn book(&mut self, from: &Addr, to: &Addr, asset: AssetIdx, value: u128) {
        if self.index.contains_key(from) {
            let b = self.balances.entry((*from, asset)).or_insert(0);
            *b = b
                .checked_sub(value)
                .expect("laundering plan never overdraws an address");
        }
        if self.index.contains_key(to) {
            *self.balances.entry((*to, asset)).or_insert(0) += value;
        }
    }

    // Plain positional fields of one transaction; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        t: u64,
        from: Addr,
        to: Addr,
        value: u128,
        gas: u64,
        logs: Vec<Log>,
        kind: Kind,
    ) -> usize {
        self.events.push(Planned {
            t,
            from,
            to,
            value,
            gas,
            logs,
            kind,
            frames: None,
            block_idx: 0,
            hash: [0; 32],
        });
        self.events.len() - 1
    }

    /// ETH from `from` to `to`. A launderer's move goes, for the share of
    /// contract-mediated flows, through one of its forwarders: the
    /// transaction pays the forwarder, which passes the value on to `to`
    /// by an internal call.
    fn eth(&mut self, t: u64, from: Addr, to: Addr, value: u128, kind: Kind) -> usize {
        if kind == Kind::Laundering && self.index.contains_key(&from) && self.via_contract() {
            let fwd = self.forwarder();
            self.book(&from, &fwd, None, value);
            self.book(&fwd, &to, None, value);
            let ev = self.push(t, from, fwd, value, 45_000, Vec::new(), kind);
            self.events[ev].frames = Some(vec![CallFrame::call(&[0], fwd, to, value)]);
            return ev;
        }
        if kind != Kind::Spam {
            self.book(&from, &to, None, value);
        }
        self.push(t, from, to, value, 21_000, Vec::new(), kind)
    }

    /// WETH9 `deposit`: `value` ether into WETH, as much WETH minted to `who`
    /// (no log: ingest derives the mint from the ether).
    fn wrap(&mut self, t: u64, who: Addr, value: u128) -> usize {
        self.book(&who, &WETH_ADDRESS, None, value);
        self.book(&WETH_ADDRESS, &who, Some(WETH), value);
        let ev = self.push(
            t,
            who,
            WETH_ADDRESS,
            value,
            45_000,
            Vec::new(),
            Kind::Laundering,
        );
        self.events[ev].frames = Some(Vec::new());
        self.swap_hit(ev, who, WETH_ADDRESS, None, value, Some(WETH), value);
        ev
    }

    /// WETH9 `withdraw`: `value` WETH burned from `who`, the ether paid back
    /// to it by an internal call.
    fn unwrap(&mut self, t: u64, who: Addr, value: u128) -> usize {
        self.book(&who, &WETH_ADDRESS, Some(WETH), value);
        self.book(&WETH_ADDRESS, &who, None, value);
        let ev = self.push(
            t,
            who,
            WETH_ADDRESS,
            0,
            45_000,
            Vec::new(),
            Kind::Laundering,
        );
        self.events[ev].frames = Some(vec![CallFrame::call(&[0], WETH_ADDRESS, who, value)]);
        self.swap_hit(ev, who, WETH_ADDRESS, Some(WETH), value, None, value);
        ev
    }

    #[allow(clippy::too_many_arguments)]
    fn swap_hit(
        &mut self,
        event: usize,
        address: Addr,
        pool: Addr,
        asset_in: AssetIdx,
        amount_in: u128,
        asset_out: AssetIdx,
        amount_out: u128,
    ) {
        self.swaps.push(SwapHit {
            event,
            address,
            pool,
            asset_in,
            amount_in,
            asset_out,
            amount_out,
        });
        self.tag(&address, "dex-swap");
    }

    /// A token swapped to ETH through the router (Uniswap V2's
    /// `swapExactTokensForETH`): `tin` into the pool, WETH out of it to the
    /// router, which unwraps it (WETH pays the ether to the router by an
    /// internal call) and pays the ether to `who` by another.
    fn swap_to_eth(&mut self, t: u64, who: Addr, tin: usize, amount_in: u128, amount_out: u128) {
        let pool = self.w.pool(tin, WETH).address;
        let router = self.w.router;
        self.book(&who, &pool, Some(tin), amount_in);
        self.book(&router, &who, None, amount_out);
        let logs = vec![
            Log {
                token: self.w.tokens[tin].address,
                from: who,
                to: pool,
                value: amount_in,
            },
            Log {
                token: WETH_ADDRESS,
                from: pool,
                to: router,
                value: amount_out,
            },
        ];
        let ev = self.push(t, who, router, 0, 200_000, logs, Kind::Laundering);
        let mut withdraw = CallFrame::call(&[0], router, WETH_ADDRESS, 0);
        withdraw.subtraces = 1;
        self.events[ev].frames = Some(vec![
            withdraw,
            CallFrame::call(&[0, 0], WETH_ADDRESS, router, amount_out),
            CallFrame::call(&[1], router, who, amount_out),
        ]);
        self.swap_hit(ev, who, pool, Some(tin), amount_in, None, amount_out);
    }

    /// A call to a token contract emitting one `Transfer` log.
    #[allow(clippy::too_many_arguments)]
    fn token_call(
        &mut self,
        t: u64,
        sender: Addr,
        token: usize,
        from: Addr,
        to: Addr,
        value: u128,
        kind: Kind,
    ) -> usize {
        if kind != Kind::Spam {
            self.book(&from, &to, Some(token), value);
        }
        let log = Log {
            token: self.w.tokens[token].address,
            from,
            to,
            value,
        };
        let contract = self.w.tokens[token].address;
        self.push(t, sender, contract, 0, 65_000, vec![log], kind)
    }

    /// A DEX swap through the router: `tin` into the pool, `tout` out of it,
    /// both logs in the same transaction.
    fn swap(
        &mut self,
        t: u64,
        who: Addr,
        tin: usize,
        amount_in: u128,
        tout: usize,
        amount_out: u128,
    ) -> usize {
        let pool = self.w.pool(tin, tout).address;
        self.book(&who, &pool, Some(tin), amount_in);
        self.book(&pool, &who, Some(tout), amount_out);
        let logs = vec![
            Log {
                token: self.w.tokens[tin].address,
                from: who,
                to: pool,
                value: amount_in,
            },
            Log {
                token: self.w.tokens[tout].address,
                from: pool,
                to: who,
                value: amount_out,
            },
        ];
        let router = self.w.router;
        let ev = self.push(t, who, router, 0, 180_000, logs, Kind::Laundering);
        self.swap_hit(ev, who, pool, Some(tin), amount_in, Some(tout), amount_out);
        ev
    }

    /// A non-round share (`lo..hi` parts per million) of `amount`.
    fn irregular(&mut self, amount: u128, lo_ppm: u32, hi_ppm: u32) -> u128 {
        let ppm = self.rng.gen_range(lo_ppm..hi_ppm) as u128;
        let base = amount / 1_000_000 * ppm;
        let noise = self.rng.gen_range(0..1_000_000_000_000_000u128);
        base.saturating_sub(noise).max(1).min(amount)
    }

    fn exchange_choice(&mut self) -> usize {
        let u: f64 = self.rng.gen();
        self.w
            .exchange_cdf
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.w.exchange_cdf.len() - 1)
    }

    /// Deposit `amount` of `asset` from `from` into a fresh deposit address
    /// of an exchange; the exchange sweeps it to its hot wallet later, except
    /// every third deposit, which is still there at the end (freezable).
    fn exchange_deposit(&mut self, t: u64, from: Addr, asset: AssetIdx, amount: u128) -> u64 {
        let n = self.next_deposit;
        self.next_deposit += 1;
        let e = self.exchange_choice();
        let hot = self.w.hot_wallets[e];
        let dep = address(self.w.seed, domain::LAUNDER_DEPOSIT, n);
        let held = n % 3 == 2;
        let ev = self.transfer(t, from, dep, asset, amount);
        self.endpoints.push(EndpointHit {
            event: ev,
            address: dep,
            category: Category::Exchange,
            asset,
            amount,
            hot_wallet: Some(hot),
            held,
        });
        self.tag(&from, "exchange-deposit");
        if !held {
            let ts = t + self.rng.gen_range(600..10_800);
            match asset {
                None => {
                    self.push(
                        ts,
                        dep,
                        hot,
                        amount,
                        21_000,
                        Vec::new(),
                        Kind::ExchangeSweep,
                    );
                }
                Some(tok) => {
                    let log = Log {
                        token: self.w.tokens[tok].address,
                        from: dep,
                        to: hot,
                        value: amount,
                    };
                    let contract = self.w.tokens[tok].address;
                    self.push(ts, dep, contract, 0, 65_000, vec![log], Kind::ExchangeSweep);
                }
            }
        }
        t + self.rng.gen_range(60..600)
    }

    /// ETH as a plain transaction, a token as a call with one log.
    fn transfer(&mut self, t: u64, from: Addr, to: Addr, asset: AssetIdx, amount: u128) -> usize {
        match asset {
            None => self.eth(t, from, to, amount, Kind::Laundering),
            Some(tok) => self.token_call(t, from, tok, from, to, amount, Kind::Laundering),
        }
    }

    fn bridge(&mut self, t: u64, from: Addr, asset: AssetIdx, amount: u128) -> u64 {
        let bridge = self.w.bridge;
        let ev = self.transfer(t, from, bridge, asset, amount);
        self.events[ev].gas = 120_000;
        self.endpoints.push(EndpointHit {
            event: ev,
            address: bridge,
            category: Category::Bridge,
            asset,
            amount,
            hot_wallet: None,
            held: false,
        });
        self.tag(&from, "bridge-exit");
        t + self.rng.gen_range(60..900)
    }

    fn mixer(&mut self, t: u64, from: Addr, denom: usize) -> u64 {
        let mixer = self.w.mixers[denom];
        let ev = self.eth(t, from, mixer, MIXER_DENOMS[denom], Kind::Laundering);
        self.events[ev].gas = 1_000_000;
        self.endpoints.push(EndpointHit {
            event: ev,
            address: mixer,
            category: Category::Mixer,
            asset: None,
            amount: MIXER_DENOMS[denom],
            hot_wallet: None,
            held: false,
        });
        self.tag(&from, "mixer-deposit");
        t + self.rng.gen_range(60..400)
    }

    fn new_lookalike(&mut self, of: &Addr) -> Addr {
        let l = lookalike(self.w.seed, of, self.next_lookalike);
        self.next_lookalike += 1;
        self.spam.push(l);
        l
    }
}

pub fn build(cfg: &GenConfig, w: &World) -> Plan {
    let mut b = Builder {
        w,
        rng: ids::stream(cfg.seed, 2),
        events: Vec::new(),
        launderers: Vec::new(),
        index: HashMap::new(),
        balances: HashMap::new(),
        endpoints: Vec::new(),
        swaps: Vec::new(),
        spam: Vec::new(),
        next_launderer: 0,
        next_deposit: 0,
        next_lookalike: 0,
        contract_share: cfg.contract_share,
        crng: ids::stream(cfg.seed, 5),
        forwarders: Vec::new(),
    };
    let victim = w.victim;
    let operators = [
        address(cfg.seed, domain::LOOKALIKE, 1 << 40),
        address(cfg.seed, domain::LOOKALIKE, (1 << 40) + 1),
    ];
    b.spam.extend_from_slice(&operators);

    // 1. Theft sweep: everything to the thief in the same block.
    let thief = b.launderer("thief");
    let fan_amount = cfg.fanout_eth as u128 * ETH;
    let stolen_eth = fan_amount * cfg.fanout_width as u128;
    let stolen_steth = cfg.stolen_steth as u128 * ETH;
    let stolen_meth = cfg.stolen_meth as u128 * ETH;
    b.eth(0, victim, thief, stolen_eth, Kind::Laundering);
    if stolen_steth > 0 {
        b.token_call(
            0,
            victim,
            STETH,
            victim,
            thief,
            stolen_steth,
            Kind::Laundering,
        );
    }
    if stolen_meth > 0 {
        b.token_call(
            0,
            victim,
            METH,
            victim,
            thief,
            stolen_meth,
            Kind::Laundering,
        );
    }
    b.tag(&thief, "theft-sweep");
    let mut stolen = vec![(None, stolen_eth)];
    if stolen_steth > 0 {
        stolen.push((Some(STETH), stolen_steth));
    }
    if stolen_meth > 0 {
        stolen.push((Some(METH), stolen_meth));
    }

    // 2. Round-amount fan-out.
    let fan: Vec<Addr> = (0..cfg.fanout_width)
        .map(|_| b.launderer("fan-out"))
        .collect();
    let mut t = 240;
    let mut fan_times = Vec::with_capacity(fan.len());
    for f in &fan {
        b.eth(t, thief, *f, fan_amount, Kind::Laundering);
        b.tag(f, "round-fan-out");
        fan_times.push(t);
        t += b.rng.gen_range(15..90);
    }
    b.tag(&thief, "round-fan-out");

    // 3. Staked tokens swapped to WETH in chunks (irregular output amounts).
    t = t.max(3_600);
    for (tok, chunk_units, lo, hi) in [
        (STETH, 10_000u128, 998_500u128, 999_900u128),
        (METH, 4_000, 1_040_000, 1_050_000),
    ] {
        let mut left = b.balance(&thief, Some(tok));
        while left > 0 {
            let amount_in = left.min(chunk_units * ETH);
            let rate = b.rng.gen_range(lo..hi);
            let amount_out = amount_in / 1_000_000 * rate + b.rng.gen_range(0..1_000_000_000u128);
            if b.via_contract() {
                // Paid out in ETH by the router's internal calls.
                b.swap_to_eth(t, thief, tok, amount_in, amount_out);
            } else {
                b.swap(t, thief, tok, amount_in, WETH, amount_out);
            }
            left -= amount_in;
            t += b.rng.gen_range(30..300);
        }
    }

    // 4. Consolidation into two addresses; the WETH joins the first.
    let cons = [b.launderer("consolidation"), b.launderer("consolidation")];
    t = t.max(2 * 3_600);
    let mut cons_times = Vec::with_capacity(fan.len());
    for (i, f) in fan.iter().enumerate() {
        let c = cons[if i < fan.len() / 2 { 0 } else { 1 }];
        let amount = b.balance(f, None);
        b.eth(t, *f, c, amount, Kind::Laundering);
        b.tag(f, "consolidation");
        b.tag(&c, "consolidation");
        cons_times.push(t);
        t += b.rng.gen_range(20..120);
    }
    let weth = b.balance(&thief, Some(WETH));
    if weth > 0 {
        b.token_call(t, thief, WETH, thief, cons[0], weth, Kind::Laundering);
        t += 60;
    }
    // Staked tokens swapped to ETH (contract-mediated swaps) join the first too.
    let swapped_eth = b.balance(&thief, None);
    if swapped_eth > 0 {
        b.eth(t, thief, cons[0], swapped_eth, Kind::Laundering);
        t += 60;
    }

    // 5. Second round-amount fan-out from the consolidation addresses.
    let second: Vec<Addr> = (0..cfg.second_fanout_width)
        .map(|_| b.launderer("second-fan-out"))
        .collect();
    t = t.max(6 * 3_600);
    let half = second.len() / 2;
    let per_c = [
        b.balance(&cons[0], None) / half as u128,
        b.balance(&cons[1], None) / (second.len() - half) as u128,
    ];
    for (j, g) in second.iter().enumerate() {
        let ci = if j < half { 0 } else { 1 };
        // The last one of each side takes the remainder so nothing is left over.
        let last = j + 1 == half || j + 1 == second.len();
        let amount = if last {
            b.balance(&cons[ci], None)
        } else {
            per_c[ci]
        };
        b.eth(t, cons[ci], *g, amount, Kind::Laundering);
        b.tag(g, "round-fan-out");
        b.tag(&cons[ci], "round-fan-out");
        t += b.rng.gen_range(20..120);
    }

    // 6. The pause of days, then dispersion.
    let pause_from = t;
    let resume = t + cfg.pause_secs;
    let mut peel_starts = Vec::new();
    for (j, g) in second.iter().enumerate() {
        let mut tg = resume + j as u64 * b.rng.gen_range(600..2_400);
        b.tag(g, "pause-then-dispersion");
        let start = b.balance(g, None);
        for (denom, lo, hi) in [(3usize, 3u32, 9u32), (2, 0, 6), (1, 0, 4), (0, 0, 3)] {
            let n = b.rng.gen_range(lo..hi);
            for _ in 0..n {
                // Small custom amounts: keep most of the balance for the other exits.
                if b.balance(g, None) < 4 * MIXER_DENOMS[denom] {
                    break;
                }
                tg = b.mixer(tg, *g, denom);
            }
        }
        let amount = b
            .irregular(start, 200_000, 350_000)
            .min(b.balance(g, None) / 2);
        tg = b.bridge(tg, *g, None, amount);
        let deposits = b.rng.gen_range(1..=2);
        for _ in 0..deposits {
            let amount = b
                .irregular(start, 40_000, 120_000)
                .min(b.balance(g, None) / 2);
            tg = b.exchange_deposit(tg, *g, None, amount);
        }
        if j == 0 && b.contract_share > 0.0 {
            // Wrapped to WETH, and the WETH deposited at an exchange.
            let amount = b
                .irregular(start, 20_000, 50_000)
                .min(b.balance(g, None) / 2);
            b.wrap(tg, *g, amount);
            tg += b.rng.gen_range(60..600);
            tg = b.exchange_deposit(tg, *g, Some(WETH), amount);
        }
        // Peel chain: the rest hops on, shedding an exchange deposit and a bridge exit.
        let p1 = b.launderer("peel");
        let rest = b.balance(g, None);
        b.eth(tg, *g, p1, rest, Kind::Laundering);
        b.tag(g, "peel-chain");
        b.tag(&p1, "peel-chain");
        tg += b.rng.gen_range(300..3_600);
        let bal = b.balance(&p1, None);
        let amount = b.irregular(bal, 400_000, 600_000);
        tg = b.exchange_deposit(tg, p1, None, amount);
        let p2 = b.launderer("peel");
        let rest = b.balance(&p1, None);
        b.eth(tg, p1, p2, rest, Kind::Laundering);
        b.tag(&p2, "peel-chain");
        tg += b.rng.gen_range(300..3_600);
        let bal = b.balance(&p2, None);
        let amount = b.irregular(bal, 500_000, 800_000);
        b.bridge(tg, p2, None, amount);
        peel_starts.push((*g, p1));
    }
    // The WETH: bridged in two irregular chunks, the rest to an exchange.
    if weth > 0 {
        let mut tw = resume + b.rng.gen_range(600..3_600);
        if b.contract_share > 0.0 {
            // Part unwrapped to ETH and bridged as ETH.
            let amount = b.irregular(weth, 100_000, 150_000);
            b.unwrap(tw, cons[0], amount);
            tw += b.rng.gen_range(60..600);
            tw = b.bridge(tw, cons[0], None, amount);
        }
        for _ in 0..2 {
            let amount = b.irregular(weth, 300_000, 400_000);
            tw = b.bridge(tw, cons[0], Some(WETH), amount);
        }
        let rest = b.balance(&cons[0], Some(WETH));
        b.exchange_deposit(tw, cons[0], Some(WETH), rest);
    }

    // 7. Address-poisoning spam: look-alikes of real counterparties send
    // zero-value ETH, forge zero-value transferFrom of a trusted token, and
    // fake-symbol tokens "move" mimicking amounts.
    for (i, f) in fan.iter().enumerate() {
        let c = cons[if i < fan.len() / 2 { 0 } else { 1 }];
        let l_in = b.new_lookalike(&thief);
        let l_out = b.new_lookalike(&c);
        let t0 = fan_times[i] + b.rng.gen_range(60..1_800);
        b.eth(t0, l_in, *f, 0, Kind::Spam);
        let t1 = cons_times[i] + b.rng.gen_range(60..1_800);
        b.token_call(t1, operators[0], USDT, *f, l_out, 0, Kind::Spam);
        b.token_call(
            t1 + 30,
            operators[1],
            FAKE_USDT,
            *f,
            l_out,
            cfg.fanout_eth as u128 * 1_000_000,
            Kind::Spam,
        );
        b.token_call(
            t0 + 45,
            operators[1],
            FAKE_ETH,
            l_in,
            *f,
            fan_amount,
            Kind::Spam,
        );
        b.tag(f, "address-poisoning");
    }
    for (g, p1) in &peel_starts {
        let l_in = b.new_lookalike(&cons[0]);
        let l_out = b.new_lookalike(p1);
        let t0 = pause_from + b.rng.gen_range(600..86_400);
        b.eth(t0, l_in, *g, 0, Kind::Spam);
        let mimic = b.rng.gen_range(1_000..50_000u128) * 1_000_000;
        b.token_call(
            t0 + 90,
            operators[0],
            FAKE_USDC,
            *g,
            l_out,
            mimic,
            Kind::Spam,
        );
        b.tag(g, "address-poisoning");
    }

    let mut holdings: Vec<(Addr, AssetIdx, u128)> = b
        .launderers
        .iter()
        .flat_map(|(a, _, _)| {
            [None, Some(WETH), Some(STETH), Some(METH)]
                .into_iter()
                .map(move |asset| (*a, asset))
        })
        .filter_map(|(a, asset)| {
            let v = b.balance(&a, asset);
            (v > 0).then_some((a, asset, v))
        })
        .collect();
    holdings.sort_by_key(|h| b.index[&h.0]);

    let mut services = vec![
        w.router,
        w.pool(STETH, WETH).address,
        w.pool(METH, WETH).address,
    ];
    if cfg.contract_share > 0.0 {
        // The wraps' and unwraps' counterparty.
        services.push(WETH_ADDRESS);
    }
    Plan {
        events: b.events,
        thief,
        launderers: b.launderers,
        endpoints: b.endpoints,
        swaps: b.swaps,
        stolen,
        holdings,
        spam_addresses: b.spam,
        pause: (pause_from, resume),
        services,
    }
}

impl Plan {
    /// Sort into time order (stable: same-time events keep plan order, which
    /// respects causality), then place every event in a block and give it a
    /// hash. Returns nothing; indexes in `endpoints`/`swaps` are remapped.
    pub fn schedule(&mut self, seed: u64, theft_idx: u64, step: u64) {
        let mut order: Vec<usize> = (0..self.events.len()).collect();
        order.sort_by_key(|&i| self.events[i].t);
        let mut pos = vec![0usize; order.len()];
        for (new, &old) in order.iter().enumerate() {
            pos[old] = new;
        }
        let mut sorted: Vec<Planned> = order.iter().map(|&i| self.events[i].clone()).collect();
        let secs_per_idx = 12 * step;
        for (old, ev) in order.iter().zip(sorted.iter_mut()) {
            ev.block_idx = theft_idx + ev.t.div_ceil(secs_per_idx);
            ev.hash = ids::hash32(seed, domain::PLAN_TX, *old as u64);
        }
        self.events = sorted;
        for e in &mut self.endpoints {
            e.event = pos[e.event];
        }
        for s in &mut self.swaps {
            s.event = pos[s.event];
        }
    }

    /// Rows (transactions + logs) the plan contributes.
    pub fn rows(&self) -> u64 {
        self.events.iter().map(|e| 1 + e.logs.len() as u64).sum()
    }

    /// The latest event time, seconds after the theft.
    pub fn span(&self) -> u64 {
        self.events.iter().map(|e| e.t).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_conserves_every_asset() {
        check_plan(&GenConfig::default());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn any_knobs_give_a_conserving_causal_plan(
            seed: u64,
            fanout_width in 2u32..80,
            fanout_eth in 1u64..50_000,
            second_fanout_width in 2u32..60,
            stolen_steth in 0u64..200_000,
            stolen_meth in 0u64..20_000,
            pause_secs in 0u64..864_000,
            contract_share in proptest::prop_oneof![proptest::strategy::Just(0.0), 0.0f64..=1.0],
        ) {
            check_plan(&GenConfig {
                seed,
                fanout_width,
                fanout_eth,
                second_fanout_width,
                stolen_steth,
                stolen_meth,
                pause_secs,
                contract_share,
                ..Default::default()
            });
        }
    }

    #[test]
    fn contract_flows_conserve_and_use_every_kind() {
        let cfg = GenConfig {
            contract_share: 0.3,
            ..Default::default()
        };
        check_plan(&cfg);
        let w = World::new(&cfg);
        let p = build(&cfg, &w);
        let forwarded = p
            .events
            .iter()
            .filter(|e| {
                e.frames
                    .as_ref()
                    .is_some_and(|f| f.len() == 1 && e.to != WETH_ADDRESS)
            })
            .count();
        let laundering = p
            .events
            .iter()
            .filter(|e| e.kind == Kind::Laundering)
            .count();
        assert!(forwarded * 10 > laundering, "{forwarded} of {laundering}");
        let to_eth = p.swaps.iter().filter(|s| s.asset_out.is_none()).count();
        assert!(to_eth >= 2, "swaps paid out in ETH, an unwrap among them");
        assert!(p.swaps.iter().any(|s| s.asset_in.is_none()), "a wrap");
        assert_eq!(
            p.launderers.iter().filter(|l| l.1 == "forwarder").count(),
            LAUNDER_FORWARDERS
        );
        // The default plan has none of it.
        let d = build(&GenConfig::default(), &w);
        assert!(d.events.iter().all(|e| e.frames.is_none()));
    }

    /// Conservation per asset, and causality: replaying the events in
    /// scheduled order never spends more than a launderer has received.
    fn check_plan(cfg: &GenConfig) {
        let w = World::new(cfg);
        let mut p = build(cfg, &w);
        p.schedule(cfg.seed, 10, 1);
        let launder: std::collections::HashSet<Addr> = p.launderers.iter().map(|l| l.0).collect();
        let mut bal: HashMap<(Addr, Option<Addr>), i128> = HashMap::new();
        let weth = Some(WETH_ADDRESS);
        for ev in p.events.iter().filter(|e| e.kind != Kind::Spam) {
            let mut moves = vec![(ev.from, ev.to, None, ev.value)];
            moves.extend(
                ev.logs
                    .iter()
                    .map(|l| (l.from, l.to, Some(l.token), l.value)),
            );
            // Internal calls, and WETH minted or burned as ingest derives it.
            let top = (ev.frames.is_some() && ev.to == WETH_ADDRESS && ev.value > 0).then_some((
                WETH_ADDRESS,
                ev.from,
                weth,
                ev.value,
            ));
            moves.extend(top);
            for f in ev.frames.iter().flatten().filter(|f| f.value > 0) {
                moves.push((f.from, f.to, None, f.value));
                if f.to == WETH_ADDRESS {
                    moves.push((WETH_ADDRESS, f.from, weth, f.value));
                } else if f.from == WETH_ADDRESS {
                    moves.push((f.to, WETH_ADDRESS, weth, f.value));
                }
            }
            for (from, to, asset, v) in moves {
                if launder.contains(&from) {
                    let b = bal.entry((from, asset)).or_default();
                    *b -= v as i128;
                    assert!(*b >= 0, "overdraft at t={}", ev.t);
                }
                *bal.entry((to, asset)).or_default() += v as i128;
            }
        }
        for asset in [None, Some(WETH), Some(STETH), Some(METH)] {
            let stolen: u128 = p.stolen.iter().filter(|s| s.0 == asset).map(|s| s.1).sum();
            let swapped_in: u128 = p
                .swaps
                .iter()
                .filter(|s| s.asset_out == asset)
                .map(|s| s.amount_out)
                .sum();
            let swapped_out: u128 = p
                .swaps
                .iter()
                .filter(|s| s.asset_in == asset)
                .map(|s| s.amount_in)
                .sum();
            let exited: u128 = p
                .endpoints
                .iter()
                .filter(|e| e.asset == asset)
                .map(|e| e.amount)
                .sum();
            let held: u128 = p
                .holdings
                .iter()
                .filter(|h| h.1 == asset)
                .map(|h| h.2)
                .sum();
            assert_eq!(
                stolen + swapped_in,
                swapped_out + exited + held,
                "asset {asset:?}"
            );
        }
        assert!(p.endpoints.iter().any(|e| e.held));
        assert!(p
            .endpoints
            .iter()
            .any(|e| e.category == Category::Exchange && !e.held));
    }
}
