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
}
