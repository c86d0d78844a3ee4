//! Laundering pattern tags, computed from a finished trace's tainted
//! transfers. Each rule is documented in `docs/trace.md`; thresholds live in
//! [`PatternRules`].

use std::collections::BTreeSet;

use serde::Serialize;
use tripoint_chain::{
    AddrId, Amount, AssetId, Category, TransferGraph, TransferId, TransferRow, NATIVE_ASSET,
};

use crate::fxhash::{FxHashMap, FxHashSet};
use crate::taint::{Role, TraceResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    RoundAmountFanOut,
    Consolidation,
    PeelChain,
    PauseThenDispersion,
    MixerDeposit,
    BridgeExit,
    ExchangeDeposit,
    DexSwap,
    AddressPoisoning,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::RoundAmountFanOut => "round-amount-fan-out",
            Pattern::Consolidation => "consolidation",
            Pattern::PeelChain => "peel-chain",
            Pattern::PauseThenDispersion => "pause-then-dispersion",
            Pattern::MixerDeposit => "mixer-deposit",
            Pattern::BridgeExit => "bridge-exit",
            Pattern::ExchangeDeposit => "exchange-deposit",
            Pattern::DexSwap => "dex-swap",
            Pattern::AddressPoisoning => "address-poisoning",
        }
    }
}

/// Thresholds of the pattern rules.
#[derive(Debug, Clone)]
pub struct PatternRules {
    /// Decimals of the native coin (18 for ETH, 8 for BTC).
    pub native_decimals: u8,
    /// Fan-out: at least this many distinct receivers of round amounts…
    pub fan_out_min: usize,
    /// …making up at least this share (percent) of the tainted payments.
    pub round_share_pct: usize,
    /// Consolidation: tainted funds from at least this many distinct senders.
    pub consolidation_min: usize,
    /// Peel hop: the next address starts paying out within this many seconds.
    pub peel_max_gap_secs: i64,
    /// Peel chain: at least this many addresses in a row.
    pub peel_min_chain: usize,
    /// Pause: at least this many seconds between the last tainted receipt
    /// and the first tainted payment…
    pub pause_secs: i64,
    /// …followed by payments to at least this many distinct receivers.
    pub dispersion_min: usize,
    /// Mixer denominations in native base units (Tornado Cash: 0.1, 1, 10, 100 ETH).
    pub mixer_denominations: Vec<Amount>,
}

impl Default for PatternRules {
    fn default() -> Self {
        let eth = Amount::from(10u64.pow(18));
        PatternRules {
            native_decimals: 18,
            fan_out_min: 3,
            round_share_pct: 60,
            consolidation_min: 3,
            peel_max_gap_secs: 86_400,
            peel_min_chain: 3,
            pause_secs: 2 * 86_400,
            dispersion_min: 3,
            mixer_denominations: vec![
                eth / Amount::from(10u8),
                eth,
                eth * Amount::from(10u8),
                eth * Amount::from(100u8),
            ],
        }
    }
}

/// Round in whole units: a whole number of units with at most two significant digits (10,000; 250; 5).
pub fn is_round(amount: Amount, decimals: u8) -> bool {
    if amount == Amount::ZERO {
        return false;
    }
    let Some(unit) = Amount::from(10u8).checked_pow(decimals as u32) else {
        return false;
    };
    if amount % unit != Amount::ZERO {
        return false;
    }
    let whole = (amount / unit).to_string();
    whole.trim_end_matches('0').len() <= 2
}

struct Out {
    id: TransferId,
    dst: AddrId,
    amount: Amount,
    asset: AssetId,
    ts: i64,
}

