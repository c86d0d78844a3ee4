//! Allocation-free text of hashes, addresses and amounts into stack buffers:
//! the hot paths that write millions of them (the generator's CSVs, the
//! Parquet export) use these instead of `core::fmt`, whose per-byte
//! `{:02x}` and per-value `String`s dominated both. Each returns the text as
//! a slice of the buffer, the same text as the types' `Display`.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Two decimal digits per entry, `"00"` to `"99"`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// 10^19, the largest power of ten below 2^64.
const E19: u128 = 10_000_000_000_000_000_000;

/// `"0x"` and the lower-case hex of `bytes` (at most 32), as `TxHash` and
/// an Ethereum `Address` display them.
#[inline]
pub fn hex_0x<'b>(bytes: &[u8], buf: &'b mut [u8; 66]) -> &'b [u8] {
    debug_assert!(bytes.len() <= 32);
    buf[..2].copy_from_slice(b"0x");
    for (pair, &b) in buf[2..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    &buf[..2 + 2 * bytes.len()]
}

/// `v`'s decimal digits at the end of `buf`, padded with zeros to `min`
/// digits (at most 20); returns where they start.
#[inline]
pub fn u64_digits(mut v: u64, buf: &mut [u8; 20], min: usize) -> usize {
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

/// `v`'s decimal digits at the end of `buf`; returns where they start.
/// Values of 2^64 and more are cut into 19-digit groups, so the common path
/// stays on 64-bit division.
pub fn u128_digits(mut v: u128, buf: &mut [u8; 39]) -> usize {
    let mut at = buf.len();
    loop {
        let (group, min, last) = match u64::try_from(v) {
            Ok(small) => (small, 1, true),
            Err(_) => ((v % E19) as u64, 19, false),
        };
        let mut digits = [0u8; 20];
        let from = u64_digits(group, &mut digits, min);
        let len = digits.len() - from;
        buf[at - len..at].copy_from_slice(&digits[from..]);
        at -= len;
        if last {
            return at;
        }
        v /= E19;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_read_as_std_displays_them() {
        let mut values = vec![
            0u128,
            9,
            10,
            99,
            100,
            u64::MAX as u128,
            u64::MAX as u128 + 1,
        ];
        values.extend([E19 - 1, E19, E19 + 1, E19 * E19, E19 * E19 - 1, u128::MAX]);
        for k in 0..=38u32 {
            values.push(10u128.pow(k));
        }
        let mut buf = [0u8; 39];
        for v in values {
            let at = u128_digits(v, &mut buf);
            assert_eq!(&buf[at..], v.to_string().as_bytes(), "{v}");
        }
        let mut small = [0u8; 20];
        let at = u64_digits(42, &mut small, 5);
        assert_eq!(&small[at..], b"00042");
    }

    #[test]
    fn hex_reads_as_written_by_hand() {
        let mut buf = [0u8; 66];
        assert_eq!(hex_0x(&[0x00, 0xab, 0x0f], &mut buf), b"0x00ab0f");
        assert_eq!(hex_0x(&[], &mut buf), b"0x");
    }
}
