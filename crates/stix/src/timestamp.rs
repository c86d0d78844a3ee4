//! STIX timestamps: RFC 3339, UTC, upper-case `T` and `Z`, 0–9 fraction digits.
//!
//! The number of fraction digits of the original text is kept so that an
//! object re-emitted by tripoint is byte-identical to what was received
//! (`.000Z` stays `.000Z`). Equality and ordering compare the instant only:
//! `…:00Z` and `…:00.000Z` denote the same version of an object.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a STIX timestamp; `at` is the 0-based character offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp '{text}': {reason} at {at}")]
pub struct TimestampError {
    pub text: String,
    pub reason: &'static str,
    pub at: usize,
}

/// A UTC instant with nanosecond resolution plus the precision it was written with.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    instant: DateTime<Utc>,
    frac_digits: u8,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction 1–9 digits).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let err = |reason, at| TimestampError {
            text: text.to_string(),
            reason,
            at,
        };
        let b = text.as_bytes();
        let digits = |from: usize, n: usize| -> Result<u32, TimestampError> {
            let mut v = 0u32;
            for i in from..from + n {
                match b.get(i) {
                    Some(c) if c.is_ascii_digit() => v = v * 10 + u32::from(c - b'0'),
                    _ => return Err(err("expected a digit", i)),
                }
            }
            Ok(v)
        };
        let lit = |i: usize, c: u8, reason| -> Result<(), TimestampError> {
            if b.get(i) == Some(&c) {
                Ok(())
            } else {
                Err(err(reason, i))
            }
        };
        let year = digits(0, 4)?;
        lit(4, b'-', "expected '-'")?;
        let month = digits(5, 2)?;
        lit(7, b'-', "expected '-'")?;
        let day = digits(8, 2)?;
        lit(10, b'T', "expected upper-case 'T'")?;
        let hour = digits(11, 2)?;
        lit(13, b':', "expected ':'")?;
        let minute = digits(14, 2)?;
        lit(16, b':', "expected ':'")?;
        let second = digits(17, 2)?;
        let mut i = 19;
        let mut nanos = 0u32;
        let mut frac_digits = 0u8;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                if frac_digits == 9 {
                    return Err(err("more than 9 fraction digits", i));
                }
                nanos = nanos * 10 + u32::from(c - b'0');
                frac_digits += 1;
                i += 1;
            }
            if frac_digits == 0 {
                return Err(err("expected fraction digits after '.'", i));
            }
            nanos *= 10u32.pow(u32::from(9 - frac_digits));
        }
        lit(i, b'Z', "expected 'Z' (timestamps must be UTC)")?;
        if i + 1 != b.len() {
            return Err(err("unexpected text after 'Z'", i + 1));
        }
        let date = NaiveDate::from_ymd_opt(year as i32, month, day)
            .ok_or_else(|| err("no such calendar date", 0))?;
        // Leap seconds (:60) are rejected: STIX consumers differ on them.
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
            .filter(|_| second < 60)
            .ok_or_else(|| err("no such time of day", 11))?;
        Ok(Timestamp {
            instant: Utc.from_utc_datetime(&NaiveDateTime::new(date, time)),
            frac_digits,
        })
    }

    /// An instant, written with `frac_digits` (0–9) fraction digits; finer parts are truncated.
    pub fn from_datetime(instant: DateTime<Utc>, frac_digits: u8) -> Self {
        let frac_digits = frac_digits.min(9);
        Timestamp {
            instant: truncate(instant, frac_digits),
            frac_digits,
        }
    }

    /// Microseconds since the Unix epoch, written with 6 fraction digits (TAXII style).
    pub fn from_unix_micros(micros: i64) -> Self {
        let instant = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
        Timestamp {
            instant,
            frac_digits: 6,
        }
    }

    /// Milliseconds since the Unix epoch, written with 3 fraction digits (STIX `created` style).
    pub fn from_unix_millis(millis: i64) -> Self {
        let instant = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
        Timestamp {
            instant,
            frac_digits: 3,
        }
    }

    /// The current time with microsecond precision.
    pub fn now_micros() -> Self {
        Self::from_datetime(Utc::now(), 6)
    }

    pub fn datetime(&self) -> DateTime<Utc> {
        self.instant
    }

    /// Microseconds since the Unix epoch (sub-microsecond digits are truncated).
    pub fn unix_micros(&self) -> i64 {
        self.instant.timestamp_micros()
    }

    /// Nanoseconds since the Unix epoch; `None` outside 1677–2262.
    pub fn unix_nanos(&self) -> Option<i64> {
        self.instant.timestamp_nanos_opt()
    }

    pub fn frac_digits(&self) -> u8 {
        self.frac_digits
    }

    /// The same instant written with another precision (truncating).
    pub fn with_precision(self, frac_digits: u8) -> Self {
        Self::from_datetime(self.instant, frac_digits)
    }
}

fn truncate(instant: DateTime<Utc>, frac_digits: u8) -> DateTime<Utc> {
    use chrono::Timelike;
    let unit = 10u32.pow(u32::from(9 - frac_digits));
    let nanos = instant.nanosecond() / unit * unit;
    instant.with_nanosecond(nanos).unwrap_or(instant)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::Timelike;
        write!(f, "{}", self.instant.format("%Y-%m-%dT%H:%M:%S"))?;
        if self.frac_digits > 0 {
            let nanos = format!("{:09}", self.instant.nanosecond());
            write!(f, ".{}", &nanos[..usize::from(self.frac_digits)])?;
        }
        f.write_str("Z")
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}
impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instant.hash(state)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_precision_when_reemitted() {
        for s in [
            "2017-01-20T00:00:00.000Z",
            "2022-10-01T00:00:00Z",
            "2025-04-16T20:37:57.9Z",
            "2024-02-29T23:59:59.123456789Z",
            "2020-01-01T00:00:00.123456Z",
        ] {
            assert_eq!(Timestamp::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn equal_instants_compare_equal_across_precision() {
        let a = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let b = Timestamp::parse("2020-01-01T00:00:00.000Z").unwrap();
        let c = Timestamp::parse("2020-01-01T00:00:00.001Z").unwrap();
        assert_eq!(a, b);
        assert!(c > b);
    }

    #[test]
    fn rejects_non_stix_forms_with_position() {
        let cases = [
            ("2020-01-01T00:00:00+00:00", 19),
            ("2020-01-01t00:00:00Z", 10),
            ("2020-01-01T00:00:00", 19),
            ("2020-01-01T00:00:00.Z", 20),
            ("2020-02-30T00:00:00Z", 0),
            ("2020-01-01T24:00:00Z", 11),
            ("2020-01-01T00:00:00Zx", 20),
            ("20-01-01T00:00:00Z", 2),
        ];
        for (s, at) in cases {
            let e = Timestamp::parse(s).unwrap_err();
            assert_eq!(e.at, at, "{s}: {e}");
        }
    }

    #[test]
    fn micros_round_trip() {
        let t = Timestamp::parse("2026-11-30T10:00:04.123456Z").unwrap();
        let u = Timestamp::from_unix_micros(t.unix_micros());
        assert_eq!(u, t);
        assert_eq!(u.to_string(), "2026-11-30T10:00:04.123456Z");
        assert_eq!(t.with_precision(3).to_string(), "2026-11-30T10:00:04.123Z");
    }
}
