//! The export's text columns, written into reused buffers: the same text as
//! the `Display` of `Address`, `TxHash` and `U256`, without `core::fmt`'s
//! per-byte `{:02x}` calls and per-value `String`s (they were half of the
//! export's CPU time; docs/scale.md).

use arrow_array::builder::StringBuilder;
use arrow_array::StringArray;
use tripoint_chain::ascii::{hex_0x, u128_digits};
use tripoint_chain::{Address, Amount, TxHash};

/// `"0x"` + lower-case hex of `bytes` (at most 32), as `TxHash` and
/// `Address::Eth` display them.
pub(crate) fn push_0x_hex(out: &mut String, bytes: &[u8]) {
    let mut buf = [0u8; 66];
    out.push_str(std::str::from_utf8(hex_0x(bytes, &mut buf)).expect("hex digits are ASCII"));
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

/// The `from_address` and `to_address` text columns of addresses laid out
/// as (from, to) pairs, each value about `bytes_each` bytes long.
pub(crate) fn address_pair_columns(
    pairs: &[Address],
    bytes_each: usize,
) -> (StringArray, StringArray) {
    let n = pairs.len() / 2;
    let mut text = String::with_capacity(80);
    let mut from = StringBuilder::with_capacity(n, n * bytes_each);
    let mut to = StringBuilder::with_capacity(n, n * bytes_each);
    for pair in pairs.chunks_exact(2) {
        for (col, a) in [(&mut from, &pair[0]), (&mut to, &pair[1])] {
            text.clear();
            push_address(&mut text, a);
            col.append_value(&text);
        }
    }
    (from.finish(), to.finish())
}

fn push_u128(out: &mut String, v: u128) {
    let mut buf = [0u8; 39];
    let at = u128_digits(v, &mut buf);
    out.push_str(std::str::from_utf8(&buf[at..]).expect("digits are ASCII"));
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