/// Pattern tags per address.
pub fn tag_patterns<G: TransferGraph>(
    g: &G,
    r: &TraceResult,
    rows: &FxHashMap<TransferId, TransferRow>,
    rules: &PatternRules,
) -> FxHashMap<AddrId, BTreeSet<Pattern>> {
    let mut tags: FxHashMap<AddrId, BTreeSet<Pattern>> = FxHashMap::default();
    let mut tag = |a: AddrId, p: Pattern| {
        tags.entry(a).or_default().insert(p);
    };
    let mut outs: FxHashMap<AddrId, Vec<Out>> = FxHashMap::default();
    let mut ins: FxHashMap<AddrId, Vec<(AddrId, i64)>> = FxHashMap::default();
    for f in &r.flows {
        let row = &rows[&f.id];
        outs.entry(row.src).or_default().push(Out {
            id: f.id,
            dst: row.dst,
            amount: row.amount,
            asset: row.asset,
            ts: row.timestamp,
        });
        ins.entry(row.dst)
            .or_default()
            .push((row.src, row.timestamp));
    }
    // Token metadata once per asset, not once per payment.
    let token_decimals: Vec<u8> = (0..g.asset_count() as AssetId)
        .map(|a| g.token(a).and_then(|t| t.decimals).unwrap_or(18))
        .collect();
    let decimals = |asset: AssetId| {
        if asset == NATIVE_ASSET {
            rules.native_decimals
        } else {
            token_decimals.get(asset as usize).copied().unwrap_or(18)
        }
    };
    let category = |a: AddrId| r.node(a).and_then(|n| n.category.as_deref().cloned());
    // Fan-outs and consolidations happen among the launderers' own
    // addresses; payments into services are deposits, not fan-outs.
    let walked = |a: AddrId| {
        r.node(a)
            .is_some_and(|n| matches!(n.role, Role::Walked | Role::Seed))
    };

    for (&a, list) in &outs {
        // Round-amount fan-out.
        let round: Vec<&Out> = list
            .iter()
            .filter(|o| walked(o.dst) && is_round(o.amount, decimals(o.asset)))
            .collect();
        let receivers: FxHashSet<AddrId> = round.iter().map(|o| o.dst).collect();
        if receivers.len() >= rules.fan_out_min
            && round.len() * 100
                >= list.iter().filter(|o| walked(o.dst)).count() * rules.round_share_pct
        {
            tag(a, Pattern::RoundAmountFanOut);
            for r in receivers {
                tag(r, Pattern::RoundAmountFanOut);
            }
        }
        // Deposits by category of the receiver.
        let mut denoms: FxHashMap<AddrId, usize> = FxHashMap::default();
        for o in list {
            match category(o.dst) {
                Some(Category::Mixer) => tag(a, Pattern::MixerDeposit),
                Some(Category::Bridge) => tag(a, Pattern::BridgeExit),
                Some(Category::Exchange) => tag(a, Pattern::ExchangeDeposit),
                _ => {}
            }
            if o.asset == NATIVE_ASSET && rules.mixer_denominations.contains(&o.amount) {
                *denoms.entry(o.dst).or_default() += 1;
            }
        }
        // Fixed denominations paid repeatedly into one contract look like a mixer.
        if denoms.values().any(|&n| n >= 2) {
            tag(a, Pattern::MixerDeposit);
        }
        // Pause then dispersion.
        if let Some(first_out) = list.iter().map(|o| o.ts).min() {
            let last_in_before = ins
                .get(&a)
                .into_iter()
                .flatten()
                .map(|&(_, t)| t)
                .filter(|&t| t <= first_out)
                .max();
            if let Some(t_in) = last_in_before {
                let receivers: FxHashSet<AddrId> = list.iter().map(|o| o.dst).collect();
                if first_out - t_in >= rules.pause_secs && receivers.len() >= rules.dispersion_min {
                    tag(a, Pattern::PauseThenDispersion);
                }
            }
        }
    }
    // Consolidation.
    for (&a, list) in &ins {
        if !walked(a) {
            continue;
        }
        let senders: FxHashSet<AddrId> = list.iter().map(|&(s, _)| s).collect();
        if senders.len() >= rules.consolidation_min {
            tag(a, Pattern::Consolidation);
            for s in senders {
                tag(s, Pattern::Consolidation);
            }
        }
    }
    // Peel chains: an address's last tainted payment hands the rest on to a
    // fresh address (its only tainted receipt), which starts paying out
    // within `peel_max_gap_secs` and does the same.
    let mut next: FxHashMap<AddrId, AddrId> = FxHashMap::default();
    for (&a, list) in &outs {
        if list.len() < 2 {
            continue;
        }
        let Some(last) = list.iter().max_by_key(|o| o.id) else {
            continue;
        };
        let y = last.dst;
        // Cheap tests first: a busy receiver's payments are scanned only
        // if this is its only tainted receipt (so at most once).
        let only_receipt = || ins.get(&y).is_some_and(|v| v.len() == 1);
        let quick = || {
            outs.get(&y)
                .and_then(|v| v.iter().map(|o| o.ts).min())
                .is_some_and(|t| t - last.ts <= rules.peel_max_gap_secs)
        };
        if walked(y) && only_receipt() && quick() {
            next.insert(a, y);
        }
    }
    // `next` is injective (its target's only receipt names one sender), so
    // its chains are disjoint paths and cycles: walk each path from its
    // head, then what is left (cycles), visiting every address once. An
    // address is tagged when its path or cycle has `peel_min_chain` members.
    let targets: FxHashSet<AddrId> = next.values().copied().collect();
    let mut peel = FxHashSet::default();
    let mut done: FxHashSet<AddrId> = FxHashSet::default();
    let mut starts: Vec<AddrId> = next
        .keys()
        .copied()
        .filter(|a| !targets.contains(a))
        .collect();
    starts.extend(next.keys().copied().filter(|a| targets.contains(a)));
    for start in starts {
        if done.contains(&start) {
            continue;
        }
        let mut chain = vec![start];
        done.insert(start);
        let mut cur = start;
        while let Some(&n) = next.get(&cur) {
            if !done.insert(n) {
                break;
            }
            chain.push(n);
            cur = n;
        }
        if chain.len() >= rules.peel_min_chain {
            peel.extend(chain);
        }
    }
    for a in peel {
        tag(a, Pattern::PeelChain);
    }
    for s in &r.swaps {
        tag(s.trader, Pattern::DexSwap);
    }
    for s in &r.spam {
        let row = g.transfer(s.id);
        for a in [row.src, row.dst] {
            if r.node(a)
                .is_some_and(|n| matches!(n.role, Role::Seed | Role::Walked))
            {
                tag(a, Pattern::AddressPoisoning);
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_amounts() {
        let eth = Amount::from(10u64.pow(18));
        assert!(is_round(eth * Amount::from(10_000u32), 18));
        assert!(is_round(eth * Amount::from(250u32), 18));
        assert!(!is_round(eth * Amount::from(251u32), 18));
        assert!(!is_round(eth / Amount::from(2u8), 18));
        assert!(!is_round(Amount::ZERO, 18));
    }
}
