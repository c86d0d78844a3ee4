//! Allocation-free field parsers for the hot paths (hex, integers, amounts,
//! timestamps). Each returns a short message; the caller adds file/line/column.

use sha2::{Digest, Sha256};
use tripoint_chain::{Amount, TxHash};

const fn hex_table() -> [u8; 256] {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
}
static HEX: [u8; 256] = hex_table();

fn strip_hex_prefix(b: &[u8]) -> &[u8] {
    match b {
        [b'0', b'x' | b'X', rest @ ..] | [b'\\', b'x', rest @ ..] => rest,
        _ => b,
    }
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Decode exactly `N` bytes of hex (with `0x`, `\x` or no prefix).
pub(crate) fn hex_bytes<const N: usize>(field: &[u8]) -> Option<[u8; N]> {
    let h = strip_hex_prefix(trim(field));
    if h.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = HEX[h[2 * i] as usize];
        let lo = HEX[h[2 * i + 1] as usize];
        if (hi | lo) == 0xff {
            return None;
        }
        *o = (hi << 4) | lo;
    }
    Some(out)
}

pub(crate) fn eth_address(field: &[u8]) -> Result<[u8; 20], String> {
    hex_bytes::<20>(field).ok_or_else(|| {
        format!(
            "'{}' is not a 20-byte hex address",
            String::from_utf8_lossy(field)
        )
    })
}

pub(crate) fn tx_hash(field: &[u8]) -> Result<TxHash, String> {
    hex_bytes::<32>(field).map(TxHash).ok_or_else(|| {
        format!(
            "'{}' is not a 32-byte hex hash",
            String::from_utf8_lossy(field)
        )
    })
}

/// Unsigned decimal integer; also accepts `0x` hex (JSON-RPC quantities).
pub(crate) fn uint(field: &[u8]) -> Result<u64, String> {
    let t = trim(field);
    let bad = || format!("'{}' is not an integer", String::from_utf8_lossy(field));
    if t.is_empty() {
        return Err(bad());
    }
    if let [b'0', b'x' | b'X', h @ ..] = t {
        if h.is_empty() || h.len() > 16 {
            return Err(bad());
        }
        let mut v: u64 = 0;
        for &c in h {
            let d = HEX[c as usize];
            if d == 0xff {
                return Err(bad());
            }
            v = (v << 4) | d as u64;
        }
        return Ok(v);
    }
    let mut v: u64 = 0;
    for &c in t {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as u64))
            .ok_or_else(bad)?;
    }
    Ok(v)
}

pub(crate) fn uint32(field: &[u8]) -> Result<u32, String> {
    let v = uint(field)?;
    u32::try_from(v).map_err(|_| format!("{v} does not fit in 32 bits"))
}

