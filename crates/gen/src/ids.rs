//! Deterministic identities (addresses, hashes) derived from the seed, and the
//! random-number source.
//!
//! Addresses are a pure function of `(seed, domain, index)`, so the generator
//! never stores the population: a user is just an index. This is what keeps
//! memory constant in the number of transfers.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A 20-byte Ethereum address.
pub type Addr = [u8; 20];
/// A 32-byte transaction or block hash.
pub type Hash32 = [u8; 32];

/// The random source. ChaCha8 is value-stable across `rand_chacha` releases,
/// so a seed reproduces the same scenario on any machine.
pub type Rng = ChaCha8Rng;

/// A random stream for one purpose, independent of the others, so that adding
/// a knob to one part of the scenario does not reshuffle the rest.
pub fn stream(seed: u64, purpose: u64) -> Rng {
    let mut s = ChaCha8Rng::seed_from_u64(seed);
    s.set_stream(purpose);
    s
}

/// Namespaces of derived identities.
pub(crate) mod domain {
    pub const USER: u64 = 1;
    pub const DEPOSIT: u64 = 2;
    pub const LAUNDER: u64 = 3;
    pub const LOOKALIKE: u64 = 4;
    pub const SERVICE: u64 = 5;
    pub const BG_TX: u64 = 6;
    pub const PLAN_TX: u64 = 7;
    pub const BLOCK: u64 = 8;
    pub const LAUNDER_DEPOSIT: u64 = 9;
    /// Forwarding contracts that background payments go through.
    pub const FORWARDER: u64 = 10;
}

/// SplitMix64 finaliser: a cheap bijective mixer with good avalanche.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn words(seed: u64, domain: u64, index: u64) -> [u64; 4] {
    let a = mix64(seed ^ mix64(domain.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ mix64(index)));
    let b = mix64(a ^ 0x5851_f42d_4c95_7f2d);
    let c = mix64(b ^ 0x1405_7b7e_f767_814f);
    let d = mix64(c ^ 0x2127_599b_f432_5c37);
    [a, b, c, d]
}

/// The address number `index` of `domain` under `seed`.
#[inline]
pub fn address(seed: u64, domain: u64, index: u64) -> Addr {
    let [a, b, c, _] = words(seed, domain, index);
    let mut out = [0u8; 20];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..16].copy_from_slice(&b.to_be_bytes());
    out[16..].copy_from_slice(&c.to_be_bytes()[..4]);
    out
}

/// The hash number `index` of `domain` under `seed`.
#[inline]
pub fn hash32(seed: u64, domain: u64, index: u64) -> Hash32 {
    let w = words(seed, domain, index);
    let mut out = [0u8; 32];
    for (i, x) in w.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// An address that shares the first and last two bytes (four hex characters
/// each) with `target`: what address-poisoning spammers generate so that a
/// victim who checks only the ends copies the wrong address.
pub fn lookalike(seed: u64, target: &Addr, index: u64) -> Addr {
    let mut a = address(seed, domain::LOOKALIKE, index);
    a[..2].copy_from_slice(&target[..2]);
    a[18..].copy_from_slice(&target[18..]);
    if &a == target {
        // Astronomically unlikely; keep the invariant "look-alike != original".
        a[9] ^= 0xff;
    }
    a
}

/// Parse `0x` + 40 hex characters (used for well-known contract addresses,
/// which are constants: a malformed one is a bug, hence the panic).
pub fn parse_addr(s: &str) -> Addr {
    match tripoint_chain::Address::parse_eth(s) {
        Ok(tripoint_chain::Address::Eth(b)) => b,
        _ => panic!("bad built-in address {s}"),
    }
}

/// Lower-case `0x…` text of an address.
pub fn addr_hex(a: &Addr) -> String {
    let mut s = Vec::with_capacity(42);
    crate::fmt::push_hex(&mut s, a);
    String::from_utf8(s).expect("hex is ASCII")
}

/// Convert to the shared chain type.
pub fn to_address(a: &Addr) -> tripoint_chain::Address {
    tripoint_chain::Address::Eth(*a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_identities_are_stable_and_distinct() {
        assert_eq!(address(1, domain::USER, 5), address(1, domain::USER, 5));
        assert_ne!(address(1, domain::USER, 5), address(1, domain::USER, 6));
        assert_ne!(address(1, domain::USER, 5), address(2, domain::USER, 5));
        assert_ne!(address(1, domain::USER, 5), address(1, domain::DEPOSIT, 5));
    }

    #[test]
    fn lookalike_shares_ends_only() {
        let t = address(7, domain::USER, 1);
        let l = lookalike(7, &t, 0);
        assert_ne!(l, t);
        assert_eq!(addr_hex(&l)[..6], addr_hex(&t)[..6]);
        assert_eq!(addr_hex(&l)[38..], addr_hex(&t)[38..]);
    }

    #[test]
    fn parse_round_trips() {
        let s = "0xdac17f958d2ee523a2206206994597c13d831ec7";
        assert_eq!(addr_hex(&parse_addr(s)), s);
    }
}
