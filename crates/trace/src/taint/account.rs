//! One (address, asset) balance and its taint: the policies' debit and
//! credit rules, exact to the unit.

use crate::arith::AddSaturating;
use std::collections::VecDeque;

use tripoint_chain::Amount;

use super::TaintPolicy;
use crate::arith::mul_div_floor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lot {
    pub(crate) amount: Amount,
    pub(crate) tainted: bool,
}

/// One (address, asset) balance as the engine sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Account {
    pub(crate) balance: Amount,
    pub(crate) taint: Amount,
    /// FIFO/LIFO only: front = oldest.
    pub(crate) lots: VecDeque<Lot>,
}

impl Account {
    pub(crate) fn uses_lots(policy: TaintPolicy) -> bool {
        matches!(policy, TaintPolicy::Fifo | TaintPolicy::Lifo)
    }

    pub(crate) fn push_lot(&mut self, amount: Amount, tainted: bool) {
        if amount == Amount::ZERO {
            return;
        }
        match self.lots.back_mut() {
            Some(l) if l.tainted == tainted => l.amount.add_sat(amount),
            _ => self.lots.push_back(Lot { amount, tainted }),
        }
    }

    pub(crate) fn credit(&mut self, policy: TaintPolicy, a: Amount, c: Amount) {
        self.balance.add_sat(a);
        self.taint.add_sat(c);
        if Self::uses_lots(policy) {
            // Within one receipt the tainted part is queued first.
            self.push_lot(c, true);
            self.push_lot(a - c, false);
        }
    }

    /// Take `a` from the lots at the front (FIFO) or back (LIFO); returns the tainted part.
    pub(crate) fn take_lots(&mut self, mut a: Amount, front: bool) -> Amount {
        let mut c = Amount::ZERO;
        while a > Amount::ZERO {
            let lot = if front {
                self.lots.front_mut()
            } else {
                self.lots.back_mut()
            };
            let Some(lot) = lot else { break };
            let take = lot.amount.min(a);
            lot.amount -= take;
            a -= take;
            if lot.tainted {
                c.add_sat(take);
            }
            if lot.amount == Amount::ZERO {
                if front {
                    self.lots.pop_front();
                } else {
                    self.lots.pop_back();
                }
            }
        }
        c
    }

    /// Pay `a` out; returns the taint it carries under `policy`.
    pub(crate) fn debit(&mut self, policy: TaintPolicy, a: Amount) -> Amount {
        let c = match policy {
            TaintPolicy::Poison => {
                self.balance = self.balance.saturating_sub(a);
                return if self.taint > Amount::ZERO {
                    a
                } else {
                    Amount::ZERO
                };
            }
            TaintPolicy::Haircut => {
                if a >= self.balance {
                    self.taint
                } else {
                    mul_div_floor(a, self.taint, self.balance, self.taint)
                }
            }
            TaintPolicy::Tiho => a.min(self.taint),
            TaintPolicy::Fifo => self.take_lots(a, true),
            TaintPolicy::Lifo => self.take_lots(a, false),
        };
        self.taint -= c;
        self.balance = self.balance.saturating_sub(a);
        c
    }

    /// Pay `a` out of which exactly `c` is tainted (a Bitcoin input spending
    /// a known output, or a precomputed TIHO allocation).
    pub(crate) fn debit_exact(&mut self, policy: TaintPolicy, a: Amount, c: Amount) -> Amount {
        if policy == TaintPolicy::Poison {
            self.balance = self.balance.saturating_sub(a);
            return if c > Amount::ZERO { a } else { Amount::ZERO };
        }
        let c = c.min(self.taint).min(a);
        if Self::uses_lots(policy) {
            // Remove the tainted and the clean part from lots of their kind, oldest first.
            let mut rest = [(c, true), (a - c, false)];
            for (want, kind) in rest.iter_mut() {
                let mut i = 0;
                while *want > Amount::ZERO && i < self.lots.len() {
                    if self.lots[i].tainted == *kind {
                        let take = self.lots[i].amount.min(*want);
                        self.lots[i].amount -= take;
                        *want -= take;
                    }
                    i += 1;
                }
            }
            self.lots.retain(|l| l.amount > Amount::ZERO);
        }
        self.taint -= c;
        self.balance = self.balance.saturating_sub(a);
        c
    }

    /// Turn up to `c` of clean balance into taint (a swap output that was
    /// received before the swap input was seen); returns the amount moved.
    pub(crate) fn retaint(&mut self, policy: TaintPolicy, c: Amount) -> Amount {
        if policy == TaintPolicy::Poison {
            self.taint.add_sat(c);
            return c;
        }
        let m = c.min(self.balance - self.taint.min(self.balance));
        if Self::uses_lots(policy) {
            let mut want = m;
            for l in self.lots.iter_mut().rev() {
                if want == Amount::ZERO {
                    break;
                }
                if !l.tainted {
                    let take = l.amount.min(want);
                    l.amount -= take;
                    want -= take;
                }
            }
            self.lots.retain(|l| l.amount > Amount::ZERO);
            self.push_lot(m, true);
        }
        self.taint.add_sat(m);
        m
    }
}

/// The swap rule's taint on one output of `b` in another asset, for taint
/// `c` on an input of `a`: `⌊b·c/a⌋` (value-weighted, exact), or all of `b`
/// under poison. Both engines book swaps through it.
pub(crate) fn swap_share(policy: TaintPolicy, b: Amount, c: Amount, a: Amount) -> Amount {
    if policy == TaintPolicy::Poison {
        b
    } else {
        mul_div_floor(b, c, a.max(c), b)
    }
}
