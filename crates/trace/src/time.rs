//! Times on the command line: unix seconds, or an RFC 3339 / ISO date in UTC.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a time: expected unix seconds, YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ (UTC)")]
pub struct TimeError(pub String);

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse `1648512000`, `2022-03-29`, `2022-03-29T10:20:30Z` or `2022-03-29 10:20:30`.
pub fn parse_time(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    let bad = || TimeError(s.to_string());
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    let t = t.trim_end_matches('Z').trim_end_matches(" UTC");
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, h)) => (d, Some(h)),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let num = |x: Option<&str>| x.and_then(|v| v.parse::<i64>().ok()).ok_or_else(bad);
    let (y, m, d) = (num(dp.next())?, num(dp.next())?, num(dp.next())?);
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = 0;
    if let Some(h) = time {
        let h = h.split('.').next().unwrap_or(h);
        let mut hp = h.split(':');
        let (hh, mm) = (num(hp.next())?, num(hp.next())?);
        let ss = match hp.next() {
            Some(v) => v.parse::<i64>().map_err(|_| bad())?,
            None => 0,
        };
        if hh > 23 || mm > 59 || ss > 60 {
            return Err(bad());
        }
        secs = hh * 3600 + mm * 60 + ss;
    }
    Ok(days_from_civil(y, m, d) * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rfc3339;

    #[test]
    fn parses_and_round_trips() {
        assert_eq!(parse_time("1648512000").unwrap(), 1_648_512_000);
        assert_eq!(parse_time("2022-03-29").unwrap(), 1_648_512_000);
        assert_eq!(parse_time("2022-03-29T01:02:03Z").unwrap(), 1_648_515_723);
        assert_eq!(
            parse_time("2022-03-29 01:02:03.000 UTC").unwrap(),
            1_648_515_723
        );
        for ts in [0, 951_782_400, 1_700_000_123] {
            assert_eq!(parse_time(&rfc3339(ts)).unwrap(), ts);
        }
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2022-13-01").is_err());
    }
}
