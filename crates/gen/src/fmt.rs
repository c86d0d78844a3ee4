//! Allocation-free text encoding of numbers and hex: the CSV writer's hot path
//! (`format!` would allocate per field and dominate the generator's time).

use tripoint_chain::ascii::{hex_0x, u128_digits, u64_digits};

/// Append `0x` and the lower-case hex of `bytes` (at most 32 bytes).
#[inline]
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut buf = [0u8; 66];
    out.extend_from_slice(hex_0x(bytes, &mut buf));
}

/// Append the decimal text of `v`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let at = u64_digits(v, &mut buf, 1);
    out.extend_from_slice(&buf[at..]);
}

/// Append the decimal text of `v`.
pub fn push_u128(out: &mut Vec<u8>, v: u128) {
    let mut buf = [0u8; 39];
    let at = u128_digits(v, &mut buf);
    out.extend_from_slice(&buf[at..]);
}

/// Decimal text of `v` as a `String` (for JSON).
pub fn u128_string(v: u128) -> String {
    let mut s = Vec::with_capacity(40);
    push_u128(&mut s, v);
    String::from_utf8(s).expect("digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_std() {
        for v in [
            0u128,
            9,
            10,
            99,
            100,
            12345,
            u64::MAX as u128,
            u64::MAX as u128 + 1,
            400_000_000_000_000_000_000_000,
            10_000_000_000_000_000_000,
            u128::MAX,
        ] {
            assert_eq!(u128_string(v), v.to_string());
        }
    }

    #[test]
    fn hex_encoding() {
        let mut v = Vec::new();
        push_hex(&mut v, &[0x00, 0xab, 0x0f]);
        assert_eq!(v, b"0x00ab0f");
    }

    proptest::proptest! {
        #[test]
        fn any_u128_round_trips(v: u128) {
            proptest::prop_assert_eq!(u128_string(v), v.to_string());
        }
    }
}
