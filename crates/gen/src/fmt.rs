//! Allocation-free text encoding of numbers and hex: the CSV writer's hot path
//! (`format!` would allocate per field and dominate the generator's time).

const HEX: &[u8; 16] = b"0123456789abcdef";

const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Append `0x` and the lower-case hex of `bytes` (at most 32 bytes: encoded
/// on the stack, then copied once).
#[inline]
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    debug_assert!(bytes.len() <= 32);
    let mut tmp = [0u8; 66];
    tmp[0] = b'0';
    tmp[1] = b'x';
    for (pair, &b) in tmp[2..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 15) as usize];
    }
    out.extend_from_slice(&tmp[..2 + 2 * bytes.len()]);
}

/// Append the decimal text of `v`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append the decimal text of `v` (values above `u64::MAX` are split into
/// 19-digit chunks so the common path stays on 64-bit division).
pub fn push_u128(out: &mut Vec<u8>, v: u128) {
    const CHUNK: u128 = 10_000_000_000_000_000_000; // 10^19
    if v <= u64::MAX as u128 {
        push_u64(out, v as u64);
        return;
    }
    let hi = v / CHUNK;
    let lo = (v % CHUNK) as u64;
    push_u128(out, hi);
    let mut tmp = Vec::with_capacity(19);
    push_u64(&mut tmp, lo);
    out.extend(std::iter::repeat_n(b'0', 19 - tmp.len()));
    out.extend_from_slice(&tmp);
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
