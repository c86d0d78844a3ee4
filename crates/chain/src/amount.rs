use thiserror::Error;

/// Exact amount in the asset's base unit (wei, satoshi, token raw units).
/// 256 bits because ERC-20 values are `uint256` on chain; never a float.
pub type Amount = ethnum::U256;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("'{0}' is not a non-negative decimal number")]
    NotDecimal(String),
    #[error("'{value}' has more than {decimals} decimal places: it cannot be expressed exactly in base units")]
    TooPrecise { value: String, decimals: u8 },
    #[error("'{0}' does not fit in 256 bits")]
    Overflow(String),
}

/// Convert a decimal string in whole units (`33568.152`, `1e-05`, `12`) into an
/// exact integer of base units with `decimals` places.
///
/// Exports such as Dune's give ETH amounts as decimal text; we keep them exact
/// when they are representable, and refuse (rather than round) when they are not.
pub fn parse_decimal_units(s: &str, decimals: u8) -> Result<Amount, AmountError> {
    let t = s.trim();
    let bad = || AmountError::NotDecimal(s.to_string());
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (t, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // value = digits * 10^(exp - frac_len) whole units = digits * 10^(exp - frac_len + decimals) base units
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let mut shift = exp as i64 - frac_part.len() as i64 + decimals as i64;
    let mut digits = digits.to_string();
    while shift < 0 {
        match digits.pop() {
            Some('0') => shift += 1,
            None => return Ok(Amount::ZERO),
            Some(_) => {
                return Err(AmountError::TooPrecise {
                    value: s.to_string(),
                    decimals,
                })
            }
        }
    }
    if digits.is_empty() {
        return Ok(Amount::ZERO);
    }
    let overflow = || AmountError::Overflow(s.to_string());
    let mut v = Amount::from_str_radix(&digits, 10).map_err(|_| overflow())?;
    let ten = Amount::from(10u8);
    for _ in 0..shift {
        v = v.checked_mul(ten).ok_or_else(overflow)?;
    }
    Ok(v)
}

/// Decimal places shown in human-facing amounts (tables, summaries).
pub const SHOWN_DECIMALS: u8 = 4;

/// An amount for people: whole units with grouped digits, e.g.
/// `90,375.5479` for `90375547900000000000000` base units at 18 decimals.
///
/// The rule, everywhere amounts are printed for people: exact integer
/// arithmetic (never a float); at most [`SHOWN_DECIMALS`] decimal places,
/// rounded half up; trailing zeros dropped (`400,001`, `0.5`); a non-zero
/// amount that rounds to zero shows as `<0.0001` so it is not mistaken for
/// nothing. Machine outputs (JSON) keep exact base-unit strings instead.
pub fn format_units(amount: Amount, decimals: u8) -> String {
    let shown = decimals.min(SHOWN_DECIMALS);
    let dropped = u32::from(decimals - shown);
    // `amount` in units of 10^-shown, rounded half up.
    let scaled = match Amount::from(10u8).checked_pow(dropped) {
        Some(div) => {
            let (q, r) = (amount / div, amount % div);
            if r >= div - r {
                q + Amount::ONE
            } else {
                q
            }
        }
        // 10^dropped exceeds every 256-bit amount: it rounds to zero.
        None => Amount::ZERO,
    };
    if scaled == Amount::ZERO && amount > Amount::ZERO {
        return format!("<{}", format_units(Amount::ONE, shown));
    }
    let unit = Amount::from(10u8).pow(u32::from(shown));
    let mut s = group_digits(&(scaled / unit).to_string());
    let frac = (scaled % unit).as_u64();
    if frac > 0 {
        let digits = format!("{frac:0width$}", width = usize::from(shown));
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

/// Base units for people when the asset's decimals are unknown: the exact
/// integer with grouped digits.
pub fn format_base_units(amount: Amount) -> String {
    group_digits(&amount.to_string())
}

/// Group a string of decimal digits in threes with commas: `1234567` -> `1,234,567`.
pub fn group_digits(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    // The first group takes what is left over by whole groups of three.
    let first = match chars.len() % 3 {
        0 => chars.len().min(3),
        r => r,
    };
    let mut out: String = chars[..first].iter().collect();
    for group in chars[first..].chunks(3) {
        out.push(',');
        out.extend(group);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wei(s: &str) -> Amount {
        parse_decimal_units(s, 18).unwrap()
    }

    #[test]
    fn exact_decimal_conversion() {
        assert_eq!(
            wei("33568.152"),
            Amount::from(33_568_152u64) * Amount::from(10u64.pow(15))
        );
        assert_eq!(wei("1e-05"), Amount::from(10u64.pow(13)));
        assert_eq!(wei("0.0"), Amount::ZERO);
        assert_eq!(wei("12"), Amount::from(12u64) * Amount::from(10u64.pow(18)));
        assert_eq!(
            wei("8565.737089130746"),
            Amount::from(8_565_737_089_130_746u64) * Amount::from(1_000_000u64)
        );
        assert_eq!(parse_decimal_units("1.50", 1).unwrap(), Amount::from(15u8));
    }

    #[test]
    fn refuses_what_is_not_exact() {
        assert!(matches!(
            parse_decimal_units("0.123", 2),
            Err(AmountError::TooPrecise { .. })
        ));
        assert!(parse_decimal_units("-1", 18).is_err());
        assert!(parse_decimal_units("abc", 18).is_err());
        assert!(parse_decimal_units("1e80", 18).is_err());
        assert!(parse_decimal_units(".", 18).is_err());
    }

    #[test]
    fn formats_whole_units_for_people() {
        let e18 = |s: &str| parse_decimal_units(s, 18).unwrap();
        assert_eq!(format_units(e18("400001"), 18), "400,001");
        assert_eq!(format_units(e18("90375.547912"), 18), "90,375.5479");
        assert_eq!(format_units(e18("90375.54795"), 18), "90,375.548");
        assert_eq!(format_units(e18("0.99995"), 18), "1");
        assert_eq!(format_units(e18("0.5"), 18), "0.5");
        assert_eq!(format_units(e18("0.00004"), 18), "<0.0001");
        assert_eq!(format_units(Amount::ZERO, 18), "0");
        assert_eq!(format_units(Amount::from(123_456_789u64), 6), "123.4568");
        assert_eq!(format_units(Amount::from(150_000_000u64), 8), "1.5");
        assert_eq!(format_units(Amount::from(1_234_567u64), 0), "1,234,567");
        assert_eq!(format_units(Amount::from(15u8), 1), "1.5");
        // No 256-bit amount reaches one whole unit at 255 decimals.
        assert_eq!(format_units(Amount::MAX, 255), "<0.0001");
        assert_eq!(format_units(Amount::ZERO, 255), "0");
        // Exact at the top of the range (no float on the way).
        assert_eq!(
            format_units(Amount::MAX, 0),
            group_digits(&Amount::MAX.to_string())
        );
        assert_eq!(format_base_units(Amount::from(1_000u64)), "1,000");
        assert_eq!(group_digits("12"), "12");
        assert_eq!(group_digits("123"), "123");
        assert_eq!(group_digits("1234"), "1,234");
        assert_eq!(group_digits("123456"), "123,456");
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits(""), "");
    }
}