/// Exact non-negative integer amount in base units (decimal, or `0x` hex),
/// up to 256 bits. ethereum-etl writes uint256 values as plain decimals.
pub(crate) fn amount(field: &[u8]) -> Result<Amount, String> {
    let t = trim(field);
    let bad = || format!("'{}' is not an integer", String::from_utf8_lossy(field));
    if t.is_empty() {
        return Err(bad());
    }
    if let [b'0', b'x' | b'X', h @ ..] = t {
        if h.is_empty() || !h.iter().all(|c| HEX[*c as usize] != 0xff) {
            return Err(bad());
        }
        let s = std::str::from_utf8(h).map_err(|_| bad())?;
        return Amount::from_str_radix(s, 16).map_err(|_| {
            format!(
                "'{}' does not fit in 256 bits",
                String::from_utf8_lossy(field)
            )
        });
    }
    // Fast path: most values fit in a u128 (38 digits).
    if t.len() <= 38 {
        let mut v: u128 = 0;
        for &c in t {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return Err(bad());
            }
            v = v * 10 + d as u128;
        }
        return Ok(Amount::from(v));
    }
    if !t.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let s = std::str::from_utf8(t).map_err(|_| bad())?;
    Amount::from_str_radix(s, 10).map_err(|_| {
        format!(
            "'{}' does not fit in 256 bits",
            String::from_utf8_lossy(field)
        )
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds from either unix seconds (`1648590078`) or a date-time:
/// `2022-03-29 21:41:18 UTC` (ethereum-etl), `2022-03-29T21:41:18+00:00` /
/// `...Z` / `...+09:00` (ISO-8601, Dune). Fractional seconds are dropped.
pub fn parse_timestamp(field: &[u8]) -> Result<i64, String> {
    let t = trim(field);
    let bad = || {
        format!(
            "'{}' is not a timestamp (unix seconds or YYYY-MM-DD HH:MM:SS[ UTC|Z|±HH:MM])",
            String::from_utf8_lossy(field)
        )
    };
    if !t.is_empty() && t.iter().all(u8::is_ascii_digit) {
        return uint(t).map(|v| v as i64).map_err(|_| bad());
    }
    if t.len() < 19 {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
        let s = &t[r];
        if !s.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(s.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32))
    };
    if t[4] != b'-'
        || t[7] != b'-'
        || !(t[10] == b' ' || t[10] == b'T')
        || t[13] != b':'
        || t[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut rest = &t[19..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &tail[n..];
    }
    let rest = rest.trim_ascii();
    let offset: i64 = match rest {
        b"" | b"Z" | b"UTC" | b"+00" | b"+0000" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let hh = ((h1 - b'0') * 10 + (h2 - b'0')) as i64;
            let mm = ((m1 - b'0') * 10 + (m2 - b'0')) as i64;
            let o = hh * 3600 + mm * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(y as i64, mo, d);
    Ok(days * 86_400 + (h * 3600 + mi * 60 + s) as i64 - offset)
}

/// Deterministic transaction hash for rows of exports that carry none:
/// SHA-256 over a domain tag, the file's base name, the row's raw fields and
/// the row's occurrence number among identical rows of that file. Re-ingesting
/// the same file (from any directory) therefore yields the same keys.
pub fn synthetic_tx_hash(
    file_name: &str,
    fields: &[&[u8]],
    occurrence: u32,
) -> tripoint_chain::TxHash {
    let mut h = Sha256::new();
    h.update(b"tripoint-transfers-csv\0");
    h.update(file_name.as_bytes());
    h.update(b"\0");
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f);
    }
    h.update(occurrence.to_le_bytes());
    let out: [u8; 32] = h.finalize().into();
    TxHash(out)
}

/// SHA-256 of the row's fields only (the occurrence-map key).
pub(crate) fn row_digest(fields: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f);
    }
    h.finalize().into()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let d: [u8; 32] = Sha256::digest(data).into();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_export_format() {
        let want = 1_648_590_078; // 2022-03-29T21:41:18Z
        assert_eq!(parse_timestamp(b"1648590078").unwrap(), want);
        assert_eq!(parse_timestamp(b"2022-03-29 21:41:18 UTC").unwrap(), want);
        assert_eq!(parse_timestamp(b"2022-03-29T21:41:18+00:00").unwrap(), want);
        assert_eq!(parse_timestamp(b"2022-03-29T21:41:18Z").unwrap(), want);
        assert_eq!(parse_timestamp(b"2022-03-29T21:41:18.250Z").unwrap(), want);
        assert_eq!(parse_timestamp(b"2022-03-30T06:41:18+09:00").unwrap(), want);
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:00").unwrap(), 0);
        assert_eq!(
            parse_timestamp(b"2000-03-01T00:00:00Z").unwrap(),
            951_868_800
        );
        assert!(parse_timestamp(b"2022-13-29 21:41:18").is_err());
        assert!(parse_timestamp(b"yesterday").is_err());
        assert!(parse_timestamp(b"2022-03-29 21:41:18 PST").is_err());
    }

    #[test]
    fn amounts_are_exact_up_to_256_bits() {
        assert_eq!(amount(b"0").unwrap(), Amount::ZERO);
        assert_eq!(
            amount(b"340282366920938463463374607431768211456").unwrap(),
            Amount::from(u128::MAX) + Amount::ONE
        );
        let two200: Amount = Amount::ONE << 200u32;
        assert_eq!(amount(two200.to_string().as_bytes()).unwrap(), two200);
        assert_eq!(amount(b"0x10").unwrap(), Amount::from(16u8));
        assert!(amount(b"12x").is_err());
        assert!(amount(b"-1").is_err());
        assert!(amount(b"1.5").is_err());
        let too_big = format!("1{}", "0".repeat(80));
        assert!(amount(too_big.as_bytes()).unwrap_err().contains("256 bits"));
    }

    proptest::proptest! {
        #[test]
        fn any_u256_round_trips_through_decimal_and_hex(hi: u128, lo: u128) {
            let v = (Amount::from(hi) << 128u32) | Amount::from(lo);
            proptest::prop_assert_eq!(amount(v.to_string().as_bytes()).unwrap(), v);
            proptest::prop_assert_eq!(amount(format!("0x{v:x}").as_bytes()).unwrap(), v);
        }

        #[test]
        fn any_u64_round_trips(v: u64) {
            proptest::prop_assert_eq!(uint(v.to_string().as_bytes()).unwrap(), v);
            proptest::prop_assert_eq!(uint(format!("0x{v:x}").as_bytes()).unwrap(), v);
        }

        #[test]
        fn addresses_round_trip_in_any_case_and_prefix(b: [u8; 20], upper: bool, dune: bool) {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let hex = if upper { hex.to_uppercase() } else { hex };
            let text = format!("{}{hex}", if dune { "\\x" } else { "0x" });
            proptest::prop_assert_eq!(eth_address(text.as_bytes()).unwrap(), b);
        }
    }

    #[test]
    fn integers_and_hex() {
        assert_eq!(uint(b"12345").unwrap(), 12345);
        assert_eq!(uint(b"0x1b4").unwrap(), 436);
        assert!(uint(b"x12").unwrap_err().contains("not an integer"));
        assert!(uint(b"99999999999999999999").is_err());
        let a = eth_address(b"\\x098B716B8aaf21512996dc57eb0615e2383e2f96").unwrap();
        assert_eq!(a[0], 0x09);
        assert!(eth_address(b"0x098b").is_err());
        assert!(tx_hash(&[b'a'; 64]).is_ok());
    }

    #[test]
    fn synthetic_hashes_depend_on_name_content_and_occurrence() {
        let f: [&[u8]; 2] = [b"a", b"b"];
        let h = synthetic_tx_hash("x.csv", &f, 0);
        assert_eq!(h, synthetic_tx_hash("x.csv", &f, 0));
        assert_ne!(h, synthetic_tx_hash("x.csv", &f, 1));
        assert_ne!(h, synthetic_tx_hash("y.csv", &f, 0));
        let g: [&[u8]; 2] = [b"ab", b""];
        assert_ne!(h, synthetic_tx_hash("x.csv", &g, 0));
    }
}
