//! The export's text columns, written into reused buffers: the same text as
//! the `Display` of `Address`, `TxHash` and `U256`, without `core::fmt`'s
//! per-byte `{:02x}` calls and per-value `String`s (they were half of the
//! export's CPU time; docs/scale.md).

use tripoint_chain::{Address, Amount, TxHash};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `"0x"` + lower-case hex of `bytes` (at most 32), as `TxHash` and
/// `Address::Eth` display them.
pub(crate) fn push_0x_hex(out: &mut String, bytes: &[u8]) {
    let mut buf = [0u8; 2 + 64];
    buf[..2].copy_from_slice(b"0x");
    for (i, &b) in bytes.iter().enumerate() {
        buf[2 + 2 * i] = HEX[usize::from(b >> 4)];
        buf[3 + 2 * i] = HEX[usize::from(b & 15)];
    }
    let len = 2 + 2 * bytes.len();
    out.push_str(std::str::from_utf8(&buf[..len]).expect("hex digits are ASCII"));
}

/// A transaction hash as `TxHash` displays it.
pub(crate) fn push_tx_hash(out: &mut String, h: &TxHash) {
    push_0x_hex(out, &h.0);
}

/// An address as `Address` displays it.
pub(crate) fn push_address(out: &mut String, a: &Address) {
    match a {
        Address::Eth(b) => push_0x_hex(out, b),
        Address::Btc(s) => out.push_str(s),
        Address::Tx(h) => {
            out.push_str("tx:");
            push_tx_hash(out, h);
        }
    }
}

/// Two decimal digits per entry, `"00"` to `"99"`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `v`'s decimal digits at the end of `buf`, padded with zeros to `min`
/// digits; returns where they start.
fn u64_digits(mut v: u64, buf: &mut [u8; 20], min: usize) -> usize {
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    while buf.len() - at < min {
        at -= 1;
        buf[at] = b'0';
    }
    at
}

fn push_u64(out: &mut String, v: u64, min: usize) {
    let mut buf = [0u8; 20];
    let at = u64_digits(v, &mut buf, min);
    out.push_str(std::str::from_utf8(&buf[at..]).expect("digits are ASCII"));
}

/// 10^19, the largest power of ten below 2^64.
const E19: u128 = 10_000_000_000_000_000_000;

fn push_u128(out: &mut String, v: u128) {
    match u64::try_from(v) {
        Ok(small) => push_u64(out, small, 1),
        Err(_) => {
            // Rare (amounts of 2^64 base units or more): two or three u64
            // groups of 19 digits.
            push_u128(out, v / E19);
            push_u64(out, (v % E19) as u64, 19);
        }
    }
}

/// An exact amount in decimal, as `U256` displays it.
pub(crate) fn push_amount(out: &mut String, v: Amount) {
    let (hi, lo) = v.into_words();
    if hi == 0 {
        push_u128(out, lo);
    } else {
        use std::fmt::Write;
        write!(out, "{v}").expect("writing to a String");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripoint_chain::U256;

    fn decimal(v: Amount) -> String {
        let mut s = String::from("x");
        push_amount(&mut s, v);
        s.split_off(1)
    }

    #[test]
    fn amounts_read_as_u256_displays_them() {
        let mut values: Vec<Amount> = vec![
            U256::ZERO,
            U256::ONE,
            U256::MAX,
            U256::from(u64::MAX),
            U256::from(u128::MAX),
            U256::from_words(1, 0),
        ];
        for k in 0..=77u32 {
            let p = U256::from(10u8).pow(k);
            values.extend([p - 1, p, p + 1]);
        }
        // A deterministic spread of widths (xorshift).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lo = u128::from(x) << 64 | u128::from(x.rotate_left(29));
            let v = U256::from_words(if i % 4 == 0 { lo >> 3 } else { 0 }, lo) >> (i % 256);
            values.push(v);
        }
        for v in values {
            assert_eq!(decimal(v), v.to_string(), "{v:?}");
        }
    }

    #[test]
    fn hashes_and_addresses_read_as_they_display() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        let h = TxHash(bytes);
        let eth = Address::Eth(bytes[..20].try_into().expect("20 bytes"));
        let zero = Address::Eth([0; 20]);
        let btc = Address::Btc("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into());
        let tx = Address::Tx(h);
        let mut s = String::new();
        push_tx_hash(&mut s, &h);
        assert_eq!(s, h.to_string());
        for a in [eth, zero, btc, tx] {
            s.clear();
            push_address(&mut s, &a);
            assert_eq!(s, a.to_string());
        }
    }
}
