//! Exact integer arithmetic on amounts: proportional shares rounded down,
//! with a 128-bit fast path (a 256-bit product divided by a 128-bit divisor)
//! that the engine and the kernels share.

use tripoint_chain::Amount;

/// `floor(x·y/z)`, capped at `cap`. Callers guarantee the exact result fits
/// (`x ≤ z` or `y ≤ z`). When `x·y` overflows 256 bits (token amounts near
/// 2^128 and beyond) the operands are shifted down first: the split is then
/// approximate, but conservation is not affected because the remainder always
/// stays with the payer.
pub fn mul_div_floor(x: Amount, y: Amount, z: Amount, cap: Amount) -> Amount {
    if z == Amount::ZERO {
        return cap;
    }
    match x.checked_mul(y) {
        Some(p) => (p / z).min(cap),
        None => {
            let bits = (256 - x.leading_zeros()) + (256 - y.leading_zeros());
            let shift = bits.saturating_sub(255);
            let (x2, z2) = (x >> shift, (z >> shift).max(Amount::ONE));
            (x2.checked_mul(y).map(|p| p / z2).unwrap_or(cap)).min(cap)
        }
    }
}

/// `⌊a·t/b⌋` capped at `t`, for `a < b`: exactly [`mul_div_floor`]`(a, t, b, t)`,
/// without 256-bit division in the common cases.
#[inline]
pub fn haircut_share(a: Amount, t: Amount, b: Amount) -> Amount {
    if t == Amount::ZERO {
        return Amount::ZERO;
    }
    match (narrow(a), narrow(t), narrow(b)) {
        // a·t < 2^256 here, so mul_div_floor divides the exact product.
        (Some(a), Some(t), Some(b)) if a < b => Amount::from(share_128(a, t, b)),
        _ => mul_div_floor(a, t, b, t),
    }
}

/// Full 256-bit product of two 128-bit numbers as (high, low).
#[inline]
pub(crate) fn mul_128(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `⌊(u1·2^128 + u0) / v⌋` for `u1 < v` (so the quotient fits 128 bits):
/// Knuth's algorithm D with 64-bit digits (Hacker's Delight `divlu`).
pub(crate) fn div_256_by_128(u1: u128, u0: u128, v: u128) -> u128 {
    const B: u128 = 1 << 64;
    debug_assert!(u1 < v);
    let s = v.leading_zeros();
    let v = v << s;
    let (vn1, vn0) = (v >> 64, v & (B - 1));
    let un32 = if s == 0 {
        u1
    } else {
        (u1 << s) | (u0 >> (128 - s))
    };
    let un10 = u0 << s;
    let (un1, un0) = (un10 >> 64, un10 & (B - 1));
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1 * vn1;
    while q1 >= B || q1 * vn0 > B * rhat + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let un21 = un32
        .wrapping_mul(B)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while q0 >= B || q0 * vn0 > B * rhat + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    q1 * B + q0
}

/// An amount in 128 bits, where the kernel computes natively;
/// `None` makes the kernel hand the trace to the general engine.
#[inline]
pub(crate) fn narrow(a: Amount) -> Option<u128> {
    let (hi, lo) = a.into_words();
    (hi == 0).then_some(lo)
}

/// `⌊a·t/b⌋` capped at `t` for `a < b`, exact: the 256-bit product is
/// divided by a 128-bit divisor, and `a < b` keeps the quotient below 2^128.
#[inline]
pub(crate) fn share_128(a: u128, t: u128, b: u128) -> u128 {
    if t == 0 {
        return 0;
    }
    let (hi, lo) = mul_128(a, t);
    let q = if hi == 0 {
        lo / b
    } else {
        div_256_by_128(hi, lo, b)
    };
    q.min(t)
}

/// Amount sums that saturate at `Amount::MAX`. Fake tokens mint amounts near
/// 2^256; a balance or total past it must neither wrap (release builds) nor
/// panic (debug builds). Both engines book through it, so they stay equal.
pub(crate) trait AddSaturating {
    fn add_sat(&mut self, x: Amount);
}

impl AddSaturating for Amount {
    #[inline]
    fn add_sat(&mut self, x: Amount) {
        *self = self.saturating_add(x);
    }
}
